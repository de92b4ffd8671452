import Foundation

/// The shared life of a stage executable: options, help, validation, lock, run, report, exit code.
///
/// Each `main.swift` under `Sources/` is one call to `StageCommand.main`.
public enum StageCommand {
    public enum Kind: String, Sendable, CaseIterable {
        case watchdog, dispatcher, bridge

        var executable: String { "rgov-" + rawValue }

        var summary: String {
            switch self {
            case .watchdog: return "evaluate colony missions in STATE/missions and write events, decisions and notices"
            case .dispatcher: return "hand queued notices to the dispatch spool (queued -> dispatched)"
            case .bridge:
                return
                    "run rgov-sender for dispatched notices and record receipts (-> acked | pending_external_send | blocked)"
            }
        }
    }

    /// A stage executable's declaration: the shared deployment options and `--version`.
    public static func spec(_ kind: Kind) -> CommandSpec {
        CommandSpec(
            kind.executable, summary: kind.summary,
            discussion: """
                One run, under a flock (an overlapping run exits 0 at once, saying who holds the lock). SIGTERM, SIGINT
                or SIGHUP stops it at its next safe point, forwarded to every sender it runs; it then exits 128 + the
                signal number.
                """,
            options: [OptionSpec("version", "print the version and the commit it was built from")],
            shared: SharedOption.deployment,
            exits: [
                (.dataError, "bad data"), (.cannotCreate, "state folder unusable"), (.ioError, "I/O error"),
                (.configuration, "configuration refused"),
            ],
            example: "\(kind.executable) --state /var/lib/rgov/state --json")
    }

    /// Runs one stage; returns the process exit status.
    public static func main(_ kind: Kind, arguments: [String] = Array(CommandLine.arguments.dropFirst())) -> Int32 {
        Shutdown.install()
        Shutdown.followParent()
        let options: Options
        do {
            options = try spec(kind).parse(arguments)
        } catch {
            return CommandRunner.report(error, who: kind.executable).status
        }
        if options.has("help") {
            Sys.writeStandardOutput(spec(kind).help + "\n")
            return 0
        }
        if options.has("version") {
            Sys.writeStandardOutput(PackageInfo.versionLine(kind.executable) + "\n")
            return 0
        }
        return run(kind, options: options)
    }

    /// The last run of a stage and how it ended, for `rgov status`.
    public struct LastRun: Codable, Sendable {
        public var schema = "rgov.stage-run/v1"
        public var stage: String
        public var at: Date
        public var exit_status: Int32
        public var duration_ms: Int
        public var error: String?
    }

    static func run(_ kind: Kind, options: Options) -> Int32 {
        let started = Sys.monotonicSeconds()
        var layout: StateLayout? = nil
        func finish(_ proposed: Int32, _ proposedError: String?) -> Int32 {
            var status = proposed
            var error = proposedError
            if let signal = Shutdown.requested {
                // Stopped at a safe point: what was done is recorded, the rest waits for the next run.
                status = 128 + signal
                error = "stopped by \(Shutdown.name(of: signal))" + (proposedError.map { ": " + $0 } ?? "")
                Log.info(kind.executable, "stopped by \(Shutdown.name(of: signal)) at a safe point; exit \(status)")
            }
            if let layout, Sys.isDirectory(layout.metrics) {
                let record = LastRun(
                    stage: kind.rawValue, at: (try? options.clock().now()) ?? Date(), exit_status: status,
                    duration_ms: Int((Sys.monotonicSeconds() - started) * 1000), error: error)
                try? DurableFile.write(
                    try CanonicalJSON.encodeFile(record), to: layout.metrics + "/\(kind.rawValue).last-run.json")
            }
            return status
        }
        do {
            try EnvironmentContract.enforce(kind.executable)
            let deployment = try Deployment.load(options)
            try deployment.layout.prepare()
            layout = deployment.layout
            try ProfileLifecycle(layout: deployment.layout, clock: deployment.clock).storeSnapshot(deployment.profile)
            let lockPath = deployment.layout.locks + "/" + kind.rawValue + ".lock"
            let holder = "pid \(Sys.processID()) on \(Sys.hostName()) since \(Timestamp.format(Date()))"
            guard let lock = try StageLock.acquire(lockPath, holder: holder) else {
                let current = StageLock.currentHolder(lockPath) ?? "another run"
                Log.info(kind.executable, "another run holds \(lockPath) (\(current)); nothing to do")
                if options.json {
                    Sys.writeStandardOutput(
                        CanonicalJSON.line(["stage": kind.rawValue, "skipped": "lock_held"]) + "\n")
                }
                return 0
            }
            defer { withExtendedLifetime(lock) {} }
            for gap in deployment.capabilityGaps {
                Log.info(
                    kind.executable,
                    "capability gap: profile uses \(gap), runtime \(deployment.descriptorReference) lacks it")
            }
            let output: String
            switch kind {
            case .watchdog:
                let report = try Watchdog(deployment: deployment).run()
                output = options.json ? CanonicalJSON.line(report) : Log.describe(report)
            case .dispatcher:
                let report = try Dispatcher(deployment: deployment).run()
                output = options.json ? CanonicalJSON.line(report) : Log.describe(report)
            case .bridge:
                let sender = Sys.environment("RGOV_SENDER_BIN") ?? siblingExecutable("rgov-sender")
                var environment = ProcessInfo.processInfo.environment
                environment[Shutdown.parentVariable] = nil
                let report = try Bridge(deployment: deployment, senderExecutable: sender, environment: environment)
                    .run()
                output = options.json ? CanonicalJSON.line(report) : Log.describe(report)
            }
            Sys.writeStandardOutput((options.json ? output : TerminalText.lines(output)) + "\n")
            return finish(0, nil)
        } catch {
            let (status, message) = CommandRunner.report(error, who: kind.executable)
            return finish(status, message)
        }
    }

    /// An executable installed beside the running one (how stages find each other).
    public static func siblingExecutable(_ name: String) -> String {
        ((Sys.executablePath() as NSString).deletingLastPathComponent as NSString).appendingPathComponent(name)
    }
}

/// Logs go to standard error, one line each, unbuffered.
public enum Log {
    public static func info(_ who: String, _ message: String) {
        Sys.writeStandardError("\(who): \(TerminalText.field(message, limit: 4000))\n")
    }
    public static func error(_ who: String, _ message: String) {
        Sys.writeStandardError("\(who): error: \(TerminalText.field(message, limit: 4000))\n")
    }

    static func describe(_ r: Watchdog.Report) -> String {
        var lines = [
            "watchdog: scanned \(r.scanned) missions, \(r.findings) findings, \(r.notices_created.count) new notices"
        ]
        if let late = r.late_by_ms, let previous = r.previous_run_at {
            lines.append(
                "  LATE: this run came \(DurationText.describe(ms: Int64(late))) later than expected "
                    + "(previous run \(Timestamp.format(previous)))")
        }
        if r.reminders > 0 || r.escalations > 0 {
            lines.append("  reminders: \(r.reminders), escalations: \(r.escalations)")
        }
        for (rule, n) in r.findings_by_rule.sorted(by: { $0.key < $1.key }) { lines.append("  \(rule): \(n)") }
        if r.episodes_resolved > 0 { lines.append("  resolved episodes: \(r.episodes_resolved)") }
        if !r.quarantined.isEmpty { lines.append("  quarantined: \(r.quarantined.joined(separator: ", "))") }
        lines.append("  run artifact: \(r.run_artifact)")
        return lines.joined(separator: "\n")
    }

    static func describe(_ r: Dispatcher.Report) -> String {
        if r.disabled { return "dispatcher: disabled by profile; queued notices stay queued" }
        var line = "dispatcher: \(r.dispatched.count) notices handed to the spool"
        if r.skipped_held > 0 { line += ", \(r.skipped_held) held" }
        if !r.quarantined.isEmpty { line += ", quarantined: \(r.quarantined.joined(separator: ", "))" }
        return line
    }

    static func describe(_ r: Bridge.Report) -> String {
        var lines = ["bridge: \(r.outcomes.count) sends concluded, \(r.recovered.count) interrupted attempts recovered"]
        for o in r.recovered + r.outcomes + r.late_acks {
            lines.append("  \(o.notice_id): \(o.state.rawValue) (\(o.reason))")
        }
        if !r.late_acks.isEmpty { lines.append("  acked by late evidence: \(r.late_acks.count)") }
        if r.skipped_held > 0 { lines.append("  held: \(r.skipped_held)") }
        if r.deferred_by_cap > 0 {
            lines.append("  deferred to the next tick (max_sends_per_tick): \(r.deferred_by_cap)")
        }
        if !r.quarantined.isEmpty { lines.append("  quarantined: \(r.quarantined.joined(separator: ", "))") }
        return lines.joined(separator: "\n")
    }
}
