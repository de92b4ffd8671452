import Foundation
import Testing

@testable import GovernanceCore

/// Deployment as shipped: the installer, the cron block under cron's empty environment, the
/// systemd units, stop signals, `rgov doctor`, the environment contract and the small truths.
@Suite struct DeploymentTests {
    /// Runs a program (not an rgov executable) to its end.
    static func run(_ executable: String, _ arguments: [String], env: [String: String]? = nil) throws -> ChildResult {
        try ChildProcess.run(
            ChildSpec(executable: executable, arguments: arguments, environment: env, deadline: 300))
    }

    /// `scripts/install` with the binaries this test run built (no release build inside a test).
    static func install(_ prefix: String, uninstall: Bool = false) throws -> ChildResult {
        let result = try run(
            "/bin/bash",
            [Harness.repoRoot + "/scripts/install", "--prefix", prefix]
                + (uninstall ? ["--uninstall"] : ["--binaries", Harness.bin]))
        #expect(result.status == 0, "\(result.stderrText)\(result.stdoutText)")
        return result
    }

    /// Every file under `root`, relative, with its bytes.
    static func tree(_ root: String) throws -> [String: Data] {
        var files: [String: Data] = [:]
        let enumerator = FileManager.default.enumerator(atPath: root)
        while let relative = enumerator?.nextObject() as? String {
            if Sys.kind(root + "/" + relative) == .regular { files[relative] = try Sys.readFile(root + "/" + relative) }
        }
        return files
    }

    @Test func theInstalledCronJobRunsUnderCronsEmptyEnvironment() throws {
        let h = try Harness()
        let prefix = h.dir + "/prefix"
        try Sys.makeDirectory(prefix + "/bin")
        try DurableFile.write(Data("not rgov's\n".utf8), to: prefix + "/bin/other-tool")
        _ = try Self.install(prefix)
        let first = try Self.tree(prefix)
        _ = try Self.install(prefix)
        let second = try Self.tree(prefix)
        #expect(Set(first.keys) == Set(second.keys), "a second install adds nothing")
        #expect(first.keys.contains("share/rgov/policy-packs/anti-blackhole.yaml"))
        #expect(first.keys.contains("share/rgov/systemd/rgov-tick.service"))
        #expect(first["share/man/man1/rgov.1"] == (try Sys.readFile(Harness.repoRoot + "/docs/man/rgov.1")))
        #expect(first.keys.contains("share/man/man1/rgov-watchdog.1"))
        #expect(first.keys.contains("share/bash-completion/completions/rgov"))
        #expect(
            String(decoding: second["share/rgov/systemd/rgov-tick.service"]!, as: UTF8.self).contains(
                "ExecStart=\(prefix)/bin/rgov tick"))
        let version = try Self.run(prefix + "/bin/rgov", ["--version"])
        #expect(
            version.stdoutText.range(
                of: #"^rgov \d+\.\d+\.\d+ \(commit [0-9a-f]{40}(-dirty)?\)\n$"#, options: .regularExpression) != nil,
            "\(version.stdoutText)")

        // A state path with a space and a percent sign, which cron's line must carry intact.
        let state = h.dir + "/var lib/rgov%state"
        let crontab = h.dir + "/crontab"
        let others = "MAILTO=ops@example.org\n# keep me\n17 3 * * * /usr/bin/true  # nightly\n"
        try DurableFile.write(Data(others.utf8), to: crontab)
        let noState = try Self.run(
            prefix + "/bin/rgov", ["cron", "install", "--state", state, "--crontab-file", crontab])
        #expect(noState.status == 66 && noState.stderrText.contains("rgov init"), "\(noState.stderrText)")
        let made = try Self.run(prefix + "/bin/rgov", ["init", "--state", state, "--profile", "standard-team-mode"])
        #expect(made.status == 0, "\(made.stderrText)")
        for profile in [[], ["--profile", "standard-team-mode"]] {
            let r = try Self.run(
                prefix + "/bin/rgov", ["cron", "install", "--state", state, "--crontab-file", crontab] + profile)
            #expect(r.status == 0, "\(r.stderrText)")
        }
        let otherProfile = try Self.run(
            prefix + "/bin/rgov",
            ["cron", "install", "--state", state, "--profile", "minimal-solo-mode", "--crontab-file", crontab])
        #expect(otherProfile.status == 78 && otherProfile.stderrText.contains("rgov activate minimal-solo-mode"))
        let installed = String(decoding: try Sys.readFile(crontab), as: UTF8.self)
        #expect(installed.hasPrefix(others), "other lines kept byte for byte")
        #expect(installed.components(separatedBy: "# BEGIN rgov ").count == 2, "one block")
        let line = try #require(CronSchedule.jobLine(state: state, in: installed))
        #expect(line.hasPrefix("*/2 * * * * "))
        #expect(!line.contains("--profile") && line.contains("PATH=/usr/local/bin:/usr/bin:/bin "), "\(line)")

        for name in try Sys.listDirectory(Harness.repoRoot + "/examples/missions") where name.hasSuffix(".json") {
            try DurableFile.write(
                try Sys.readFile(Harness.repoRoot + "/examples/missions/" + name), to: state + "/missions/" + name)
        }
        // What cron does: its own few variables, HOME as the working folder, /bin/sh -c, `\%` -> `%`.
        let home = h.dir + "/home"
        try Sys.makeDirectory(home)
        let command = String(line.split(separator: " ", maxSplits: 5)[5]).replacingOccurrences(of: "\\%", with: "%")
        let cron = try Self.run(
            "/usr/bin/env",
            [
                "-i", "PATH=/usr/bin:/bin", "HOME=" + home, "SHELL=/bin/sh", "LOGNAME=root", "/bin/sh", "-c",
                "cd \"$HOME\" && " + command,
            ])
        #expect(cron.status == 0, "\(cron.stderrText)")
        // standard-team-mode sends through openclaw-cli; without it installed here, every notice
        // waits honestly (sender_unavailable) for the program to appear.
        let waiting = try Sys.listDirectory(state + "/operator-notify-queue/deferred")
        #expect(!waiting.isEmpty, "the tick ran and produced notices")
        let notice = try NoticeStore(layout: StateLayout(root: state)).read(
            state + "/operator-notify-queue/deferred/" + (waiting.first ?? "none"))
        #expect(notice.state == .pending_external_send && notice.state_reason == "sender_unavailable")
        #expect(notice.attempts == 0, "nothing ran, so no attempt is counted")
        let log = String(decoding: try Sys.readFile(state + "/logs/tick.log"), as: UTF8.self)
        let summary = log.split(separator: "\n").filter { $0.contains(" tick-") }
        #expect(!summary.isEmpty)
        for entry in summary {
            #expect(
                entry.range(of: #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z tick-\S+ "#, options: .regularExpression)
                    != nil,
                "\(entry)")
        }
        #expect(!log.contains("<day>"))
        #expect(Sys.status(state + "/logs/tick.log")!.mode & 0o077 == 0, "the log is private (umask 077)")

        let removed = try Self.run(
            prefix + "/bin/rgov", ["cron", "remove", "--state", state, "--crontab-file", crontab])
        #expect(removed.status == 0)
        #expect(String(decoding: try Sys.readFile(crontab), as: UTF8.self) == others)

        _ = try Self.install(prefix, uninstall: true)
        #expect(
            Set(try Self.tree(prefix).keys) == ["bin/other-tool"], "uninstall removes what it installed, nothing else")
        #expect(Sys.isDirectory(state + "/missions"), "the state folder is never touched")
    }

    @Test(.enabled(if: Sys.kind("/usr/bin/systemd-analyze") == .regular, "needs systemd-analyze"))
    func theSystemdUnitsVerify() throws {
        let h = try Harness()
        let prefix = h.dir + "/prefix"
        _ = try Self.install(prefix)
        let units = prefix + "/share/rgov/systemd"
        let verify = try Self.run(
            "/usr/bin/systemd-analyze", ["verify", units + "/rgov-tick.service", units + "/rgov-tick.timer"])
        #expect(verify.status == 0 && verify.stderrText.isEmpty, "\(verify.stderrText)")
        let service = String(decoding: try Sys.readFile(units + "/rgov-tick.service"), as: UTF8.self)
        for directive in [
            "Type=oneshot", "TimeoutStartSec=", "KillMode=mixed", "NoNewPrivileges=yes", "ProtectSystem=strict",
            "ReadWritePaths=/var/lib/rgov", "PrivateTmp=yes",
        ] {
            #expect(service.contains(directive), "\(directive)")
        }
        // The check is real: a broken unit is reported.
        try DurableFile.write(
            Data(service.replacingOccurrences(of: "KillMode=mixed", with: "KillMode=sometimes").utf8),
            to: h.dir + "/broken.service")
        let broken = try Self.run("/usr/bin/systemd-analyze", ["verify", h.dir + "/broken.service"])
        #expect(broken.stderrText.contains("kill mode"))
    }

    // MARK: stop means stop

    /// A tick whose command sender announces itself in `started`, then sleeps 30 s.
    /// (`alone`: the bridge run by itself, as a cron line for one stage would, after the other stages.)
    static func slowTick(_ h: Harness, marker: String, alone: Bool = false) throws -> (
        Process, started: String, finished: String
    ) {
        try SenderTests.oneNotice(h)
        let started = h.dir + "/started"
        let finished = h.dir + "/finished"
        // Every send is logged; the alert about the interrupted one is answered at once.
        let sender = try h.script(
            "slow-sender.sh",
            "cat > /dev/null; echo \"$RGOV_NOTICE_ID\" >> \(h.dir)/sends.log\n"
                + "[ \"$RGOV_RULE_ID\" = delivery/outcome-unknown ] && exit 0\n"
                + "echo $$ > \(started); sleep 30; echo done > \(finished)")
        let profile = try SenderTests.profile(
            h, "slow",
            sender: "      mode: command\n      timeout_ms: 60000\n      binding:\n        command: [\(sender)]\n")
        let tick = Process()
        tick.executableURL = URL(fileURLWithPath: Harness.bin + (alone ? "/rgov-bridge" : "/rgov"))
        tick.arguments = (alone ? [] : ["tick"]) + ["--state", h.state, "--profile", profile, "--now", Harness.now]
        if alone {
            for stage in ["rgov-watchdog", "rgov-dispatcher"] {
                #expect(try h.run(stage, ["--profile", profile]).status == 0)
            }
        }
        var environment = ProcessInfo.processInfo.environment
        environment["STOPTEST_MARKER"] = marker
        tick.environment = environment
        tick.standardOutput = FileHandle.nullDevice
        tick.standardError = FileHandle.nullDevice
        try tick.run()
        // Wait for the effect (the sender is running), not for a time.
        for _ in 0..<6000 where Sys.kind(started) != .regular { Sys.sleep(milliseconds: 10) }
        try #require(Sys.kind(started) == .regular, "the sender started")
        return (tick, started, finished)
    }

    @Test(arguments: [SIGTERM, SIGINT, SIGHUP])
    func aStopSignalReachesEverySenderAndTheAttemptIsUnknown(signal: Int32) throws {
        let h = try Harness()
        let marker = "rgov-stop-" + UUID().uuidString
        let (tick, _, finished) = try Self.slowTick(h, marker: marker)
        kill(tick.processIdentifier, signal)
        tick.waitUntilExit()
        #expect(tick.terminationStatus == 128 + signal)
        #expect(Harness.noneLeft(carrying: marker), "no rgov process or sender outlives the tick")
        #expect(Sys.kind(finished) == .missing, "the sender was stopped, not waited for")
        let notice = try #require(try h.notices().first { $0.notice_kind == .finding })
        #expect(notice.state == .pending_external_send && notice.state_reason == "outcome_unknown")
        #expect(try h.layout.artifactNames(in: h.layout.inflightAttempts).isEmpty, "the attempt was concluded")
        #expect(try h.notices().contains { $0.notice_kind == .delivery_unknown }, "the operator is told")
        // The next tick takes the lock at once and does not resend.
        let next = try h.run(
            "rgov", ["tick", "--profile", h.dir + "/slow.yaml", "--now", "2026-11-20T12:05:00Z", "--json"])
        #expect(next.status == 0 && next.json?["skipped"] == nil, "\(next.stderr)")
        let sends = String(decoding: try Sys.readFile(h.dir + "/sends.log"), as: UTF8.self).split(separator: "\n")
        #expect(sends.filter { $0 == notice.notice_id }.count == 1, "not resent: \(sends)")
        #expect(try h.notices().first { $0.notice_id == notice.notice_id }?.attempts == 1)
    }

    @Test func aBridgeRunAloneStopsItsSendersOnSIGTERM() throws {
        let h = try Harness()
        let marker = "rgov-alone-" + UUID().uuidString
        let (bridge, _, finished) = try Self.slowTick(h, marker: marker, alone: true)
        kill(bridge.processIdentifier, SIGTERM)
        bridge.waitUntilExit()
        #expect(bridge.terminationStatus == 128 + SIGTERM)
        #expect(Harness.noneLeft(carrying: marker))
        #expect(Sys.kind(finished) == .missing)
        #expect(try h.notices().first { $0.notice_kind == .finding }?.state_reason == "outcome_unknown")
    }

    @Test func aStageWhoseTickIsKilledStopsToo() throws {
        let h = try Harness()
        let marker = "rgov-orphan-" + UUID().uuidString
        let (tick, _, finished) = try Self.slowTick(h, marker: marker)
        kill(tick.processIdentifier, SIGKILL)
        tick.waitUntilExit()
        // The bridge got SIGTERM from the kernel (PR_SET_PDEATHSIG) and stops its sender: wait for that effect.
        #expect(Harness.noneLeft(carrying: marker), "the stage did not go on alone")
        #expect(Sys.kind(finished) == .missing)
        let notice = try #require(try h.notices().first { $0.notice_kind == .finding })
        #expect(notice.state_reason == "outcome_unknown")
    }

    // MARK: doctor

    static func checks(_ run: Harness.Run) -> [String: String] {
        var out: [String: String] = [:]
        for check in run.json?["checks"]?.array ?? [] {
            if case .string(let name)? = check["check"], case .string(let status)? = check["status"] {
                out[name] = out[name] == "fail" ? "fail" : status
            }
        }
        return out
    }

    @Test func doctorPassesOnAHealthyDeploymentAndNamesEachBrokenPrecondition() throws {
        let h = try Harness()
        try h.importExamples()
        #expect(try h.tick(profile: Harness.teamTrial).status == 0)
        let crontab = h.dir + "/crontab"
        #expect(
            try h.run(
                "rgov", ["cron", "install", "--profile", Harness.teamTrial, "--crontab-file", crontab], pinned: false
            ).status == 0)
        // The doctor judges the profile in force: another one named fails, naming the active one.
        let other = try h.run(
            "rgov", ["doctor", "--profile", "standard-team-mode", "--crontab-file", crontab, "--json"])
        #expect(other.status == 1 && Self.checks(other)["profile"] == "fail", "\(other.stdout)")
        #expect(other.stdout.contains("runs its active profile standard-team-trial@1.0.0"), "\(other.stdout)")
        // The shipped team profile sends with openclaw, which is not installed here: the doctor says so.
        let team = try Harness()
        #expect(try team.run("rgov", ["init", "--profile", "standard-team-mode"]).status == 0)
        let noOpenclaw = try team.run("rgov", ["doctor", "--json"], env: ["PATH": "/usr/bin:/bin"])
        #expect(noOpenclaw.status == 1 && Self.checks(noOpenclaw)["sender"] == "fail")
        #expect(noOpenclaw.stdout.contains("install openclaw"))
        let healthy = try h.run(
            "rgov",
            [
                "doctor", "--profile", Harness.teamTrial, "--crontab-file", crontab, "--json",
                "--now", "2026-11-20T12:03:00Z",
            ])
        #expect(healthy.status == 0, "\(healthy.stdout)")
        #expect(Self.checks(healthy).values.allSatisfy { $0 == "ok" }, "\(healthy.stdout)")

        // Stale: three days without a watchdog run.
        let stale = try h.run("rgov", ["doctor", "--crontab-file", crontab, "--json", "--now", "2026-11-23T12:00:00Z"])
        #expect(stale.status == 1 && Self.checks(stale)["last tick"] == "fail")
        let status = try h.run("rgov", ["status", "--now", "2026-11-23T12:00:00Z"])
        #expect(status.status == 0 && status.stdout.contains("STALE"))
        let statusJSON = try h.run("rgov", ["status", "--json", "--now", "2026-11-23T12:00:00Z"])
        #expect(statusJSON.json?["stale"] == .bool(true))
        #expect(try h.run("rgov", ["status", "--json"]).json?["stale"] == .bool(false))

        // An invalid profile, on a state that has none in force yet.
        let fresh = try Harness()
        let invalid = try h.profile(named: "typo", replacing: [("  adapters:\n", "  adapterz: {}\n  adapters:\n")])
        let badProfile = try fresh.run("rgov", ["doctor", "--profile", invalid, "--json"])
        #expect(badProfile.status == 1 && Self.checks(badProfile)["profile"] == "fail")
        #expect(badProfile.stdout.contains("rgov validate --explain"))

        // A sender program that is not there.
        let missing = try SenderTests.profile(
            h, "missing", sender: "      mode: command\n      binding:\n        command: [/nonexistent/notify]\n")
        let noSender = try fresh.run("rgov", ["doctor", "--profile", missing, "--json"])
        #expect(noSender.status == 1 && Self.checks(noSender)["sender"] == "fail")
        #expect(noSender.stdout.contains("/nonexistent/notify"))

        // No state folder.
        let noState = try h.run("rgov", ["doctor", "--state", h.dir + "/nowhere", "--json"])
        #expect(noState.status == 1 && Self.checks(noState)["state folder"] == "fail")
        #expect(Sys.kind(h.dir + "/nowhere") == .missing, "doctor creates nothing")

        // No data folder: the binary alone, outside any tree or install.
        let lone = h.dir + "/lone/bin"
        try Sys.makeDirectory(lone)
        try DurableFile.write(try Sys.readFile(Harness.bin + "/rgov", limit: 1 << 30), to: lone + "/rgov")
        chmod(lone + "/rgov", 0o755)
        let noData = try Self.run(lone + "/rgov", ["doctor", "--state", h.state, "--json"])
        let noDataRun = Harness.Run(status: noData.status, stdout: noData.stdoutText, stderr: noData.stderrText)
        #expect(noData.status == 1 && Self.checks(noDataRun)["data folder"] == "fail", "\(noData.stdoutText)")
        #expect(noData.stdoutText.contains("scripts/install"))
    }

    @Test(
        .enabled(
            if: Sys.kind("/usr/sbin/runuser") == .regular && Harness.canRunAsNobody,
            "needs root, runuser, the nobody user and a temporary folder every user can enter"))
    func doctorFailsOnAStateFolderTheUserCannotWrite() throws {
        let h = try Harness(reachable: true)
        try h.layout.prepare()
        // Root ignores modes, so run the doctor as an unprivileged user; the folder is root's (0700).
        chmod(h.dir, 0o755)
        let doctor = try Self.run(
            "/usr/sbin/runuser",
            ["-u", "nobody", "--", h.binaries + "/rgov", "doctor", "--state", h.state, "--json"],
            env: ["PATH": "/usr/bin:/bin"])
        let run = Harness.Run(status: doctor.status, stdout: doctor.stdoutText, stderr: doctor.stderrText)
        #expect(doctor.status == 1, "\(doctor.stdoutText)\(doctor.stderrText)")
        #expect(Self.checks(run)["writable"] == "fail" && Self.checks(run)["owner"] == "fail", "\(doctor.stdoutText)")
    }

    // MARK: small truths and the environment contract

    @Test func validateWritesNothing() throws {
        let h = try Harness()
        let empty = h.dir + "/empty"
        try Sys.makeDirectory(empty)
        let r = try Self.run("/bin/sh", ["-c", "cd '\(empty)' && exec '\(Harness.bin)/rgov' validate"])
        #expect(r.status == 0, "\(r.stderrText)")
        #expect(r.stdoutText.contains("will be created"))
        #expect(try Sys.listDirectory(empty).isEmpty)
    }

    @Test func theTickSummaryLinesCarryTheTimeAndTheRunID() throws {
        let h = try Harness()
        try h.importExamples()
        let r = try h.run("rgov", ["tick"])
        #expect(r.status == 0)
        let lines = r.stdout.split(separator: "\n")
        let runID = try #require(lines.first?.split(separator: " ").dropFirst().first)
        #expect(runID.hasPrefix("tick-"))
        for line in lines { #expect(line.hasPrefix("2026-11-20T12:00:00.000Z \(runID) "), "\(line)") }
        #expect(r.stdout.contains("operator-notify-bridge-receipts/2026-11-20/") && !r.stdout.contains("<day>"))
    }

    @Test(arguments: [
        ("RGOV_FAULT", "bridge.after_nothing"), ("RGOV_HOME", "/tmp"), ("RGOV_SENDER_BIN", "/nonexistent"),
        ("RGOV_STATE_DIR", "/etc/hostname"), ("RGOV_PROFILE", "../../etc/passwd "),
        ("RGOV_BINDINGS_FILE", "/nonexistent.yaml"), ("RGOV_DEFAULT_TARGET", ""), ("RGOV_LOG_FORMAT", "xml"),
    ])
    func aBadEnvironmentValueIsRefusedNamingTheVariable(name: String, value: String) throws {
        let h = try Harness()
        for executable in ["rgov-watchdog", "rgov-bridge"] {
            let r = try h.run(executable, [], env: [name: value])
            #expect(r.status == 78 && r.stderr.contains(name), "\(executable) \(name): \(r.status) \(r.stderr)")
        }
        let tick = try h.run("rgov", ["tick"], env: [name: value])
        #expect(tick.status == 78 && tick.stderr.contains(name))
        #expect(try Sys.listDirectory(h.state).isEmpty, "refused before anything acted")
    }

    /// A profile written for another package version is refused before anything runs (#31).
    @Test(arguments: ["9.9.9", "1.0.0", "0.2.0", "latest"])
    func aProfileForAnotherPackageVersionIsRefused(version: String) throws {
        let h = try Harness()
        let shipped = try String(
            contentsOfFile: Harness.repoRoot + "/profiles/standard-team-mode.yaml", encoding: .utf8)
        #expect(shipped.contains("pluginVersion: 0.1.0"))
        let file = h.dir + "/other-version.yaml"
        try shipped.replacingOccurrences(of: "pluginVersion: 0.1.0", with: "pluginVersion: \(version)")
            .write(toFile: file, atomically: true, encoding: .utf8)
        for arguments in [["validate", "--profile", file], ["init", "--profile", file]] {
            let r = try h.run("rgov", arguments)
            #expect(r.status == 78, "\(arguments): \(r.status) \(r.stderr)")
            #expect(r.stderr.contains(version) && r.stderr.contains("0.0.0 through 0.1.0"), "\(r.stderr)")
            #expect(r.stderr.contains("other-version.yaml:"), "names the file and line: \(r.stderr)")
        }
        #expect(Sys.kind(h.layout.activeProfile) == .missing, "init put no profile in force")
        let older = h.dir + "/older.yaml"
        try shipped.replacingOccurrences(of: "pluginVersion: 0.1.0", with: "pluginVersion: 0.0.9")
            .write(toFile: older, atomically: true, encoding: .utf8)
        #expect(try h.run("rgov", ["validate", "--profile", older]).status == 0, "an older 0.x profile runs")
    }

    @Test func anUnknownRgovVariableIsNamedWithItsLikelySpelling() throws {
        let h = try Harness()
        let r = try h.run("rgov", ["validate"], env: ["RGOV_PROFLE": "strict-manager-mode"])
        #expect(r.status == 0 && r.stderr.contains("RGOV_PROFLE") && r.stderr.contains("did you mean RGOV_PROFILE"))
    }

    /// Every first capture of `pattern` in the package's Swift sources.
    static func sourceMatches(_ pattern: String) throws -> Set<String> {
        var named: Set<String> = []
        let regex = try NSRegularExpression(pattern: pattern)
        let enumerator = FileManager.default.enumerator(atPath: Harness.repoRoot + "/Sources")
        while let relative = enumerator?.nextObject() as? String {
            guard relative.hasSuffix(".swift") else { continue }
            let text = String(decoding: try Sys.readFile(Harness.repoRoot + "/Sources/" + relative), as: UTF8.self)
            for match in regex.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                if let range = Range(match.range(at: 1), in: text) { named.insert(String(text[range])) }
            }
        }
        return named
    }

    @Test func theReadmeTableIsTheContractAndTheContractCoversTheSources() throws {
        let readme = String(decoding: try Sys.readFile(Harness.repoRoot + "/README.md"), as: UTF8.self)
        #expect(readme.contains(EnvironmentContract.markdownTable()), "regenerate the README's environment table")
        for name in try Self.sourceMatches(#""(RGOV_[A-Z_]+)""#).sorted() where name != "RGOV_BINDING_" {
            #expect(EnvironmentContract.variable(named: name) != nil, "\(name) is read but not in the contract")
        }
    }

    /// Support -> Storage -> Artifacts -> Delivery -> Policy/Profiles/Sending ->
    /// Ingestion/Stages/Operations/Audit -> CLI, no cycles: `scripts/layers` fails on a use that
    /// goes up or closes a cycle (and is shown to, on a copy of the sources with one added).
    @Test func layersGoOneWay() throws {
        func layers(_ root: String) throws -> ChildResult {
            try ChildProcess.run(
                ChildSpec(executable: "/usr/bin/env", arguments: ["python3", root + "/scripts/layers"], deadline: 60))
        }
        let run = try layers(Harness.repoRoot)
        #expect(run.status == 0, "\(run.stdoutText)")
        let copy = try Harness().dir + "/repo"
        for folder in ["scripts", "Sources/GovernanceCore"] {
            try FileManager.default.createDirectory(
                atPath: copy + "/" + (folder as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: Harness.repoRoot + "/" + folder, toPath: copy + "/" + folder)
        }
        try DurableFile.write(
            Data(
                "func upward() -> StageLock? { _ = Bridge.stage; return nil }\nfunc prunes(_ desk: Any) { desk.prune(dryRun: true) }\n"
                    .utf8),
            to: copy + "/Sources/GovernanceCore/Storage/Upward.swift")
        let broken = try layers(copy)
        #expect(broken.status == 1 && broken.stdoutText.contains("Storage -> Stages goes up a layer: Bridge"))
        #expect(broken.stdoutText.contains("Storage -> Audit goes up a layer: prune(dryRun:)"), "an extension's member")
    }

    @Test func everyFaultPointInTheSourcesIsKnown() throws {
        let named = try Self.sourceMatches(#"(?:FaultInjection|writes)\.point\("([^"]+)"\)"#)
        #expect(named.union(Transaction.faultPoints) == FaultInjection.points)
    }
}
