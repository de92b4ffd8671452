import Foundation

/// `rgov tick`: the three stages in order, each as its own child process with a deadline.
public struct Tick {
    public struct StageRun: Encodable, Sendable {
        public var stage: String
        public var exit_status: Int32
        public var duration_ms: Int
        public var timed_out: Bool
        public var report: StageReport?
        public var stderr_tail: String?
        /// Why the stage was not started: nothing was waiting for it.
        public var skipped: String? = nil
    }

    /// What a stage printed last, read as its report's type, as `StageLockHeld`, or else as JSON.
    public struct StageReport: Encodable, Sendable {
        /// Tried in order; no report has every key another requires.
        static let types: [any (Codable & Sendable).Type] = [
            Watchdog.Report.self, Dispatcher.Report.self, Bridge.Report.self, StageLockHeld.self, JSONValue.self,
        ]
        public var value: any Encodable & Sendable
        public func encode(to encoder: Encoder) throws { try value.encode(to: encoder) }
    }

    public struct Report: Encodable, Sendable {
        public var schema = "rgov.tick/v1"
        /// `tick-<time>-<pid>`: every summary line starts with it, so one grep follows a tick.
        public var run_id: String
        /// When the tick started (the pinned clock when one is given).
        public var at: Date
        public var state_dir: String
        public var profile: String
        public var capability_descriptor: String
        public var capability_gaps: [String]
        public var missions_imported: Int?
        public var missions_skipped: Int?
        /// Of the imported snapshots, those already in the state byte for byte: not rewritten, so
        /// the watchdog's scan cache still knows them.
        public var missions_unchanged: Int?
        public var stages: [StageRun]
        public var notices_by_state: [String: Int]
        public var receipts_dir: String
        /// The stop signal that ended the tick early (`SIGTERM`, `SIGINT`, `SIGHUP`), if any.
        public var stopped_by: String?
        /// Notices, receipts and attempts that cannot be read: each fails the tick.
        public var unreadable: [UnreadableRecords.Entry] = []
        public var ok: Bool
    }

    public let deployment: Deployment
    public let runID: String
    /// The options passed through to every stage (`--state`, `--profile`, `--now`, `--capabilities`).
    public let passThrough: [String]
    public let binDirectory: String
    public var stageDeadline: Double = 600

    /// The watchdog's run without its process when it has nothing to do: its report, or nil when
    /// the watchdog must be started.
    public var quietWatchdog: (() -> Watchdog.Report?)? = nil

    public static let quietWatchdogReason =
        "no mission changed, nothing due: its scan cache answered, in the tick"

    /// Seconds a stage has, once the tick is asked to stop, before it is killed: longer than a
    /// sender's stop grace, so the bridge records its interrupted sends, and short enough that every
    /// process is gone within 5 seconds.
    public static let stageStopGrace = 3.5

    public func run(importingFrom missionsSource: String?) throws -> Report {
        let started = deployment.clock.now()
        let imports = try missionsSource.map { try importMissions(from: $0) }
        var runs: [StageRun] = []
        var ok = true
        var environment = ProcessInfo.processInfo.environment
        environment[Shutdown.parentVariable] = String(Sys.processID())
        // Each stage's run id names this tick as its parent (logs, run artifacts).
        environment[Log.parentRunVariable] = runID
        // A stage's stderr is kept in the tick's report: never with a secret in it.
        let redactor = Redactor(environment: environment, extra: deployment.binding.secretValues)
        for stage in Stage.allCases {
            if Shutdown.requested != nil { break }
            guard let run = try start(stage, environment: environment, redactor: redactor) else { break }
            runs.append(run)
            if run.exit_status != 0 { ok = false }
        }
        let stoppedBy = Shutdown.requested.map(Shutdown.name(of:))
        // What no stage reads (finished notices, receipts, filed attempts) is looked at here.
        let records = UnreadableRecords(layout: deployment.layout)
        let unreadable = try records.find()
        for entry in unreadable {
            Log.error(
                "rgov", "unreadable \(entry.kind) \(entry.path): \(entry.reason)",
                ["event": .string("unreadable_record")])
        }
        let counts = records.readable(try NoticeStore(layout: deployment.layout).counts(), less: unreadable)
        return Report(
            run_id: runID, at: started, state_dir: deployment.layout.root, profile: deployment.profileReference,
            capability_descriptor: deployment.descriptorReference, capability_gaps: deployment.capabilityGaps,
            missions_imported: imports?.imported, missions_skipped: imports?.skipped,
            missions_unchanged: imports?.unchanged, stages: runs,
            notices_by_state: Dictionary(uniqueKeysWithValues: counts.map { ($0.key.rawValue, $0.value) }),
            receipts_dir: deployment.layout.receipts, stopped_by: stoppedBy, unreadable: unreadable,
            ok: ok && stoppedBy == nil && unreadable.isEmpty)
    }

    /// One stage's run: answered by the watchdog's scan cache, skipped, or a child process.
    ///
    /// Skipped when it has nothing to do; nil when the tick was stopped before the child started.
    private func start(_ stage: Stage, environment: [String: String], redactor: Redactor) throws -> StageRun? {
        let began = Sys.monotonicSeconds()
        if stage == .watchdog, let report = quietWatchdog?() {
            Log.info(
                "rgov", "\(stage.executable) not started: \(Self.quietWatchdogReason)",
                ["event": .string("stage_skipped")])
            return StageRun(
                stage: stage.rawValue, exit_status: 0,
                duration_ms: Int(((Sys.monotonicSeconds() - began) * 1000).rounded()), timed_out: false,
                report: StageReport(value: report), stderr_tail: nil, skipped: Self.quietWatchdogReason)
        }
        if let idle = try nothingFor(stage) {
            Log.info("rgov", "\(stage.executable) not started: \(idle)", ["event": .string("stage_skipped")])
            return StageRun(
                stage: stage.rawValue, exit_status: 0, duration_ms: 0, timed_out: false, report: nil, stderr_tail: nil,
                skipped: idle)
        }
        let child: ChildResult
        do {
            var spec = ChildSpec(
                executable: PackageLayout.executable("rgov-" + stage.rawValue, in: binDirectory),
                arguments: passThrough + ["--json"],
                environment: environment, deadline: stageDeadline, killGrace: 5, stderrLimit: 4096,
                stopGrace: Self.stageStopGrace)
            spec.forwardStderr = true
            child = try ChildProcess.run(spec)
        } catch let error as SystemCallError where error.errno == ECANCELED {
            return nil
        }
        let report = child.stdoutText.split(separator: "\n").last.flatMap { line in
            StageReport.types.lazy.compactMap { try? CanonicalJSON.decode($0, from: Data(line.utf8)) }.first
        }.map(StageReport.init)
        Log.info(
            "rgov", "\(stage.executable) exited \(child.status)",
            [
                "event": .string("stage_exited"), "exit_code": .number(Double(child.status)),
                "duration_ms": .number((child.durationSeconds * 1000).rounded()),
            ])
        return StageRun(
            stage: stage.rawValue, exit_status: child.status,
            duration_ms: Int((child.durationSeconds * 1000).rounded()),
            timed_out: child.timedOut, report: report,
            stderr_tail: child.stderrTail.isEmpty ? nil : redactor.redact(child.stderrText))
    }

    /// Why `stage` has nothing to do now; nil when it must run.
    ///
    /// Decided from listings of the folders it would work on. The watchdog is not decided here: its
    /// rules are judged against the clock, so only its own scan cache can say (`quietWatchdog`).
    func nothingFor(_ stage: Stage) throws -> String? {
        let layout = deployment.layout
        switch stage {
        case .watchdog:
            return nil
        case .dispatcher:
            return try layout.artifactNames(in: layout.notices(.queued)).isEmpty ? "nothing queued" : nil
        case .bridge:
            let now = deployment.clock.now()
            let store = NoticeStore(layout: layout)
            guard try layout.artifactNames(in: layout.notices(.dispatched)).isEmpty,
                try layout.artifactNames(in: layout.inflightAttempts).isEmpty,
                try layout.artifactNames(in: layout.bridgeAcks).isEmpty,
                try layout.files(in: layout.deferredNotices).allSatisfy({
                    (try? store.read($0)).map { !$0.isDueForRetry(at: now) } ?? false
                })
            else { return nil }
            return "nothing dispatched, in flight, acked late or due for a retry"
        }
    }

    /// Copies mission snapshots from `folder` into the state's `missions/`, as the colony runtime
    /// would: each file published atomically, names validated before they become paths.
    ///
    /// A snapshot already in the state byte for byte is left alone. A file that cannot be taken in
    /// (a FIFO, too large, a bad name) is skipped with a warning and a quarantine record, never the
    /// end of the tick.
    func importMissions(from folder: String) throws -> (imported: Int, skipped: Int, unchanged: Int) {
        guard Sys.isDirectory(folder) else { throw RgovError(.noInput, "--missions-from \(folder): not a directory") }
        try deployment.layout.prepare()
        var imported = 0
        var skipped = 0
        var unchanged = 0
        for name in try deployment.layout.artifactNames(in: folder) {
            let path = deployment.layout.file(name, in: folder)
            do {
                let id = StateLayout.artifactID(name)
                guard Identifier.isValid(id) else { throw RgovError.data("file name is not a valid mission id") }
                let bytes = try MissionStore.bytes(path)
                let target = deployment.layout.mission(id)
                if Sys.kind(target) == .regular, (try? MissionStore.bytes(target)) == bytes {
                    unchanged += 1
                } else {
                    try DurableFile.write(bytes, to: target)
                }
                imported += 1
            } catch {
                skipped += 1
                Log.info("rgov", "warning: skipped \(path): \(error)")
                try Quarantine(layout: deployment.layout).note(
                    path, reason: "not imported: \(error)", stage: "tick", at: deployment.clock.now())
            }
        }
        return (imported, skipped, unchanged)
    }

    /// The summary a person (or cron's log) reads: every line starts with the time and the run id.
    public static func describe(_ r: Report) -> String {
        var lines = ["rgov tick: state \(r.state_dir), profile \(r.profile), runtime \(r.capability_descriptor)"]
        if let n = r.missions_imported {
            let skipped = r.missions_skipped ?? 0
            lines.append(
                "  imported \(n) mission snapshots"
                    + ((r.missions_unchanged ?? 0) > 0 ? " (\(r.missions_unchanged ?? 0) unchanged)" : "")
                    + (skipped > 0 ? "; SKIPPED \(skipped) that could not be read (rgov quarantine ls)" : ""))
        }
        for gap in r.capability_gaps { lines.append("  capability gap \(gap): \(Capability.explain(gap))") }
        for run in r.stages {
            var line = "  \(run.stage): exit \(run.exit_status) in \(run.duration_ms) ms"
            if let skipped = run.skipped { line += ", not started (\(skipped))" }
            if run.timed_out { line += " (deadline passed)" }
            switch run.report?.value {
            case let r as Watchdog.Report:
                line += "; scanned \(r.scanned), findings \(r.findings), new notices \(r.notices_created.count)"
                if !r.quarantined.isEmpty { line += ", quarantined \(r.quarantined.count)" }
            case let r as Dispatcher.Report: line += "; dispatched \(r.dispatched.count)"
            case let r as Bridge.Report: line += "; concluded \(r.outcomes.count), recovered \(r.recovered.count)"
            case let held as StageLockHeld: line += "; skipped (\(held.skipped))"
            default: break
            }
            lines.append(line)
            if run.exit_status != 0, let tail = run.stderr_tail {
                for line in tail.split(separator: "\n") { lines.append("    " + line) }
            }
        }
        let states = DeliveryState.allCases.map { "\($0.rawValue) \(r.notices_by_state[$0.rawValue] ?? 0)" }
        lines.append("  notices: " + states.joined(separator: ", "))
        lines.append("  receipts: \(r.receipts_dir)/\(Timestamp.day(r.at))/ (one folder per day)")
        lines += UnreadableRecords.describe(r.unreadable).map { "  " + $0 }
        if let signal = r.stopped_by {
            lines.append("  STOPPED by \(signal): the stages left stopped at a safe point; the next tick goes on")
        } else {
            let stageFailed = r.stages.contains { $0.exit_status != 0 }
            lines.append(
                r.ok
                    ? "  ok"
                    : "  FAILED: "
                        + [
                            stageFailed ? "a stage exited non-zero" : nil,
                            r.unreadable.isEmpty
                                ? nil
                                : "\(r.unreadable.count) records cannot be read (rgov check-state names them all)",
                        ].compactMap { $0 }.joined(separator: "; "))
        }
        let prefix = Timestamp.format(r.at) + " " + r.run_id + " "
        return lines.map { prefix + $0 }.joined(separator: "\n")
    }
}
