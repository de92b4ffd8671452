import Foundation

/// What a rule found on one mission, before it becomes an event, a decision and a notice.
public struct Finding: Sendable, Equatable {
    public var rule_id: String
    public var severity: Severity
    /// When the condition began.
    public var occurred_at: Date
    public var outcome: DecisionRecord.Outcome
    public var summary: String
    public var facts: [String: JSONValue]
}

/// The rules rgov knows, keyed by pack. Rules are Swift; packs and profiles only set parameters.
public enum PolicyCatalog {
    public static let packs = [MissedCheckpointRule.pack]

    /// Evaluates every enabled rule on one mission.
    public static func evaluate(_ mission: MissionSnapshot, profile: DeploymentProfile, now: Date) -> [Finding] {
        var findings: [Finding] = []
        if profile.enabledPacks.contains(MissedCheckpointRule.pack),
            let finding = MissedCheckpointRule(parameters: profile.missedCheckpoint).evaluate(mission, now: now)
        {
            findings.append(finding)
        }
        return findings
    }
}

/// `checkpoint-cadence/missed-checkpoint`: a running mission whose last checkpoint (or start) is
/// older than its checkpoint interval plus grace. Severity rises with the intervals missed.
public struct MissedCheckpointRule: Sendable {
    public static let pack = "checkpoint-cadence"
    public static let id = "checkpoint-cadence/missed-checkpoint"

    public struct Parameters: Sendable, Equatable, Codable {
        /// Used when the mission does not state its own `checkpoint_interval_ms`.
        public var default_interval_ms: Int64
        public var grace_ms: Int64

        public static let packageDefaults = Parameters(default_interval_ms: 900_000, grace_ms: 120_000)
    }

    public let parameters: Parameters

    public init(parameters: Parameters) { self.parameters = parameters }

    public func evaluate(_ mission: MissionSnapshot, now: Date) -> Finding? {
        guard mission.status == .running else { return nil }
        let interval = mission.checkpoint_interval_ms ?? parameters.default_interval_ms
        let last = mission.lastCheckpointOrStart
        let silentMs = Timestamp.milliseconds(now) - Timestamp.milliseconds(last)
        guard silentMs > interval + parameters.grace_ms else { return nil }
        let missed = silentMs / interval
        let severity: Severity = missed >= 3 ? .critical : .warning
        let since = mission.last_checkpoint_at == nil ? "start" : "last checkpoint"
        return Finding(
            rule_id: Self.id, severity: severity,
            occurred_at: last.addingTimeInterval(Double(interval) / 1000),
            outcome: .force_checkpoint,
            summary: "no checkpoint for \(DurationText.describe(ms: silentMs)) since \(since) "
                + "(interval \(DurationText.describe(ms: interval)), grace \(DurationText.describe(ms: parameters.grace_ms)), "
                + "\(missed) interval\(missed == 1 ? "" : "s") missed)",
            facts: [
                "status": .string(mission.status.rawValue),
                "stage": mission.stage.map { .string($0) } ?? .null,
                "last_checkpoint_at": mission.last_checkpoint_at.map { .string(Timestamp.format($0)) } ?? .null,
                "started_at": mission.started_at.map { .string(Timestamp.format($0)) } ?? .null,
                "checkpoint_interval_ms": .number(Double(interval)),
                "grace_ms": .number(Double(parameters.grace_ms)),
                "silent_ms": .number(Double(silentMs)),
                "intervals_missed": .number(Double(missed)),
            ])
    }
}

/// Human-readable durations for messages: `1h 05m`, `7m 30s`, `12s`.
public enum DurationText {
    public static func describe(ms: Int64) -> String {
        let s = ms / 1000
        if s >= 86_400 { return "\(s / 86_400)d \(s % 86_400 / 3600)h" }
        if s >= 3600 { return "\(s / 3600)h \(String(format: "%02d", s % 3600 / 60))m" }
        if s >= 60 { return "\(s / 60)m \(String(format: "%02d", s % 60))s" }
        return "\(s)s"
    }
}
