import Foundation

/// `rgov doctor`: checks a deployment the way an operator would before trusting it, one line per
/// check (`ok`, `warn`, `fail`) with the fix as a command.
///
/// It changes nothing but a probe file it
/// creates and removes at once to prove the state folder is writable.
public struct Doctor {
    public enum Status: String, Codable, Sendable { case ok, warn, fail }

    public struct Check: Codable, Sendable, Equatable {
        public var check: String
        public var status: Status
        public var detail: String
        public var fix: String?
    }

    public struct Report: Codable, Sendable {
        public var schema = "rgov.doctor/v1"
        public var ok: Bool
        public var state_dir: String
        public var checks: [Check]
    }

    /// What the doctor examines, gathered by the verb.
    public struct Request {
        public var layout: StateLayout
        /// The deployment in force on the state (its active profile), or why it could not be loaded.
        public var deployment: Result<Deployment, Error>
        public var now: Date
        /// The crontab text where it can be read (nil: no crontab program and no file given).
        public var crontab: String?
        /// Folders holding systemd units to look through for a timer of this state.
        public var unitFolders: [String]
        public var environment: [String: String]
    }

    /// Records one check: its name, status, detail, and the fix (a command).
    typealias Add = (String, Status, String, String?) -> Void

    /// Free space below which the state folder fails the check, and below which it warns.
    static let failBelowBytes: UInt64 = 16 << 20
    static let warnBelowBytes: UInt64 = 256 << 20

    public static func examine(_ r: Request) -> Report {
        var checks: [Check] = []
        func add(_ name: String, _ status: Status, _ detail: String, fix: String? = nil) {
            checks.append(Check(check: name, status: status, detail: detail, fix: status == .ok ? nil : fix))
        }
        let state = r.layout.root
        let deployment = try? r.deployment.get()

        do {
            let location = try PackageRoot.find()
            add("data folder", .ok, "\(location.path) (\(location.how))")
        } catch {
            add(
                "data folder", .fail, "\(error)",
                fix: "scripts/install --prefix /usr/local   # or: export RGOV_HOME=/path/to/share/rgov")
        }

        let (refused, unknown) = EnvironmentContract.problems(in: r.environment)
        if refused.isEmpty && unknown.isEmpty {
            add("environment", .ok, "every RGOV_* variable set is valid")
        } else {
            for problem in refused { add("environment", .fail, problem, fix: "fix or unset the variable") }
            for problem in unknown { add("environment", .warn, problem, fix: "unset it, or correct its name") }
        }

        let active = ProfileLifecycle(layout: r.layout, clock: .pinned(r.now)).active()
        switch r.deployment {
        case .success(let d):
            let valid =
                "\(d.profileReference) (sha256 \(d.profile.sha256.prefix(12))) is valid on runtime \(d.descriptorReference)"
                + (d.capabilityGaps.isEmpty ? "" : " (degraded: \(d.capabilityGaps.joined(separator: ", ")))")
            if active != nil {
                add("profile", .ok, "active profile " + valid)
            } else {
                add(
                    "profile", .warn, "no active profile yet: the first run takes " + valid,
                    fix:
                        "rgov activate \(d.profileReference.split(separator: "@").first ?? "PROFILE") --state \(state) "
                        + "--by NAME --reason TEXT")
            }
        case .failure(let error):
            add(
                "profile", .fail,
                (active.map { "active profile \($0.profile) (sha256 \($0.snapshot_sha256.prefix(12))): " } ?? "")
                    + "\(error)",
                fix: "rgov validate --explain --state \(state)   # then rgov activate PROFILE --by NAME --reason TEXT")
        }

        // Shared with the metrics group on purpose: not loose.
        let shared =
            deployment?.profile.metricsGroup == nil
            ? [:]
            : Dictionary(uniqueKeysWithValues: MetricsAccess.shared(r.layout).dropFirst().map { ($0.path, $0.mode) })
                .merging([state: MetricsAccess.stateMode]) { a, _ in a }
        let stateReady = checkStateFolder(r.layout, shared: shared, add: add)
        if stateReady, let deployment { checkMetricsGroup(r.layout, deployment: deployment, add: add) }
        if stateReady { checkLocks(r.layout, deployment: deployment, now: r.now, add: add) }
        checkScheduler(state: state, crontab: r.crontab, unitFolders: r.unitFolders, deployment: deployment, add: add)
        if stateReady { checkLastTick(r.layout, deployment: deployment, now: r.now, add: add) }
        if let deployment {
            checkSender(deployment.binding, environment: r.environment, add: add)
            // The fallback is checked as the sender is: it is what tells the operator in an outage.
            if let fallback = deployment.fallbackBinding {
                checkSender(fallback, check: "fallback sender", keys: "fallback", environment: r.environment, add: add)
            }
        }
        if stateReady { checkQuarantine(r.layout, now: r.now, add: add) }
        if stateReady { checkUnreadable(r.layout, add: add) }
        if stateReady { checkClock(r.layout, now: r.now, add: add) }
        if stateReady {
            checkHeartbeat(r.layout, configured: deployment.map { Heartbeat(deployment: $0).configured }, add: add)
        }
        if stateReady {
            checkLogs(r.layout, rotation: r.environment["RGOV_LOGROTATE_DIR"] ?? "/etc/logrotate.d", add: add)
        }
        return Report(ok: !checks.contains { $0.status == .fail }, state_dir: state, checks: checks)
    }

    /// Present, a folder, owned by this user, private modes (but for `shared`: path and the mode it
    /// has on purpose), writable for real, room left.
    private static func checkStateFolder(_ layout: StateLayout, shared: [String: mode_t], add: Add) -> Bool {
        let state = layout.root
        switch Sys.kind(state) {
        case .missing:
            add(
                "state folder", .fail, "\(state) does not exist",
                "rgov init --state \(state) --profile ID   # as root: --owner USER")
            return false
        case .directory: break
        default:
            add("state folder", .fail, "\(state) is not a folder", "mv \(state) \(state).not-a-folder")
            return false
        }
        add("state folder", .ok, state, nil)
        let owner = StateOwner.of((state as NSString).resolvingSymlinksInPath)
        checkOwner(owner, of: layout, add: add)
        let walked = walk(layout, owner: owner, shared: shared)
        if walked.broken.isEmpty {
            add(
                "layout", .ok, "every folder is a folder, owned by and usable by the owner, and no entry is a link", nil
            )
        } else {
            let shown = Array(Set(walked.broken)).sorted()
            add(
                "layout", .fail,
                shown.prefix(8).joined(separator: "; ") + (shown.count > 8 ? "; and \(shown.count - 8) more" : ""),
                "move each aside (mv PATH PATH.aside); the next run makes the folders again, or: chown -R OWNER \(state)"
            )
        }
        if walked.loose.isEmpty {
            add("modes", .ok, "folders 0700, files 0600 (\(walked.seen) entries checked)", nil)
        } else {
            add(
                "modes", .warn, "readable by others: " + walked.loose.joined(separator: "; "),
                "chmod -R go-rwx \(state)")
        }
        guard checkWritable(layout, add: add) else { return false }
        checkFreeSpace(state, add: add)
        return walked.broken.isEmpty
    }

    /// The state belongs to the user rgov acts as, and to the one `rgov init` made it for.
    private static func checkOwner(_ owner: StateOwner?, of layout: StateLayout, add: Add) {
        let state = layout.root
        let me = Sys.effectiveUserID()
        let invoked = Sys.userName() == StateOwner.effectiveUserName ? "" : " (invoked by \(Sys.userName()))"
        if let owner, owner.uid != me {
            add(
                "owner", .fail,
                "\(state) belongs to \(owner.name) (uid \(owner.uid)); rgov acts on a state only as its owner, and this "
                    + "is \(StateOwner.effectiveUserName) (uid \(me))",
                "sudo -u \(owner.name) rgov ...   # or as root, which acts as the owner")
        } else if let owner, let recorded = StateInit.record(layout), recorded.owner_uid != owner.uid {
            add(
                "owner", .warn,
                "\(state) belongs to \(owner.name) (uid \(owner.uid)), but rgov init made it for \(recorded.owner) "
                    + "(uid \(recorded.owner_uid))",
                "chown -R \(recorded.owner) \(state)   # if the folder changed hands by mistake")
        } else {
            add("owner", .ok, "owned by \(owner?.name ?? "?"), whom rgov acts as" + invoked, nil)
        }
    }

    /// The state folder and two levels below it (at most 20 000 entries): what is broken (a link,
    /// another owner, a folder the owner cannot use, a folder of the layout that is not one) and
    /// the first five entries open to others (but for `shared`: path and the mode it has on purpose).
    private static func walk(
        _ layout: StateLayout, owner: StateOwner?, shared: [String: mode_t]
    ) -> (broken: [String], loose: [String], seen: Int) {
        var loose: [String] = []
        var broken: [String] = []
        var seen = 0
        func visit(_ path: String, depth: Int) {
            guard seen < 20_000, let st = Sys.status(path) else { return }
            seen += 1
            let kind = Sys.kind(path)
            if kind == .symlink {
                broken.append("\(path) is a symbolic link (rgov never follows one inside a state)")
                return
            }
            if let owner, st.uid != owner.uid {
                broken.append("\(path) belongs to uid \(st.uid), not the owner \(owner.name)")
            }
            if st.mode & 0o077 != 0 && loose.count < 5 && shared[path] != st.mode {
                loose.append("\(path) is \(String(st.mode, radix: 8))")
            }
            guard kind == .directory else { return }
            if !Sys.isWritableDirectory(path) {
                broken.append("\(path) is not usable by \(StateOwner.effectiveUserName)")
            }
            guard depth < 2, let names = try? Sys.listDirectory(path) else { return }
            for name in names.sorted() { visit(layout.file(name, in: path), depth: depth + 1) }
        }
        visit(layout.root, depth: 0)
        for folder in layout.folders {
            switch Sys.kind(folder) {
            case .directory, .missing, .symlink: break
            default: broken.append("\(folder) is not a folder")
            }
        }
        return (broken, loose, seen)
    }

    /// A probe file can be written and removed for real.
    private static func checkWritable(_ layout: StateLayout, add: Add) -> Bool {
        let probe = layout.writeProbe(pid: Sys.processID())
        do {
            try DurableFile.write(Data("probe\n".utf8), to: probe)
            try Sys.unlink(probe)
            add("writable", .ok, "created and removed a probe file", nil)
            return true
        } catch {
            add(
                "writable", .fail, "\(layout.root) is not writable by \(Sys.userName()): \(error)",
                "chown -R \(Sys.userName()) \(layout.root) && chmod 0700 \(layout.root)")
            return false
        }
    }

    private static func checkFreeSpace(_ state: String, add: Add) {
        guard let space = Sys.freeSpace(state) else { return }
        let text = "\(space.available >> 20) MiB free of \(space.total >> 20) MiB"
        let status: Status =
            space.available < failBelowBytes ? .fail : space.available < warnBelowBytes ? .warn : .ok
        add("free space", status, text, "free space on that file system, or rgov prune --by NAME")
    }

    /// `spec.audit.metrics_group`: the group exists, the owner is a member, the state folder,
    /// `metrics/` and `rgov.prom` have its group and their modes, and nothing else in those two
    /// folders is open to it.
    private static func checkMetricsGroup(_ layout: StateLayout, deployment: Deployment, add: Add) {
        guard let name = deployment.profile.metricsGroup else {
            add("metrics group", .ok, "none: metrics/rgov.prom is the owner's alone", nil)
            return
        }
        let quoted = Identifier.quoted(name)
        guard let gid = GroupAccess.groupID(named: name) else {
            add(
                "metrics group", .fail,
                "spec.audit.metrics_group \(quoted) is no group on this host: rgov.prom stays private",
                "groupadd \(name)   # or name node_exporter's group in the profile, then rgov activate it")
            return
        }
        var problems: [String] = []
        var fix = "rgov tick --state \(layout.root)   # each metrics write gives them the group"
        let root = MetricsAccess.shared(layout)[0].path
        if let owner = StateOwner.of(root), owner.uid != 0, !GroupAccess.isMember(uid: owner.uid, of: gid) {
            problems.append(
                "the owner \(owner.name) is not a member of \(quoted), so it may not give a file that group")
            fix = "usermod -aG \(name) \(owner.name)   # then: " + fix
        }
        for (path, mode) in MetricsAccess.shared(layout) {
            guard let st = GroupAccess.status(path) else {
                if path != layout.metricsFile { problems.append("\(path) is missing") }
                continue
            }
            if st.gid != gid || st.mode != mode {
                problems.append(
                    "\(path) is \(String(st.mode, radix: 8)) of gid \(st.gid), not \(String(mode, radix: 8)) of \(quoted) (gid \(gid))"
                )
            }
        }
        // What a member can reach: entries of the state folder by name, and of metrics/.
        for folder in [root, layout.metrics] {
            for entry in ((try? Sys.listDirectory(folder)) ?? []).sorted() {
                let path = layout.file(entry, in: folder)
                guard path != layout.metrics, path != layout.metricsFile, path != root + "/metrics",
                    let st = GroupAccess.status(path), st.mode & 0o077 != 0
                else { continue }
                problems.append("\(path) is \(String(st.mode, radix: 8)), open to the metrics group")
                fix = "chmod go-rwx \(path)"
            }
        }
        if problems.isEmpty {
            add(
                "metrics group", .ok,
                "\(quoted) reads metrics/rgov.prom (0640) through the state folder (0710) and metrics/ (0750); "
                    + "nothing else is open to it", nil)
        } else {
            add("metrics group", .fail, problems.prefix(6).joined(separator: "; "), fix)
        }
    }

    /// A lock held longer than a stage may run is a stuck run, not a busy one.
    private static func checkLocks(_ layout: StateLayout, deployment: Deployment?, now: Date, add: Add) {
        let limitMs = (deployment?.profile.stageDeadlineMs ?? 600_000) * 3
        var stuck: [String] = []
        for name in (try? layout.lockNames()) ?? [] {
            guard let holder = StageLock.currentHolder(layout.lockFile(name)) else { continue }
            let since = holder.components(separatedBy: " since ").last.flatMap { Timestamp.parse($0) }
            if let since, now.milliseconds(since: since) > limitMs {
                let pid = holder.split(separator: " ").drop { $0 != "pid" }.dropFirst().first.map(String.init) ?? "?"
                stuck.append("\(name).lock held by \(holder) (pid \(pid))")
            }
        }
        if stuck.isEmpty {
            add("locks", .ok, "no lock held longer than a stage may run", nil)
        } else {
            add(
                "locks", .warn, "stuck: " + stuck.joined(separator: "; "),
                "kill -TERM PID   # the run stops at a safe point; the next tick takes over")
        }
    }

    private static func checkScheduler(
        state: String, crontab: String?, unitFolders: [String], deployment: Deployment?, add: Add
    ) {
        let absolute = absolutePath(state)
        let reinstall = "rgov cron install --state \(absolute)"
        /// A scheduled job that names a profile (`pin`), though a tick runs the state's active one.
        func pinned(_ pin: String, fix: String) {
            let active = deployment?.profileReference ?? "(unknown)"
            add(
                "scheduler profile", .warn,
                "\(pin); the state runs its active profile \(active), and a tick given another exits 78", fix)
        }
        if let crontab, let line = CronSchedule.jobLine(state: absolute, in: crontab) {
            add("scheduler", .ok, "a crontab block runs rgov tick for \(absolute)", nil)
            let job = CronSchedule.parse(jobLine: line)
            if let profile = job.pinnedProfile { pinned("the cron job pins --profile \(profile)", fix: reinstall) }
            if let deployment { checkJob(job, deployment: deployment, fix: reinstall, add: add) }
            return
        }
        for folder in unitFolders {
            for name in ((try? Sys.listDirectory(folder)) ?? []).sorted() where name.hasSuffix(".service") {
                let text = (try? Sys.readFile(PackageLayout.unit(name, in: folder), limit: 1 << 20)).map {
                    String(decoding: $0, as: UTF8.self)
                }
                if let text, text.contains("rgov tick"), text.contains(absolute) {
                    add("scheduler", .ok, "systemd unit \(folder)/\(name) runs rgov tick for \(absolute)", nil)
                    if let line = text.split(separator: "\n").first(where: {
                        $0.hasPrefix("Environment=RGOV_PROFILE=") || $0.hasPrefix("Environment=\"RGOV_PROFILE=")
                    }) {
                        pinned(
                            "\(folder)/\(name) sets \(line.dropFirst("Environment=".count))",
                            fix: "remove that line (systemctl edit rgov-tick.service), then systemctl daemon-reload")
                    }
                    return
                }
            }
        }
        add(
            "scheduler", .warn,
            crontab == nil
                ? "cannot tell: no crontab program, and no systemd unit names \(absolute)"
                : "no crontab block and no systemd unit runs rgov tick for \(absolute)",
            reinstall + "   # or the timer in share/rgov/systemd/")
    }

    /// What the cron job can do with the profile in force: find the sender program on its own
    /// `PATH`, and run at least as often as the watchdog is expected to.
    private static func checkJob(_ job: CronSchedule.Job, deployment: Deployment, fix: String, add: Add) {
        if let program = deployment.binding.program {
            if (try? ChildProcess.resolve(program, environment: ["PATH": job.path])).map({ Sys.isExecutable($0) })
                != true
            {
                add(
                    "scheduler path", .warn,
                    "the cron job's PATH (\(job.path)) has no \(program), which the \(deployment.binding.mode.rawValue) "
                        + "sender runs", fix + "   # from a shell whose PATH finds \(program)")
            }
        }
        let expected = deployment.profile.watchdogExpectedIntervalMs
        if let every = job.everyMinutes, Int64(every) * 60_000 > expected {
            add(
                "scheduler interval", .warn,
                "the cron job runs every \(DurationText.describe(ms: Int64(every) * 60_000)); "
                    + "\(deployment.profileReference) expects a watchdog run every \(DurationText.describe(ms: expected))",
                fix + " --every \(max(1, expected / 60_000))")
        }
    }

    /// The last heartbeat (`STATE/metrics/heartbeat.json`): a failed one warns, naming where it
    /// went (secrets redacted) and why.
    private static func checkHeartbeat(_ layout: StateLayout, configured: Bool?, add: Add) {
        guard let last = Heartbeat.last(layout) else {
            if configured == true {
                add(
                    "heartbeat", .warn, "a heartbeat is configured and none was sent yet",
                    "rgov tick --state \(layout.root)")
            }
            return
        }
        let text = "last heartbeat (\(last.kind.rawValue)) to \(last.target) at \(Timestamp.format(last.at))"
        if last.ok {
            add("heartbeat", .ok, text, nil)
        } else {
            add(
                "heartbeat", .warn, text + " FAILED: " + (last.error ?? "unknown error"),
                "check spec.notifications.heartbeat and that the service answers; the next tick tries again")
        }
    }

    /// A log in `STATE/logs/` larger than this, with no logrotate snippet naming the folder, warns.
    public static let logWarnBytes: Int64 = 64 << 20

    /// `STATE/logs/*.log` (cron's `>>`) grows without bound unless logrotate is told about it: a
    /// large one warns when no snippet in `rotation` names the folder (the shipped one,
    /// `PREFIX/share/rgov/logrotate/rgov`, does once its path is the state's).
    private static func checkLogs(_ layout: StateLayout, rotation: String, add: Add) {
        let folder = layout.root + "/logs"
        guard Sys.isDirectory(folder), let names = try? Sys.listDirectory(folder) else { return }
        let large = names.filter { $0.hasSuffix(".log") }.sorted().compactMap { name -> (String, Int64)? in
            let path = folder + "/" + name
            guard let size = Sys.identity(path)?.size, size > logWarnBytes else { return nil }
            return (path, size)
        }
        let absolute = absolutePath(folder)
        let snippets = (try? Sys.listDirectory(rotation)) ?? []
        let rotated = snippets.contains { name in
            guard let data = try? Sys.readFile(rotation + "/" + name) else { return false }
            let text = String(decoding: data, as: UTF8.self)
            return text.contains(absolute + "/") || text.contains(folder + "/")
        }
        if rotated {
            add("logs", .ok, "\(folder): rotated (a snippet in \(rotation) names it)", nil)
        } else if let (path, size) = large.first {
            add(
                "logs", .warn,
                "\(path) is \(size >> 20) MiB (over \(logWarnBytes >> 20) MiB) and no logrotate snippet in \(rotation) "
                    + "names \(absolute)",
                "sed 's|/var/lib/rgov/state|\(layout.root)|' PREFIX/share/rgov/logrotate/rgov > \(rotation)/rgov")
        }
    }

    private static func checkLastTick(_ layout: StateLayout, deployment: Deployment?, now: Date, add: Add) {
        guard let run = Watchdog.latestRun(layout) else {
            add("last tick", .warn, "the watchdog has never run on this state", "rgov tick --state \(layout.root)")
            return
        }
        let age = now.milliseconds(since: run.started_at)
        let expected = Int64(deployment?.profile.watchdogExpectedIntervalMs ?? Int64(run.expected_interval_ms))
        let text =
            "last watchdog run \(Timestamp.format(run.started_at)) (\(DurationText.describe(ms: max(0, age))) ago; "
            + "expected every \(DurationText.describe(ms: expected)))"
        if age > 2 * expected {
            add(
                "last tick", .fail, "STALE: " + text,
                "check the scheduler (crontab -l; systemctl list-timers rgov-tick.timer), then rgov tick --state \(layout.root)"
            )
        } else {
            add("last tick", .ok, text, nil)
        }
    }

    /// Whether `binding` (the sender in force, or its fallback) can actually run here: the doctor's
    /// `check` line; `keys` names its profile and local keys (`sender`, `fallback`).
    private static func checkSender(
        _ binding: SenderBinding, check: String = "sender", keys: String = "sender", environment: [String: String],
        add: Add
    ) {
        let local = keys == "sender" ? "RGOV_BINDING_" : "RGOV_FALLBACK_BINDING_"
        let path = ["PATH": environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"]
        func program(_ name: String, fix: String) {
            guard let resolved = try? ChildProcess.resolve(name, environment: path), Sys.kind(resolved) == .regular,
                Sys.isExecutable(resolved)
            else {
                add(
                    check, .fail,
                    "\(binding.mode.rawValue) sender program \(Identifier.quoted(name)) is not an executable on PATH",
                    fix)
                return
            }
            add(check, .ok, "\(binding.mode.rawValue): \(resolved)", nil)
        }
        /// Fails the check when a secret the binding names under `key` is not set; true when all are.
        func secretsSet(_ key: String, of what: String) -> Bool {
            let missing = binding.unsetReferences(key, environment: environment)
            if !missing.isEmpty {
                let export = "export " + missing.map { $0 + "=..." }.joined(separator: " ")
                add(check, .fail, "\(what) secrets not set: \(missing.joined(separator: ", "))", export)
            }
            return missing.isEmpty
        }
        switch binding.mode {
        case .dryRun, .shim:
            add(check, .ok, "\(binding.mode.rawValue) (sends nothing outside this machine)", nil)
        case .command:
            guard case .list(let argv)? = binding.values["command"], let first = argv.first else {
                add(
                    check, .fail, "command binding has no argv",
                    "set spec.adapters.sender.binding.command in the profile")
                return
            }
            guard secretsSet("environment", of: "command binding") else { return }
            program(first, fix: "install \(first), or fix spec.adapters.\(keys).binding.command")
        case .openclawCLI:
            let name = binding.text("binary") ?? "openclaw"
            program(name, fix: "install openclaw (or set binding.binary / \(local)BINARY to its path)")
        case .webhook:
            guard let text = binding.text("url"), let url = URL(string: text),
                ["http", "https"].contains(url.scheme ?? ""), url.host?.isEmpty == false
            else {
                add(
                    check, .fail, "webhook url is not a well-formed http(s) URL",
                    "export RGOV_BINDING_URL=https://host/path")
                return
            }
            if secretsSet("headers", of: "webhook header") {
                add(check, .ok, "webhook to \(url.scheme ?? "")://\(url.host ?? "")", nil)
            }
        }
    }

    private static func checkQuarantine(_ layout: StateLayout, now: Date, add: Add) {
        let entries = ((try? Sys.listDirectory(layout.quarantine)) ?? []).filter { !$0.hasPrefix(".") }
        let total = entries.count
        let recent = entries.filter { id in
            guard let data = try? Sys.readFile(layout.quarantineReason(id), limit: 1 << 20),
                let record = try? CanonicalJSON.decode(QuarantineRecord.self, from: data)
            else { return false }
            return now.milliseconds(since: record.quarantined_at) < 86_400_000
        }.count
        if recent > 0 {
            add(
                "quarantine", .warn, "\(recent) files quarantined in the last 24 h (\(total) in all)",
                "rgov quarantine ls --state \(layout.root)")
        } else {
            add("quarantine", .ok, "\(total) files, none in the last 24 h", nil)
        }
    }

    /// Every notice, receipt and attempt where readers look can be read (`UnreadableRecords`).
    private static func checkUnreadable(_ layout: StateLayout, add: Add) {
        do {
            let found = try UnreadableRecords(layout: layout).find(updating: false)
            if found.isEmpty {
                add("records", .ok, "every notice, receipt and attempt record can be read", nil)
            } else {
                add(
                    "records", .fail,
                    "\(found.count) cannot be read: "
                        + found.prefix(5).map { "\($0.kind) \($0.path) (\($0.reason))" }.joined(separator: "; "),
                    "rgov check-state --state \(layout.root)   # names each; restore it from a backup, or move it aside"
                )
            }
        } catch {
            add(
                "records", .fail, "cannot look through the records: \(error)", "rgov check-state --state \(layout.root)"
            )
        }
    }

    /// A clock behind the newest artifact makes every age wrong.
    private static func checkClock(_ layout: StateLayout, now: Date, add: Add) {
        // Each stage's last-run record (`metrics/<stage>.last-run.json`) names when it ran.
        let stageRuns = ((try? layout.lastRunRecords()) ?? []).compactMap { path -> Date? in
            guard let data = try? Sys.readFile(path, limit: 1 << 16),
                case .object(let record)? = try? CanonicalJSON.decode(JSONValue.self, from: data),
                case .string(let text)? = record["at"]
            else { return nil }
            return Timestamp.parse(text)
        }
        let newest = (stageRuns + [Watchdog.latestRun(layout)?.started_at].compactMap { $0 }).max()
        if let newest, newest.milliseconds(since: now) > 60_000 {
            add(
                "clock", .fail,
                "the clock (\(Timestamp.format(now))) is \(DurationText.describe(ms: newest.milliseconds(since: now))) behind "
                    + "the newest artifact (\(Timestamp.format(newest)))",
                "timedatectl set-ntp true   # then check: timedatectl status")
        } else {
            add("clock", .ok, "not behind the newest artifact", nil)
        }
    }

    static func absolutePath(_ path: String) -> String {
        (Sys.absolute(path) as NSString).standardizingPath
    }

    public static func describe(_ report: Report) -> String {
        var lines: [String] = []
        for c in report.checks {
            lines.append(
                c.status.rawValue.padding(toLength: 5, withPad: " ", startingAt: 0) + c.check + ": "
                    + TerminalText.field(c.detail, limit: 1000))
            if let fix = c.fix { lines.append("      fix: " + fix) }
        }
        let failed = report.checks.filter { $0.status == .fail }.count
        let warned = report.checks.filter { $0.status == .warn }.count
        lines.append(
            report.ok
                ? "doctor: \(report.state_dir) is healthy\(warned > 0 ? " (\(warned) warnings)" : "")"
                : "doctor: \(failed) checks failed, \(warned) warnings")
        return lines.joined(separator: "\n")
    }
}
