import Foundation

/// The shared life of a stage executable: options, help, validation, lock, run, report, exit code.
///
/// Each `main.swift` under `Sources/` is one call to `StageCommand.main`.
public enum StageCommand {
    /// A stage executable's declaration: the shared deployment options and `--version`.
    public static func spec(_ kind: Stage) -> CommandSpec {
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

    public static func main(_ kind: Stage, arguments: [String] = Array(CommandLine.arguments.dropFirst())) -> Int32 {
        Shutdown.install()
        Shutdown.followParent()
        return CommandRunner.run(kind.executable) {
            let options = try spec(kind).parse(arguments)
            return spec(kind).answersHelpOrVersion(options) ? 0 : run(kind, options: options)
        }
    }

    static func run(_ kind: Stage, options: Options) -> Int32 {
        let started = Sys.monotonicSeconds()
        let clock = (try? options.clock()) ?? .system
        Log.configure(
            stage: kind.rawValue, runID: Log.newRunID(kind.runPrefix, at: clock.now()),
            format: (try? options.logFormat()) ?? nil, pinnedNow: clock.isPinned ? clock.now() : nil)
        var layout: StateLayout? = nil
        var deployed: Deployment? = nil
        var change: Metrics.Change = { _ in }
        func finish(_ proposed: Int32, _ proposedError: String?) -> Int32 {
            var status = proposed
            var error = proposedError
            if let signal = Shutdown.requested {
                // Stopped at a safe point: what was done is recorded, the rest waits for the next run.
                status = 128 + signal
                error = "stopped by \(Shutdown.name(of: signal))" + (proposedError.map { ": " + $0 } ?? "")
                Log.info(kind.executable, "stopped by \(Shutdown.name(of: signal)) at a safe point; exit \(status)")
            }
            let seconds = Sys.monotonicSeconds() - started
            record(
                kind, layout: layout, deployment: deployed, at: clock.now(), status: status, error: error,
                seconds: seconds, change: change)
            Log.info(
                kind.executable, "finished with exit \(status)",
                [
                    "event": .string("stage_finished"), "exit_code": .number(Double(status)),
                    "duration_ms": .number((seconds * 1000).rounded()),
                ])
            return status
        }
        do {
            try EnvironmentContract.enforce(kind.executable)
            _ = try options.logFormat()
            let deployment = try Deployment.inForce(options, run: kind.executable)
            try deployment.layout.prepare()
            layout = deployment.layout
            deployed = deployment
            try ProfileLifecycle(layout: deployment.layout, clock: deployment.clock).storeSnapshot(deployment.profile)
            let lockPath = deployment.layout.lockFile(kind.rawValue)
            let holder = "pid \(Sys.processID()) on \(Sys.hostName()) since \(Timestamp.format(Date()))"
            guard let lock = try StageLock.acquire(lockPath, holder: holder) else {
                let current = StageLock.currentHolder(lockPath) ?? "another run"
                Log.info(kind.executable, "another run holds \(lockPath) (\(current)); nothing to do")
                if options.json {
                    Sys.writeStandardOutput(CanonicalJSON.line(StageLockHeld(stage: kind.rawValue)) + "\n")
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
            (output, change) = try perform(kind, deployment, json: options.json)
            Sys.writeStandardOutput((options.json ? output : TerminalText.lines(output)) + "\n")
            return finish(0, nil)
        } catch {
            let (status, message) = CommandRunner.report(error, who: kind.executable)
            return finish(status, message)
        }
    }

    /// The stage's own work: what it prints and what it adds to the metrics.
    private static func perform(_ kind: Stage, _ deployment: Deployment, json: Bool) throws -> (String, Metrics.Change)
    {
        switch kind {
        case .watchdog:
            let report = try Watchdog(deployment: deployment).run()
            for id in report.notices_created {
                Log.info(kind.executable, "new notice", ["event": .string("notice_created"), "notice_id": .string(id)])
            }
            return (json ? CanonicalJSON.line(report) : Log.describe(report), metricsChange(report))
        case .dispatcher:
            let report = try Dispatcher(deployment: deployment).run()
            return (json ? CanonicalJSON.line(report) : Log.describe(report), { _ in })
        case .bridge:
            // Whatever a sender leaves running when it ends is re-parented here and ended.
            if !Containment.becomeSubreaper() {
                Log.info(kind.executable, "cannot become a child subreaper; a sender's orphans may outlive it")
            }
            defer { Containment.endOrphans() }
            let sender = Sys.environment("RGOV_SENDER_BIN") ?? PackageLayout.executable("rgov-sender")
            var environment = ProcessInfo.processInfo.environment
            environment[Shutdown.parentVariable] = nil
            let report = try Bridge(deployment: deployment, senderExecutable: sender, environment: environment)
                .run()
            for o in report.recovered + report.outcomes + report.late_acks {
                Log.info(
                    kind.executable, "\(o.state.rawValue) (\(o.reason))",
                    ["event": .string("send_concluded"), "notice_id": .string(o.notice_id)])
            }
            let mode = deployment.profile.senderMode.rawValue
            let acked = Metrics.acked(
                Metrics.ackedNotices(
                    (report.recovered + report.outcomes + report.late_acks).filter { $0.state == .acked }.map(
                        \.notice_id),
                    layout: deployment.layout))
            let sends = sendOutcomes(report, mode: mode, fallback: deployment.profile.fallbackMode?.rawValue)
            return (
                json ? CanonicalJSON.line(report) : Log.describe(report),
                { m in
                    sends(&m)
                    acked(&m)
                }
            )
        }
    }

    /// What a stage's run leaves for `rgov status` and the metrics, however it ended: its last-run
    /// record, its duration, its last success or one more failure, and what `change` adds.
    static func record(
        _ kind: Stage, layout: StateLayout?, deployment: Deployment?, at now: Date, status: Int32, error: String?,
        seconds: Double, change: Metrics.Change
    ) {
        if let layout, Sys.isDirectory(layout.metrics) {
            let record = StageLastRun(
                stage: kind.rawValue, at: now, exit_status: status, duration_ms: Int(seconds * 1000), error: error)
            try? DurableFile.replace(try CanonicalJSON.encodeFile(record), at: layout.lastRunRecord(kind.rawValue))
        }
        guard let deployment else { return }
        do {
            try Metrics.record(deployment, now: now) { m in
                change(&m)
                m.stage_duration_seconds[kind.rawValue] = (seconds * 1000).rounded() / 1000
                if status == 0 {
                    m.stage_last_success_timestamp_seconds[kind.rawValue] = now.timeIntervalSince1970.rounded()
                } else {
                    m.stage_failures_total[kind.rawValue, default: 0] += 1
                }
            }
        } catch {
            Log.error(kind.executable, "metrics not written: \(error)")
        }
    }

    /// What a bridge run adds to the metrics: every send outcome it recorded, by its reason.
    ///
    /// Whether a sender ran or the send was decided without one (`sender_unavailable` when the
    /// program is not installed, an exhausted lifetime, sending disabled). Late acks are not sends.
    static func sendOutcomes(_ report: Bridge.Report, mode: String, fallback: String? = nil) -> Metrics.Change {
        { m in
            for o in report.recovered + report.outcomes {
                // A send the fallback carried is counted under the fallback's mode.
                let sender = o.binding == .fallback ? fallback ?? mode : mode
                m.send_attempts_total[LabelSet.sendAttempts.key(sender, o.reason.rawValue), default: 0] += 1
                if o.reason == .outcome_unknown && o.attempted { m.outcome_unknown_total += 1 }
            }
        }
    }

    static func metricsChange(_ report: Watchdog.Report) -> Metrics.Change {
        { m in
            // Conditions, not sightings: a condition is counted when its episode opens.
            for (rule, n) in report.episodes_opened_by_rule { m.findings_total[rule, default: 0] += Double(n) }
            // A rule seen open before stays in the gauge at 0 when its last episode closes.
            m.open_episodes = (m.open_episodes ?? [:]).mapValues { _ in 0 }.merging(
                report.episodes_open_by_rule.mapValues(Double.init)
            ) { $1 }
            m.missions = report.missions_by_status_type.mapValues(Double.init)
            if let fed = report.mission_feed_last_update {
                m.mission_feed_last_update_timestamp_seconds = fed.timeIntervalSince1970.rounded()
            }
            m.approval_backlog = Double(report.approval_backlog)
            m.approval_oldest_age_seconds = Double(report.approval_oldest_waiting_ms ?? 0) / 1000
            // The operations figures: finished missions, escalations, blocks, times to resolve.
            for (tenant, counts) in report.missions_finished {
                for (key, n) in counts {
                    let (status, type) = LabelSet.missions.values(of: key)
                    m.countFinished(tenant: tenant, status: status, type: type, by: Double(n))
                }
            }
            m.missions_by_tenant = report.missions_by_tenant?.mapValues { $0.mapValues(Double.init) }
            m.escalations_total = (m.escalations_total ?? 0) + Double(report.escalations)
            for (rule, n) in report.policy_blocks_by_rule {
                m.policy_blocks_total = m.policy_blocks_total ?? [:]
                m.policy_blocks_total?[rule, default: 0] += Double(n)
            }
            for ms in report.episodes_resolved_after_ms {
                m.episode_resolve_seconds = m.episode_resolve_seconds ?? .init()
                m.episode_resolve_seconds?.observe(Double(ms) / 1000, bounds: Metrics.resolveBuckets)
            }
        }
    }

    /// The watchdog's run inside `rgov tick` when it has nothing to do (`Watchdog.quietRun`).
    ///
    /// Made under its lock and recorded as its own process would record it; nil when it must run
    /// as a process (something to judge, its lock held, its environment refused, a profile other than its last run's,
    /// any error: the process meets the same and reports it). It writes nothing before it knows.
    public static func quietWatchdog(_ deployment: Deployment, executable: String) -> Watchdog.Report? {
        let started = Sys.monotonicSeconds()
        let layout = deployment.layout
        guard EnvironmentContract.problems(in: ProcessInfo.processInfo.environment).refused.isEmpty,
            let lock = try? StageLock.acquire(
                layout.lockFile(Stage.watchdog.rawValue),
                holder: "rgov tick pid \(Sys.processID()) on \(Sys.hostName()) since \(Timestamp.format(Date()))")
        else { return nil }
        defer { withExtendedLifetime(lock) {} }
        // A run under another profile than the last run's has everything to judge (`quietRun`).
        guard let report = try? Watchdog(deployment: deployment).quietRun(executable: executable) else { return nil }
        record(
            .watchdog, layout: layout, deployment: deployment, at: deployment.clock.now(), status: 0, error: nil,
            seconds: Sys.monotonicSeconds() - started, change: metricsChange(report))
        return report
    }
}

/// What each stage's run prints for a person.
extension Log {
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
        if let outage = r.provider_outage?.open {
            lines.append(
                "  PROVIDER OUTAGE since \(Timestamp.format(outage.began_at)) (\(outage.cause)): escalations and "
                    + "delivery alerts go through the fallback; notice \(outage.notice_id)")
        }
        return lines.joined(separator: "\n")
    }
}
