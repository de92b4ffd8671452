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
    /// Missions that reached a terminal status, by tenant, each keyed by `LabelSet.missions`.
    ///
    /// The tenant is "" for a mission without one; each mission is counted once per terminal
    /// status it reached (the watchdog remembers which it counted). The fields from here on are
    /// absent in older files.
    public var missions_finished_total: [String: [String: Double]]?
    /// Missions by tenant, keyed by `LabelSet.missions`, as of the last watchdog run: only while
    /// the profile asks for a tenant label (`spec.metrics.tenant_label`).
    public var missions_by_tenant: [String: [String: Double]]?
    /// Escalation notices the watchdog created.
    public var escalations_total: Double?
    /// Episodes opened with a `block` decision, and completions refused inline, by rule.
    public var policy_blocks_total: [String: Double]?
    /// Activations and rollbacks in the profile history, as last counted (a counter: never less
    /// than before), and the history folder's modification time then (not read again while it holds).
    public var profile_activations_total: Double?
    public var profile_rollbacks_total: Double?
    public var profile_history_modified_ns: Int64?
    /// Notices acked, by evidence kind: seconds from the notice's creation to its ack.
    public var notice_ack_seconds: [String: Histogram]?
    /// Episodes resolved: seconds from opened to resolved.
    public var episode_resolve_seconds: Histogram?

    public init() {}

    /// Observations over fixed bounds (`Metrics.ackBuckets`, `Metrics.resolveBuckets`).
    public struct Histogram: Codable, Sendable, Equatable {
        /// Observations at or below each bound, keyed by the bound as `le` writes it.
        public var buckets: [String: Double] = [:]
        public var sum: Double = 0
        public var count: Double = 0

        public init() {}

        public mutating func observe(_ value: Double, bounds: [Double]) {
            for bound in bounds where value <= bound { buckets[Metrics.boundText(bound), default: 0] += 1 }
            sum += value
            count += 1
        }
    }

    /// Adds one to the missions finished with `status` and `type` for `tenant`.
    public mutating func countFinished(tenant: String, status: String, type: String, by n: Double = 1) {
        missions_finished_total = missions_finished_total ?? [:]
        missions_finished_total?[tenant, default: [:]][LabelSet.missions.key(status, type), default: 0] += n
    }
}

public enum Metrics {
    /// What a stage's run adds: applied to the counters under the metrics lock.
    public typealias Change = (inout MetricsState) -> Void

    /// The bounds of `rgov_notice_ack_seconds`, in seconds: a sender's ack within seconds, a
    /// person's within minutes to a day.
    public static let ackBuckets: [Double] = [1, 5, 30, 60, 300, 900, 1800, 3600, 7200, 14_400, 43_200, 86_400]
    /// The bounds of `rgov_episode_resolve_seconds`, in seconds: a minute to a week.
    public static let resolveBuckets: [Double] = [
        60, 300, 900, 1800, 3600, 7200, 14_400, 43_200, 86_400, 259_200, 604_800,
    ]

    /// A bound as the `le` label writes it.
    static func boundText(_ bound: Double) -> String {
        bound == bound.rounded() && abs(bound) < 1e15 ? String(Int64(bound)) : String(bound)
    }

    /// What acked notices add: the time from each one's creation to its ack (its evidence's time),
    /// by evidence kind, observed once per ack.
    public static func acked(_ notices: [Notice]) -> Change {
        let observed = notices.compactMap { notice -> (String, Double)? in
            guard notice.state == .acked, let evidence = notice.ack_evidence else { return nil }
            return (evidence.kind.rawValue, max(0, Double(evidence.at.milliseconds(since: notice.created_at)) / 1000))
        }
        return { m in
            for (kind, seconds) in observed {
                m.notice_ack_seconds = m.notice_ack_seconds ?? [:]
                m.notice_ack_seconds?[kind, default: MetricsState.Histogram()].observe(seconds, bounds: ackBuckets)
            }
        }
    }

    /// The notices acked among `ids` (those still found): what a stage's report names as acked.
    public static func ackedNotices(_ ids: [String], layout: StateLayout) -> [Notice] {
        let store = NoticeStore(layout: layout)
        return ids.compactMap { id in store.locate(id).flatMap { try? store.read($0) } }.filter { $0.state == .acked }
    }

    /// The profile history's activations and rollbacks, counted again only when its folder changed.
    static func countLifecycle(_ state: inout MetricsState, deployment: Deployment) {
        let folder = deployment.layout.profileHistory
        guard let modified = Sys.modifiedNanoseconds(folder),
            modified != state.profile_history_modified_ns || state.profile_activations_total == nil,
            let history = try? ProfileLifecycle(layout: deployment.layout, clock: deployment.clock).history()
        else { return }
        let activations = Double(history.filter { $0.action == .activate }.count)
        let rollbacks = Double(history.filter { $0.action == .rollback }.count)
        state.profile_activations_total = max(state.profile_activations_total ?? 0, activations)
        state.profile_rollbacks_total = max(state.profile_rollbacks_total ?? 0, rollbacks)
        // A folder changed within the window of coarse file times is read again next time.
        let racyAfter = Sys.fileSystemNanoseconds() - Sys.racyNanoseconds
        state.profile_history_modified_ns = modified < racyAfter ? modified : nil
    }

    /// Applies `change`, then rewrites `rgov.prom` from the counters and the state.
    public static func record(_ deployment: Deployment, now: Date, _ change: Change) throws {
        let layout = deployment.layout
        let countersPath = layout.metricsCounters
        try StageLock.exclusively(layout.lockFile("metrics")) {
            var state =
                (try? CanonicalJSON.decode(MetricsState.self, from: try Sys.readFile(countersPath, limit: 16 << 20)))
                ?? MetricsState()
            change(&state)
            countLifecycle(&state, deployment: deployment)
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
        renderMissions(state, rules: deployment.rules, tenanted: deployment.profile.metricsTenantLabel, into: &out)
        // Notices: under way by reason, finished counted by name (both from the history summary).
        let history = try NoticeHistory(layout: deployment.layout).summary()
        try renderNotices(history, layout: deployment.layout, into: &out)
        renderStages(state, into: &out)
        try renderWaiting(history, now: now, layout: deployment.layout, into: &out)
        renderSettings(state, deployment: deployment, into: &out)
        renderOperations(state, deployment: deployment, into: &out)
        return out.text
    }

    /// The operations figures: missions finished (success rate), escalations, policy blocks,
    /// profile activations and rollbacks, and the times to acknowledge and to resolve.
    private static func renderOperations(_ state: MetricsState, deployment: Deployment, into out: inout Exposition) {
        let tenanted = deployment.profile.metricsTenantLabel
        out.family(
            "rgov_missions_finished_total", "counter",
            "Missions that reached a terminal status (completed, failed, cancelled), by status and type"
                + (tenanted ? " and tenant (empty: none)" : "") + ": each mission once per terminal status.")
        let finished = state.missions_finished_total ?? [:]
        if tenanted {
            for (tenant, counts) in finished.sorted(by: { $0.key < $1.key }) {
                out.samples("rgov_missions_finished_total", counts, labelled: .missions, extra: [("tenant", tenant)])
            }
        } else {
            // Every known type and terminal status has a sample from the start, so increase() sees the first.
            var total: [String: Double] = [:]
            for type in MissionSnapshot.missionTypes {
                for status in MissionSnapshot.Status.allCases where status.isTerminal {
                    total[LabelSet.missions.key(status.rawValue, type)] = 0
                }
            }
            for counts in finished.values { total.merge(counts, uniquingKeysWith: +) }
            out.samples("rgov_missions_finished_total", total, labelled: .missions)
        }
        out.family("rgov_escalations_total", "counter", "Escalation notices the watchdog created.")
        out.sample("rgov_escalations_total", [], state.escalations_total ?? 0)
        let blocking = Dictionary(deployment.rules.filter { $0.outcome == .block }.map { ($0.ruleID, 0.0) }) { a, _ in
            a
        }
        out.family(
            "rgov_policy_blocks_total", "counter",
            "Policy blocks by rule: episodes opened with a block decision (one per condition, not per reminder), "
                + "and completions refused inline.")
        out.samples(
            "rgov_policy_blocks_total", (state.policy_blocks_total ?? [:]).merging(blocking) { a, _ in a },
            label: "rule_id")
        out.family("rgov_profile_activations_total", "counter", "Profile activations in the state's profile history.")
        out.sample("rgov_profile_activations_total", [], state.profile_activations_total ?? 0)
        out.family("rgov_profile_rollbacks_total", "counter", "Profile rollbacks in the state's profile history.")
        out.sample("rgov_profile_rollbacks_total", [], state.profile_rollbacks_total ?? 0)
        out.family(
            "rgov_notice_ack_seconds", "histogram",
            "Seconds from a notice's creation to its ack, by evidence kind (synthetic: a trial sender, not a person).")
        for kind in ["sender_ack", "operator_attestation", "external_ack", "synthetic"] {
            out.histogram(
                "rgov_notice_ack_seconds", [("kind", kind)], state.notice_ack_seconds?[kind] ?? .init(),
                bounds: ackBuckets)
        }
        out.family("rgov_episode_resolve_seconds", "histogram", "Seconds from an episode's opening to its resolution.")
        out.histogram(
            "rgov_episode_resolve_seconds", [], state.episode_resolve_seconds ?? .init(), bounds: resolveBuckets)
    }

    /// Missions by status and type, and the conditions found and holding by rule.
    ///
    /// `tenanted` (the profile's `spec.metrics.tenant_label`): missions also by tenant, from the
    /// last watchdog run that counted them so.
    private static func renderMissions(
        _ state: MetricsState, rules: [RuleParameters], tenanted: Bool, into out: inout Exposition
    ) {
        if tenanted, let byTenant = state.missions_by_tenant {
            out.family(
                "rgov_missions", "gauge",
                "Missions by status, type and tenant (empty: none), as of the last watchdog run.")
            for (tenant, counts) in byTenant.sorted(by: { $0.key < $1.key }) {
                out.samples("rgov_missions", counts, labelled: .missions, extra: [("tenant", tenant)])
            }
        } else {
            out.family("rgov_missions", "gauge", "Missions by status and type, as of the last watchdog run.")
            out.samples("rgov_missions", state.missions, labelled: .missions)
        }
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

        /// One sample per key of `values`, each key holding the two label values of `set`, then `extra`.
        mutating func samples(
            _ name: String, _ values: [String: Double], labelled set: LabelSet, extra: [(String, String)] = []
        ) {
            for (key, value) in values.sorted(by: { $0.key < $1.key }) {
                let (first, second) = set.values(of: key)
                sample(name, [(set.labels.0, first), (set.labels.1, second)] + extra, value)
            }
        }

        /// A histogram's samples: each bound's cumulative count, `+Inf`, the sum and the count.
        mutating func histogram(
            _ name: String, _ labels: [(String, String)], _ h: MetricsState.Histogram, bounds: [Double]
        ) {
            for bound in bounds {
                let le = Metrics.boundText(bound)
                sample(name + "_bucket", labels + [("le", le)], h.buckets[le] ?? 0)
            }
            sample(name + "_bucket", labels + [("le", "+Inf")], h.count)
            sample(name + "_sum", labels, h.sum)
            sample(name + "_count", labels, h.count)
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
