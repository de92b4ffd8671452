import Foundation

/// `rgov`: the orchestrator (`tick`) and the operator verbs.
public enum RgovCommand {
    public static let help = """
        usage: rgov VERB [options]

        verbs:
          tick      run watchdog, dispatcher and bridge in order, each as a child process
                    [--missions-from DIR] first copies mission snapshots from DIR into STATE/missions
          status    notices per state, oldest undelivered, approval backlog, quarantine, last run of
                    each stage, capability gaps, lock holders
          validate  check a profile and capability descriptor together (exit 78 when refused)
                    --explain: every effective setting and the layer it came from
                    --package: check package-manifest.json against the shipped files (--update rewrites it)
          diff-profiles A B   judge the missions in STATE under two profiles; print where they differ
          activate PROFILE --by NAME --reason TEXT   validate and make PROFILE the default for this state
          rollback --by NAME --reason TEXT           restore the previous known-good profile
          history   profile activations and rollbacks
          report    the colony-side hook: record what a mission did (see rgov report --help)
          simulate  write N realistic missions with planted conditions and a manifest
                    --missions N --seed S [--state DIR] [--now T]
          doctor    check a deployment: data folder, profile, state folder, scheduler, last run,
                    sender, quarantine, clock (see rgov doctor --help)
          cron      install|remove|show the crontab block that runs rgov tick (see rgov cron --help)

        shared options:
          --state DIR          state directory (env RGOV_STATE_DIR, default ./state)
          --profile FILE|ID    deployment profile (env RGOV_PROFILE, else the state's active profile,
                               else minimal-solo-mode)
          --capabilities ID    capability descriptor (default: the profile's)
          --now TIME           pin the clock to an RFC 3339 time
          --json               machine-readable output on stdout; logs go to stderr
          --help, --version

        environment: every RGOV_* variable, its default and valid values: rgov help environment

        operator verbs: ls, show, ack, hold, release, requeue, mission, approve, reject,
          approvals, quarantine, export, verify, prune (rgov help shows them all)

        exit: 0 ok, 1 a stage failed, 64 usage, 65 bad data or refused, 66 no input, 73/74 cannot
        create / I/O error, 75 try again, 77 not permitted, 78 configuration refused.
        """

    public static func main(arguments: [String] = Array(CommandLine.arguments.dropFirst())) -> Int32 {
        do {
            guard let verb = arguments.first, !verb.hasPrefix("-") else {
                if arguments.contains("--version") {
                    Sys.writeStandardOutput(PackageInfo.versionLine("rgov") + "\n")
                    return 0
                }
                Sys.writeStandardOutput(help + "\n")
                return arguments.contains("--help") ? 0 : ExitCode.usage.rawValue
            }
            let rest = Array(arguments.dropFirst())
            if !rest.contains("--help") && verb != "help" { try EnvironmentContract.enforce("rgov") }
            switch verb {
            case "tick": return try tick(try Options(rest, valued: ["missions-from", "stage-deadline"]))
            case "status": return try status(try Options(rest))
            case "validate": return try validate(try Options(rest, flags: ["explain", "package", "update"]))
            case "diff-profiles": return try diffProfiles(try Options(rest))
            case "activate", "rollback", "history":
                return try lifecycle(verb, try Options(rest, valued: ["by", "reason"]))
            case "report":
                return try report(
                    try Options(
                        rest,
                        valued: [
                            "mission", "kind", "at", "type", "stage", "text", "reason", "tokens", "goal", "interval-ms",
                            "evidence", "placeholder-item",
                        ],
                        flags: ["placeholder"]))
            case "simulate": return try simulate(try Options(rest, valued: ["missions", "seed"]))
            case "doctor": return try doctor(try Options(rest, valued: ["crontab-file"]))
            case "cron": return try cron(try Options(rest, valued: ["every", "log", "crontab-file"]))
            case let v where operatorVerbs.contains(v): return try operatorVerb(v, rest)
            case "help" where rest == ["environment"]:
                Sys.writeStandardOutput(EnvironmentContract.markdownTable() + "\n")
                return 0
            case "help":
                Sys.writeStandardOutput(help + "\n" + operatorHelp + "\n")
                return 0
            default:
                throw RgovError.usage("unknown verb \(Identifier.quoted(verb)) (see rgov --help)")
            }
        } catch let error as RgovError {
            Log.error("rgov", error.message)
            return error.exitCode.rawValue
        } catch let error as SystemCallError {
            Log.error("rgov", error.description)
            return error.rgovError.exitCode.rawValue
        } catch {
            Log.error("rgov", "\(error)")
            return ExitCode.failure.rawValue
        }
    }

    static func helpRequested(_ options: Options, _ text: String) -> Bool {
        guard options.has("help") else { return false }
        Sys.writeStandardOutput(text + "\n")
        return true
    }

    static func tick(_ options: Options) throws -> Int32 {
        if helpRequested(options, help) { return 0 }
        Shutdown.install()
        let deployment = try Deployment.load(options)
        try deployment.layout.prepare()
        let lockPath = deployment.layout.locks + "/tick.lock"
        guard
            let lock = try StageLock.acquire(
                lockPath, holder: "rgov tick pid \(Sys.processID()) since \(Timestamp.format(Date()))")
        else {
            let holder = StageLock.currentHolder(lockPath) ?? "another tick"
            Log.info("rgov", "\(lockPath) is held (\(holder)); nothing to do")
            if options.json {
                Sys.writeStandardOutput(
                    CanonicalJSON.line(["skipped": "lock_held", "lock": lockPath, "holder": holder]) + "\n")
            }
            return 0
        }
        defer { withExtendedLifetime(lock) {} }
        var passThrough = ["--state", deployment.layout.root, "--profile", deployment.profile.source]
        if let now = options.value("now") { passThrough += ["--now", now] }
        if let capabilities = options.value("capabilities") { passThrough += ["--capabilities", capabilities] }
        let deadline =
            try options.integer("stage-deadline").map(Double.init) ?? Double(deployment.profile.stageDeadlineMs) / 1000
        let report = try Tick(
            deployment: deployment, passThrough: passThrough,
            binDirectory: (Sys.executablePath() as NSString).deletingLastPathComponent, stageDeadline: deadline
        ).run(importingFrom: options.value("missions-from"))
        Sys.writeStandardOutput((options.json ? CanonicalJSON.line(report) : Tick.describe(report)) + "\n")
        if let status = Shutdown.exitStatus { return status }
        return report.ok ? 0 : ExitCode.failure.rawValue
    }

    static func status(_ options: Options) throws -> Int32 {
        if helpRequested(options, help) { return 0 }
        let layout = StateLayout(root: options.stateDirectory)
        guard Sys.isDirectory(layout.root) else { throw RgovError(.noInput, "no state directory at \(layout.root)") }
        let backlog =
            (try? Deployment.load(options)).map { deployment in
                (try? OperatorDesk(
                    deployment: deployment, identity: OperatorIdentity(by: "-", osUser: Sys.userName(), osGroups: [])
                )
                .approvalBacklog().count) ?? 0
            } ?? 0
        let status = try StatusReport.gather(layout: layout, now: try options.clock().now(), approvalBacklog: backlog)
        Sys.writeStandardOutput((options.json ? CanonicalJSON.line(status) : status.describe()) + "\n")
        return 0
    }

    static func validate(_ options: Options) throws -> Int32 {
        if helpRequested(options, help) { return 0 }
        if options.has("package") {
            let root = try PackageRoot.locate()
            if options.has("update") {
                try DurableFile.write(
                    try CanonicalJSON.encodeFile(try PackageManifest.build(root: root)),
                    to: root + "/package-manifest.json")
                Sys.writeStandardOutput("wrote \(root)/package-manifest.json\n")
                return 0
            }
            return verdict(
                try PackageManifest.verify(root: root), ok: "package-manifest.json matches the shipped files",
                prefix: "MISMATCH",
                json: options.json)
        }
        let deployment = try Deployment.load(options)
        // Validation writes nothing: it says whether a stage could use the folder.
        let usable = try deployment.layout.checkUsable()
        struct Gap: Codable {
            var capability: String
            var fallback: String
        }
        struct Parameter: Codable {
            var path: String
            var value: String
            var layer: String
        }
        struct Validation: Codable {
            var ok: Bool
            var profile: String
            var profile_source: String
            var profile_sha256: String
            var capability_descriptor: String
            var sender_mode: String
            var capability_gaps: [Gap]
            var state_dir: String
            var settings: [ExplainEntry]?
            var parameters: [Parameter]?
        }
        let explain = options.has("explain")
        var parameters: [Parameter] = []
        for rule in deployment.rules {
            parameters.append(
                Parameter(path: "policies.\(rule.ruleID).severity", value: rule.severity.rawValue, layer: "pack"))
            for (name, value) in rule.values.sorted(by: { $0.key < $1.key }) {
                parameters.append(
                    Parameter(
                        path: "policies.\(rule.ruleID).\(name)", value: value.text, layer: rule.origins[name] ?? "pack")
                )
            }
        }
        let v = Validation(
            ok: true, profile: deployment.profileReference, profile_source: deployment.profile.source,
            profile_sha256: deployment.profile.sha256, capability_descriptor: deployment.descriptorReference,
            sender_mode: deployment.profile.senderMode.rawValue,
            capability_gaps: deployment.capabilityGaps.map {
                Gap(capability: $0, fallback: CapabilityFallback.explain($0))
            },
            state_dir: deployment.layout.root, settings: explain ? deployment.profile.explain : nil,
            parameters: explain ? parameters : nil)
        var lines = [
            "profile \(v.profile) (\(v.profile_source)) is valid on runtime \(v.capability_descriptor)",
            "  sender mode: \(v.sender_mode); state dir: \(v.state_dir) (\(usable))",
        ]
        lines +=
            v.capability_gaps.isEmpty
            ? ["  capability gaps: none"] : v.capability_gaps.map { "  gap \($0.capability): \($0.fallback)" }
        if explain {
            let rows =
                deployment.profile.explain.sorted { $0.path < $1.path }.map { ($0.path, $0.value, $0.layer.rawValue) }
                + parameters.map { ($0.path, $0.value, $0.layer) }
            let width = min(72, rows.map(\.0.count).max() ?? 0)
            lines.append("  " + "setting".padding(toLength: width, withPad: " ", startingAt: 0) + "  layer     value")
            for (path, value, layer) in rows {
                lines.append(
                    "  " + path.padding(toLength: max(width, path.count), withPad: " ", startingAt: 0) + "  "
                        + layer.padding(toLength: 8, withPad: " ", startingAt: 0) + "  " + value)
            }
        }
        Sys.writeStandardOutput((options.json ? CanonicalJSON.line(v) : lines.joined(separator: "\n")) + "\n")
        return 0
    }

    /// Prints a check's problems (one per line, or `{"ok", "problems"}`); exit 0 only when there are none.
    static func verdict(_ problems: [String], ok: String, prefix: String, json: Bool) -> Int32 {
        struct Check: Codable {
            var ok: Bool
            var problems: [String]
        }
        let text = problems.isEmpty ? ok : problems.map { prefix + " " + $0 }.joined(separator: "\n")
        Sys.writeStandardOutput(
            (json ? CanonicalJSON.line(Check(ok: problems.isEmpty, problems: problems)) : text) + "\n")
        return problems.isEmpty ? 0 : ExitCode.dataError.rawValue
    }

    static func diffProfiles(_ options: Options) throws -> Int32 {
        if helpRequested(options, help) { return 0 }
        guard options.positionals.count == 2 else {
            throw RgovError.usage("usage: rgov diff-profiles PROFILE_A PROFILE_B [--state DIR] [--now T]")
        }
        let root = try PackageRoot.locate()
        let packs = try Deployment.loadPacks(root: root)
        let layout = StateLayout(root: options.stateDirectory)
        guard Sys.isDirectory(layout.missions) else { throw RgovError(.noInput, "no missions at \(layout.missions)") }
        let clock = try options.clock()
        let deployments = try options.positionals.map { name -> Deployment in
            let profile = try Deployment.loadProfile(name, root: root)
            let descriptor = try Deployment.loadDescriptor(
                options.value("capabilities") ?? profile.capabilityDescriptor, root: root)
            return try Deployment(
                layout: layout, profile: profile, descriptor: descriptor, clock: clock, availablePacks: packs)
        }
        let report = try ProfileDiff.compare(deployments[0], deployments[1], now: clock.now())
        Sys.writeStandardOutput((options.json ? CanonicalJSON.line(report) : ProfileDiff.describe(report)) + "\n")
        return 0
    }

    static func lifecycle(_ verb: String, _ options: Options) throws -> Int32 {
        if helpRequested(options, help) { return 0 }
        let layout = StateLayout(root: options.stateDirectory)
        let lifecycle = ProfileLifecycle(layout: layout, clock: try options.clock())
        switch verb {
        case "history":
            let events = try lifecycle.history()
            if options.json {
                Sys.writeStandardOutput(events.map { CanonicalJSON.line($0) + "\n" }.joined())
            } else if events.isEmpty {
                Sys.writeStandardOutput("no profile activations in \(layout.root)\n")
            } else {
                let active = lifecycle.active()?.event_id
                for e in events {
                    Sys.writeStandardOutput(
                        "\(e.event_id == active ? "*" : " ") \(Timestamp.format(e.at))  \(e.action.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0)) "
                            + "\(e.profile)  sha256 \(e.snapshot_sha256.prefix(12))  by \(e.by) (\(e.os_user)): \(e.reason)\n"
                    )
                }
            }
            return 0
        case "activate":
            guard let name = options.positionals.first, options.positionals.count == 1 else {
                throw RgovError.usage("usage: rgov activate PROFILE --by NAME --reason TEXT")
            }
            var withProfile = options
            withProfile.setValue("profile", name)
            let deployment = try Deployment.load(withProfile)
            let event = try lifecycle.activate(
                deployment, by: options.value("by") ?? "", reason: options.value("reason") ?? "")
            Sys.writeStandardOutput(
                (options.json
                    ? CanonicalJSON.line(event)
                    : "activated \(event.profile) (sha256 \(event.snapshot_sha256.prefix(12))) as \(event.event_id)")
                    + "\n")
            return 0
        default:
            guard options.positionals.isEmpty else {
                throw RgovError.usage("usage: rgov rollback --by NAME --reason TEXT")
            }
            let root = try PackageRoot.locate()
            let packs = try Deployment.loadPacks(root: root)
            let event = try lifecycle.rollback(by: options.value("by") ?? "", reason: options.value("reason") ?? "") {
                profile in
                let descriptor = try Deployment.loadDescriptor(
                    options.value("capabilities") ?? profile.capabilityDescriptor, root: root)
                let deployment = try Deployment(
                    layout: layout, profile: profile, descriptor: descriptor, clock: try options.clock(),
                    availablePacks: packs)
                try deployment.layout.prepare()
                return deployment
            }
            Sys.writeStandardOutput(
                (options.json
                    ? CanonicalJSON.line(event)
                    : "rolled back to \(event.profile) (sha256 \(event.snapshot_sha256.prefix(12))) as \(event.event_id)")
                    + "\n")
            return 0
        }
    }
}

extension RgovCommand {
    public static let reportHelp = """
        usage: rgov report --mission ID --kind KIND [options]

        Records what a colony mission did, in STATE/missions/ID.json, atomically and one writer at a
        time per mission. A refused report (exit 65) leaves the snapshot unchanged.

        kinds: started, checkpoint, progress, stage, blocker, completion, failed
          --type T              mission type, required to create a new mission
                                (oracle_advisory, crm_lead_intelligence, catalyst_strategy_brief)
          --at TIME             when it happened (default now; a time in the future is refused)
          --stage S             the stage (required with --kind stage)
          --text TEXT           the report's text; --placeholder labels it a placeholder
          --reason TEXT         the failure reason (required with --kind failed)
          --evidence [OUTPUT=]FILE   with --kind completion: hash FILE (SHA-256) and attach it as
                                evidence for OUTPUT; repeatable
          --placeholder-item X  with --kind completion: a part still a placeholder; repeatable
          --tokens N            tokens used so far;  --interval-ms N  the checkpoint interval
          --goal TEXT           the user's goal

        Under a runtime with inline_block, a completion without the evidence the profile requires
        is refused and the refusal recorded as a decision.
        """

    static func report(_ options: Options) throws -> Int32 {
        if helpRequested(options, reportHelp) { return 0 }
        guard let mission = options.value("mission") else {
            throw RgovError.usage("--mission is required (see rgov report --help)")
        }
        guard let kindText = options.value("kind") else {
            throw RgovError.usage("--kind is required (see rgov report --help)")
        }
        guard let kind = MissionReport.Kind(rawValue: kindText) else {
            throw RgovError.data(
                "unknown report kind \(Identifier.quoted(kindText)) (kinds: \(MissionReport.Kind.allCases.map(\.rawValue).joined(separator: ", ")))"
            )
        }
        var at: Date? = nil
        if let text = options.value("at") {
            guard let date = Timestamp.parse(text) else {
                throw RgovError.data("--at \(Identifier.quoted(text)) is not an RFC 3339 time")
            }
            at = date
        }
        let deployment = try Deployment.load(options)
        try deployment.layout.prepare()
        let request = MissionReport.Request(
            missionID: mission, kind: kind, at: at, missionType: options.value("type"), stage: options.value("stage"),
            text: options.value("text"), placeholder: options.has("placeholder"), reason: options.value("reason"),
            tokensUsed: try options.integer("tokens"), goal: options.value("goal"),
            intervalMs: try options.integer("interval-ms"),
            evidence: options.all("evidence"), placeholders: options.all("placeholder-item"))
        let outcome = try MissionReport(deployment: deployment, actor: "rgov report (\(Sys.userName()))").apply(request)
        let text =
            "mission \(outcome.mission_id): \(outcome.kind) recorded\(outcome.created ? " (new mission)" : ""); "
            + "status \(outcome.status), stage \(outcome.stage ?? "-")"
            + outcome.evidence.map { "\n  evidence \($0.kind): \($0.ref) sha256 \($0.sha256 ?? "")" }.joined()
        Sys.writeStandardOutput((options.json ? CanonicalJSON.line(outcome) : text) + "\n")
        return 0
    }

    static func simulate(_ options: Options) throws -> Int32 {
        if helpRequested(options, help) { return 0 }
        guard let count = try options.integer("missions"), count > 0, count <= 1_000_000 else {
            throw RgovError.usage("--missions N (1...1000000) is required")
        }
        guard let seedText = options.value("seed"), let seed = UInt64(seedText) else {
            throw RgovError.usage("--seed S (a whole number) is required")
        }
        let layout = StateLayout(root: options.stateDirectory)
        let (manifest, path) = try Simulation(seed: seed, now: try options.clock().now()).write(
            count: Int(count), layout: layout)
        if options.json {
            Sys.writeStandardOutput(
                CanonicalJSON.line(["manifest": path, "missions": String(manifest.missions.count)]) + "\n")
        } else {
            var lines = [
                "simulated \(manifest.missions.count) missions (seed \(seed), now \(Timestamp.format(manifest.now))) into \(layout.missions)"
            ]
            for (name, n) in manifest.conditions.sorted(by: { $0.key < $1.key }) { lines.append("  \(name): \(n)") }
            lines.append("  manifest: \(path)")
            Sys.writeStandardOutput(lines.joined(separator: "\n") + "\n")
        }
        return 0
    }
}

/// What `rgov status` shows: counts and health, from directory listings and the last run artifact.
public struct StatusReport: Codable, Sendable {
    public var state_dir: String
    public var notices_by_state: [String: Int]
    public var quarantined: Int
    public var open_episodes: Int
    public var inflight_attempts: Int
    public var last_watchdog_run: WatchdogRun?
    /// The watchdog last ran more than twice its expected interval ago: the schedule has stopped.
    public var stale: Bool
    public var last_watchdog_run_age_ms: Int64?
    public var lock_holders: [String: String]
    public var oldest_pending_age_ms: Int64?
    public var approval_backlog: Int
    public var stage_runs: [StageCommand.LastRun]
    public var capability_gaps: [String]

    public static func gather(layout: StateLayout, now: Date, approvalBacklog: Int) throws -> StatusReport {
        let counts = try NoticeStore(layout: layout).counts()
        let last = Watchdog.latestRun(layout)
        var oldest: Date? = nil
        let store = NoticeStore(layout: layout)
        for folder in [
            layout.notices(.queued), layout.notices(.dispatched), layout.notices(.pending_external_send),
            layout.deferredNotices,
        ] {
            for name in try layout.artifactNames(in: folder) {
                if let n = try? store.read(folder + "/" + name), oldest.map({ n.created_at < $0 }) ?? true {
                    oldest = n.created_at
                }
            }
        }
        var holders: [String: String] = [:]
        for name in try Sys.listDirectory(layout.locks) where name.hasSuffix(".lock") {
            if let holder = StageLock.currentHolder(layout.locks + "/" + name) {
                holders[String(name.dropLast(5))] = holder
            }
        }
        return StatusReport(
            state_dir: layout.root,
            notices_by_state: Dictionary(uniqueKeysWithValues: counts.map { ($0.key.rawValue, $0.value) }),
            quarantined: try Sys.listDirectory(layout.quarantine).filter { !$0.hasPrefix(".") }.count,
            open_episodes: try layout.artifactNames(in: layout.openEpisodes).count,
            inflight_attempts: try layout.artifactNames(in: layout.inflightAttempts).count, last_watchdog_run: last,
            stale: Watchdog.staleness(of: last, now: now) != nil,
            last_watchdog_run_age_ms: last.map { now.milliseconds(since: $0.started_at) },
            lock_holders: holders, oldest_pending_age_ms: oldest.map { now.milliseconds(since: $0) },
            approval_backlog: approvalBacklog,
            stage_runs: StageCommand.Kind.allCases.compactMap { kind in
                (try? Sys.readFile(layout.metrics + "/\(kind.rawValue).last-run.json")).flatMap {
                    try? CanonicalJSON.decode(StageCommand.LastRun.self, from: $0)
                }
            }, capability_gaps: last?.capability_gaps ?? [])
    }

    public func describe() -> String {
        var lines = ["state \(state_dir)"]
        for state in DeliveryState.allCases {
            lines.append(
                "  " + state.rawValue.padding(toLength: 22, withPad: " ", startingAt: 0)
                    + String(notices_by_state[state.rawValue] ?? 0))
        }
        lines.append(
            "  open episodes: \(open_episodes), attempts in flight: \(inflight_attempts), quarantined: \(quarantined)")
        if let run = last_watchdog_run {
            lines.append(
                "  last watchdog run: \(Timestamp.format(run.started_at)), scanned \(run.scanned), findings \(run.findings), "
                    + "profile \(run.profile)")
            if stale, let age = last_watchdog_run_age_ms {
                lines.append(
                    "  WARNING: STALE: the watchdog last ran \(DurationText.describe(ms: age)) ago, more than twice its "
                        + "expected interval (\(DurationText.describe(ms: Int64(run.expected_interval_ms)))): is the "
                        + "scheduler running? Check with: rgov doctor --state \(state_dir)")
            }
        } else {
            lines.append("  last watchdog run: none")
        }
        if let age = oldest_pending_age_ms {
            lines.append("  oldest notice not yet delivered: \(DurationText.describe(ms: age))")
        }
        lines.append("  writebacks awaiting approval: \(approval_backlog)")
        for run in stage_runs {
            lines.append(
                "  \(run.stage): last run \(Timestamp.format(run.at)), exit \(run.exit_status) in \(run.duration_ms) ms"
                    + (run.error.map { " (" + $0 + ")" } ?? ""))
        }
        for gap in capability_gaps { lines.append("  capability gap \(gap): \(CapabilityFallback.explain(gap))") }
        for (lock, holder) in lock_holders.sorted(by: { $0.key < $1.key }) {
            lines.append("  lock \(lock): held by \(holder)")
        }
        return lines.joined(separator: "\n")
    }
}
