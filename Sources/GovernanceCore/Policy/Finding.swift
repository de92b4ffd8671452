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
    /// What on the mission the finding is about, when a mission can have several (a writeback id,
    /// a stage); part of the dedup key, so each is its own episode.
    public var subject: String?
}

extension RuleParameters {
    func finding(
        _ summary: String, occurredAt: Date, severity: Severity? = nil, subject: String? = nil,
        facts: [String: JSONValue] = [:]
    ) -> Finding {
        Finding(
            rule_id: ruleID, severity: max(severity ?? self.severity, self.severity), occurred_at: occurredAt,
            outcome: outcome, summary: summary, facts: facts, subject: subject)
    }
}

/// Human-readable durations for messages: `1h 05m`, `7m 30s`, `12s`.
public enum DurationText {
    /// A duration for a person; a negative one (the clock went back) is said so, never shown as
    /// a negative age.
    public static func describe(ms: Int64) -> String {
        if ms < 0 { return "clock went back" }
        let s = ms / 1000
        if s >= 86_400 { return "\(s / 86_400)d \(s % 86_400 / 3600)h" }
        if s >= 3600 { return "\(s / 3600)h \(String(format: "%02d", s % 3600 / 60))m" }
        if s >= 60 { return "\(s / 60)m \(String(format: "%02d", s % 60))s" }
        return "\(s)s"
    }
}

func time(_ date: Date?) -> JSONValue { date.map { .string(Timestamp.format($0)) } ?? .null }
func number(_ value: Int64?) -> JSONValue { value.map { .number(Double($0)) } ?? .null }
