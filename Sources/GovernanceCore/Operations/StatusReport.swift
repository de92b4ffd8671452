import Foundation

/// What `rgov status` shows: counts and health, from directory listings and the last run artifact.
public struct StatusReport: Codable, Sendable {
    public var state_dir: String
    /// Where the state runs: `local`, `staging` or `production` (`rgov init --environment`).
    public var environment: StateEnvironment
    public var notices_by_state: [String: Int]
    /// Acked notices by evidence kind; `synthetic` ones were "acked" by a trial sender, not seen.
    public var acks_by_kind: [String: Int]
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
    public var stage_runs: [StageLastRun]
    public var capability_gaps: [String]
    /// The runbook sections (`docs/runbooks.md#...`) for the conditions that hold now.
    public var runbooks: [String]
    /// Notices, receipts and attempts that cannot be read (a notice among them is counted here, in
    /// no state).
    public var unreadable: [UnreadableRecords.Entry]

    /// Everything `rgov status` shows; `recount` rebuilds the finished-notice counts from the
    /// day folders instead of their cached summaries.
    public static func gather(layout: StateLayout, now: Date, approvalBacklog: Int, recount: Bool = false) throws
        -> StatusReport
    {
        if recount { _ = try NoticeHistory(layout: layout).summary(recount: true) }
        let records = UnreadableRecords(layout: layout)
        let unreadable = try records.find()
        let store = NoticeStore(layout: layout)
        let counts = records.readable(try store.counts(), less: unreadable)
        let last = Watchdog.latestRun(layout)
        let stale = Watchdog.staleness(of: last, now: now) != nil
        let queues = [DeliveryState.queued, .dispatched, .pending_external_send].map { layout.notices($0) }
        let waiting = try (queues + [layout.deferredNotices]).flatMap { try layout.files(in: $0) }
        let oldest = waiting.compactMap { try? store.read($0).created_at }.min()
        let holders = try layout.lockNames().reduce(into: [String: String]()) { holders, name in
            holders[name] = StageLock.currentHolder(layout.lockFile(name))
        }
        return StatusReport(
            state_dir: layout.root, environment: StateInit.record(layout)?.environment ?? .local,
            notices_by_state: Dictionary(uniqueKeysWithValues: counts.map { ($0.key.rawValue, $0.value) }),
            acks_by_kind: try store.ackKinds(),
            quarantined: try Sys.listDirectory(layout.quarantine).filter { !$0.hasPrefix(".") }.count,
            open_episodes: try layout.artifactNames(in: layout.openEpisodes).count,
            inflight_attempts: try layout.artifactNames(in: layout.inflightAttempts).count, last_watchdog_run: last,
            stale: stale, last_watchdog_run_age_ms: last.map { now.milliseconds(since: $0.started_at) },
            lock_holders: holders, oldest_pending_age_ms: oldest.map { now.milliseconds(since: $0) },
            approval_backlog: approvalBacklog,
            stage_runs: try Stage.allCases.compactMap { kind in
                try Sys.unlessRefused { try Sys.readFile(layout.lastRunRecord(kind.rawValue)) }.flatMap {
                    try? CanonicalJSON.decode(StageLastRun.self, from: $0)
                }
            }, capability_gaps: last?.capability_gaps ?? [],
            runbooks: try runbooks(layout: layout, stale: stale, approvalBacklog: approvalBacklog),
            unreadable: unreadable)
    }

    /// Which runbook sections apply: a stopped schedule, quarantined files, waiting approvals,
    /// sends waiting to be retried or of unknown outcome, and stuck missions.
    static func runbooks(layout: StateLayout, stale: Bool, approvalBacklog: Int) throws -> [String] {
        let base = "docs/runbooks.md#"
        var sections: [String] = []
        if stale { sections.append(base + "colony-service-unavailable") }
        let store = NoticeStore(layout: layout)
        let waiting = try layout.artifactNames(in: layout.deferredNotices).count
        let unknown = try layout.files(in: layout.notices(.pending_external_send)).contains {
            (try? store.read($0))?.state_reason == DeliveryReason.outcome_unknown.rawValue
        }
        // An outage the bridge recorded (`ProviderOutage`) points there too, while it is open.
        let outage = try? Sys.readFile(layout.providerOutage, limit: 1 << 20)
        let outageOpen = outage.flatMap { try? CanonicalJSON.decode(ProviderOutageRecord.self, from: $0) }?.open != nil
        if waiting > 0 || unknown || outageOpen { sections.append(base + "provider-sender-outage") }
        if try Sys.listDirectory(layout.quarantine).contains(where: { !$0.hasPrefix(".") }) {
            sections.append(base + "malformed-contract-payload")
        }
        if approvalBacklog > 0 { sections.append(base + "approval-queue-backlog") }
        let stuck = try layout.files(in: layout.openEpisodes).contains { path in
            guard let data = try? Sys.readFile(path, limit: 1 << 20),
                let episode = try? CanonicalJSON.decode(Episode.self, from: data)
            else { return false }
            return episode.rule_id == "stuck-state/stage-timeout"
        }
        if stuck { sections.append(base + "stuck-mission") }
        return sections
    }

    public func describe() -> String {
        var lines = ["state \(state_dir) (environment \(environment.rawValue))"]
        for state in DeliveryState.allCases {
            var line =
                "  " + state.rawValue.padding(toLength: 22, withPad: " ", startingAt: 0)
                + String(notices_by_state[state.rawValue] ?? 0)
            let synthetic = acks_by_kind[AckEvidence.Kind.synthetic.rawValue] ?? 0
            if state == .acked && synthetic > 0 {
                line +=
                    "  (\(synthetic) synthetic: a trial sender's, not seen by anyone; "
                    + "\((notices_by_state[state.rawValue] ?? 0) - synthetic) human-visible)"
            }
            lines.append(line)
        }
        lines.append(
            "  open episodes: \(open_episodes), attempts in flight: \(inflight_attempts), quarantined: \(quarantined)")
        if !unreadable.isEmpty {
            let kinds = ["notice", "receipt", "attempt"].map { kind in
                "\(unreadable.filter { $0.kind == kind }.count) \(kind)s"
            }
            lines.append(
                "  WARNING: UNREADABLE: \(unreadable.count) (\(kinds.joined(separator: ", "))); "
                    + "rgov check-state --state \(state_dir) names every broken invariant")
            lines += UnreadableRecords.describe(unreadable).map { "    " + $0 }
        }
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
        lines += stage_runs.map { run in
            "  \(run.stage): last run \(Timestamp.format(run.at)), exit \(run.exit_status) in \(run.duration_ms) ms"
                + (run.error.map { " (" + TerminalText.field($0) + ")" } ?? "")
        }
        lines += capability_gaps.map { "  capability gap \($0): \(Capability.explain($0))" }
        lines += runbooks.map { "  runbook: \($0)" }
        for (lock, holder) in lock_holders.sorted(by: { $0.key < $1.key }) {
            lines.append("  lock \(TerminalText.field(lock)): held by \(TerminalText.field(holder))")
        }
        return lines.joined(separator: "\n")
    }
}
