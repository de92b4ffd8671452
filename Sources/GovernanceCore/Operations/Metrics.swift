import Foundation

/// `STATE/metrics/rgov.prom`: rgov's state in the Prometheus text format, rewritten whole after
/// every stage (temporary file and rename, so node_exporter's textfile collector never reads half
/// a file).
///
/// Counters live in `metrics/counters.json` and only grow; gauges are recomputed from the state
/// each time, or carried from the stage that can see them (missions, approvals: the watchdog).
public struct MetricsState: Codable, Sendable, Equatable {
    public var schema = "rgov.metrics-state/v1"
    /// Episodes opened, by rule: each condition once, however many runs see it hold.
    public var findings_total: [String: Double] = [:]
    /// Open episodes by rule, as of the last watchdog run (a gauge; absent in older files).
    public var open_episodes: [String: Double]?
    /// Keyed by `LabelSet.sendAttempts`: every send outcome the bridge recorded, a sender run or not.
    public var send_attempts_total: [String: Double] = [:]
    public var outcome_unknown_total: Double = 0
    public var stage_failures_total: [String: Double] = [:]
    public var stage_duration_seconds: [String: Double] = [:]
    public var stage_last_success_timestamp_seconds: [String: Double] = [:]
    /// Keyed by `LabelSet.missions`, as of the last watchdog run.
    public var missions: [String: Double] = [:]
    public var mission_feed_last_update_timestamp_seconds: Double?
    public var approval_backlog: Double = 0
    public var approval_oldest_age_seconds: Double = 0

    public init() {}
}

public enum Metrics {
    /// What a stage's run adds: applied to the counters under the metrics lock.
    public typealias Change = (inout MetricsState) -> Void

    /// Applies `change`, then rewrites `rgov.prom` from the counters and the state.
    public static func record(_ deployment: Deployment, now: Date, _ change: Change) throws {
        let layout = deployment.layout
        let countersPath = layout.metricsCounters
        try StageLock.exclusively(layout.lockFile("metrics")) {
            var state =
                (try? CanonicalJSON.decode(MetricsState.self, from: try Sys.readFile(countersPath, limit: 16 << 20)))
                ?? MetricsState()
            change(&state)
            // Status, rebuilt by every run: replaced whole, not made durable (a power cut may cost
            // the last run's increments, which Prometheus reads as a counter reset).
            DurableFile.sweepVolatile(in: layout.metrics)
            try DurableFile.replace(try CanonicalJSON.encodeFile(state), at: countersPath)
            try DurableFile.replace(
                Data(try render(state, deployment: deployment, now: now).utf8), at: path(layout),
                shared: MetricsAccess.prepare(deployment))
        }
    }

    public static func path(_ layout: StateLayout) -> String { layout.metricsFile }

    /// The exposition text: HELP and TYPE for every family, labels escaped.
    public static func render(_ state: MetricsState, deployment: Deployment, now: Date) throws -> String {
        var out = Exposition()
        out.family("rgov_build_info", "gauge", "The rgov build and the profile in force (always 1).")
        out.sample(
            "rgov_build_info",
            [
                ("version", PackageInfo.version), ("commit", PackageInfo.commit() ?? "unknown"),
                ("profile", deployment.profileReference),
            ], 1)
        renderMissions(state, rules: deployment.rules, into: &out)
        // Notices: under way by reason, finished counted by name (both from the history summary).
        let history = try NoticeHistory(layout: deployment.layout).summary()
        try renderNotices(history, layout: deployment.layout, into: &out)
        renderStages(state, into: &out)
        try renderWaiting(history, now: now, layout: deployment.layout, into: &out)
        renderSettings(state, deployment: deployment, into: &out)
        return out.text
    }

    /// Missions by status and type, and the conditions found and holding by rule.
    private static func renderMissions(_ state: MetricsState, rules: [RuleParameters], into out: inout Exposition) {
        out.family("rgov_missions", "gauge", "Missions by status and type, as of the last watchdog run.")
        out.samples("rgov_missions", state.missions, labelled: .missions)
        // Every rule in force has a sample from the start, so increase() sees its first condition.
        let inForce = Dictionary(rules.map { ($0.ruleID, 0.0) }) { a, _ in a }
        out.family(
            "rgov_findings_total", "counter",
            "Conditions the watchdog found, by rule: one per episode opened, however many runs see it hold "
                + "(reminders and escalations are not new conditions).")
        out.samples("rgov_findings_total", state.findings_total.merging(inForce) { a, _ in a }, label: "rule")
        out.family(
            "rgov_open_episodes", "gauge",
            "Conditions holding now (open episodes), by rule, as of the last watchdog run.")
        out.samples("rgov_open_episodes", (state.open_episodes ?? [:]).merging(inForce) { a, _ in a }, label: "rule")
    }

    /// Notices by delivery state and reason, and acked ones by evidence kind.
    private static func renderNotices(
        _ history: NoticeHistory.Summary, layout: StateLayout, into out: inout Exposition
    ) throws {
        let counts = try NoticeStore(layout: layout).counts(history: history)
        var byStateReason = history.waitingByStateReason.mapValues(Double.init)
        for state in DeliveryState.allCases where state.isFinal {
            byStateReason[LabelSet.notices.key(state.rawValue, ""), default: 0] += Double(counts[state] ?? 0)
        }
        out.family(
            "rgov_notices", "gauge",
            "Notices by delivery state and reason (final states are counted without reading them: reason empty).")
        out.samples("rgov_notices", byStateReason, labelled: .notices)
        let acks = history.acksByKind
        out.family(
            "rgov_acks", "gauge",
            "Acked notices by evidence kind: synthetic (a trial sender) apart from the human-visible kinds.")
        for kind in ["sender_ack", "operator_attestation", "external_ack", "synthetic"] {
            out.sample("rgov_acks", [("kind", kind)], Double(acks[kind] ?? 0))
        }
    }

    /// What the stages counted and last did: send outcomes, durations, successes, failures, approvals.
    private static func renderStages(_ state: MetricsState, into out: inout Exposition) {
        out.family(
            "rgov_send_attempts_total", "counter",
            "Send outcomes the bridge recorded, by sender mode and outcome (the receipt's reason): each sender run, and "
                + "each send decided without one (sender_unavailable: the program is not installed; lifetime_exhausted, "
                + "attempts_exhausted, sending_disabled_by_profile...).")
        out.samples("rgov_send_attempts_total", state.send_attempts_total, labelled: .sendAttempts)
        out.family("rgov_outcome_unknown_total", "counter", "Sends whose outcome could not be known (may have sent).")
        out.sample("rgov_outcome_unknown_total", [], state.outcome_unknown_total)
        out.family("rgov_stage_duration_seconds", "gauge", "How long each stage's last run took.")
        out.samples("rgov_stage_duration_seconds", state.stage_duration_seconds, label: "stage")
        out.family("rgov_stage_last_success_timestamp_seconds", "gauge", "When each stage last finished without error.")
        out.samples(
            "rgov_stage_last_success_timestamp_seconds", state.stage_last_success_timestamp_seconds, label: "stage")
        out.family("rgov_stage_failures_total", "counter", "Stage runs that ended with an error, by stage.")
        for stage in ["watchdog", "dispatcher", "bridge"] {
            out.sample("rgov_stage_failures_total", [("stage", stage)], state.stage_failures_total[stage] ?? 0)
        }
        out.family("rgov_approval_backlog", "gauge", "Proposed writebacks nobody has decided.")
        out.sample("rgov_approval_backlog", [], state.approval_backlog)
        out.family("rgov_approval_oldest_age_seconds", "gauge", "Age of the oldest undecided writeback.")
        out.sample("rgov_approval_oldest_age_seconds", [], state.approval_oldest_age_seconds)
    }

    /// What waits: the oldest notice not yet delivered in each state, and the quarantine.
    private static func renderWaiting(
        _ history: NoticeHistory.Summary, now: Date, layout: StateLayout, into out: inout Exposition
    ) throws {
        out.family(
            "rgov_oldest_pending_notice_age_seconds", "gauge", "Age of the oldest notice not yet delivered, by state.")
        for state in ["queued", "dispatched", "pending_external_send"] {
            out.sample(
                "rgov_oldest_pending_notice_age_seconds", [("state", state)],
                DeliveryState(rawValue: state).flatMap { history.oldestWaiting[$0] }.map {
                    max(0, Double(now.milliseconds(since: $0)) / 1000)
                } ?? 0)
        }
        out.family("rgov_quarantined_files", "gauge", "Entries in STATE/quarantine (never deleted).")
        out.sample(
            "rgov_quarantined_files", [],
            Double(try Sys.listDirectory(layout.quarantine).filter { !$0.hasPrefix(".") }.count))
    }

    /// When the colony feed last spoke, and the profile's intervals that alerts compare against.
    private static func renderSettings(_ state: MetricsState, deployment: Deployment, into out: inout Exposition) {
        if let fed = state.mission_feed_last_update_timestamp_seconds {
            out.family(
                "rgov_mission_feed_last_update_timestamp_seconds", "gauge",
                "The newest update any mission snapshot records: when the colony feed last spoke.")
            out.sample("rgov_mission_feed_last_update_timestamp_seconds", [], fed)
        }
        let profile = deployment.profile
        out.family(
            "rgov_watchdog_expected_interval_seconds", "gauge", "How often the profile expects the watchdog to run.")
        out.sample("rgov_watchdog_expected_interval_seconds", [], Double(profile.watchdogExpectedIntervalMs) / 1000)
        out.family(
            "rgov_escalation_window_seconds", "gauge",
            "How long a notice may wait unacked before it escalates (the profile's; 1 h where it has none).")
        out.sample("rgov_escalation_window_seconds", [], Double(profile.escalationWindowMs ?? 3_600_000) / 1000)
        let sla = deployment.rules.first { $0.ruleID == "writeback-approval/approval-pending" }.map {
            Double($0.integer("approval_sla_ms")) / 1000
        }
        out.family("rgov_approval_sla_seconds", "gauge", "How long a proposed writeback may wait for a decision.")
        out.sample("rgov_approval_sla_seconds", [], sla ?? 14_400)
    }

    /// The Prometheus text format, written by hand: families in order, label values escaped.
    struct Exposition {
        var text = ""

        mutating func family(_ name: String, _ type: String, _ help: String) {
            text += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
        }

        /// One sample per key of `values`, labelled `label`.
        mutating func samples(_ name: String, _ values: [String: Double], label: String) {
            for (key, value) in values.sorted(by: { $0.key < $1.key }) { sample(name, [(label, key)], value) }
        }

        /// One sample per key of `values`, each key holding the two label values of `set`.
        mutating func samples(_ name: String, _ values: [String: Double], labelled set: LabelSet) {
            for (key, value) in values.sorted(by: { $0.key < $1.key }) {
                let (first, second) = set.values(of: key)
                sample(name, [(set.labels.0, first), (set.labels.1, second)], value)
            }
        }

        mutating func sample(_ name: String, _ labels: [(String, String)], _ value: Double) {
            let rendered =
                labels.isEmpty
                ? "" : "{" + labels.map { "\($0.0)=\"\(Self.escape($0.1))\"" }.joined(separator: ",") + "}"
            let number = value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
            text += "\(name)\(rendered) \(number)\n"
        }

        static func escape(_ value: String) -> String {
            value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
                .replacingOccurrences(of: "\n", with: "\\n")
        }
    }
}
