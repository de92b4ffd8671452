import Foundation

/// One colony mission as the runtime reported it (DESIGN §6): untrusted input.
///
/// Decoding is lenient about fields rgov does not model (they are kept in `extra` so a rewrite
/// loses nothing) and strict about the ones it judges: a bad time or status is a reason to
/// quarantine the file, never a guess.
public struct MissionSnapshot: Codable, Sendable, Equatable {
    public enum Status: String, Codable, Sendable, CaseIterable {
        case queued, running, awaiting_review, awaiting_approval, completed, failed, cancelled

        public var isTerminal: Bool { self == .completed || self == .failed || self == .cancelled }
    }

    public struct Report: Codable, Sendable, Equatable {
        public var at: Date
        public var kind: String
        public var text: String?
        public var placeholder: Bool?
    }

    public struct EvidenceRef: Codable, Sendable, Equatable {
        public var kind: String?
        public var ref: String
        public var sha256: String?
    }

    public struct Completion: Codable, Sendable, Equatable {
        public var claimed_at: Date?
        public var evidence: [EvidenceRef]?
        public var placeholders: [String]?
    }

    public struct Writeback: Codable, Sendable, Equatable {
        public var writeback_id: String
        public var target: String?
        public var status: String
        public var approved_by: String?
        public var decided_at: Date?
        /// When the writeback was proposed (an extension of the contract; optional).
        public var proposed_at: Date?
    }

    public struct ToolCall: Codable, Sendable, Equatable {
        public var tool: String
        public var at: Date?
    }

    public var mission_id: String
    public var mission_type: String
    public var origin_surface: String?
    public var user_goal: String?
    public var normalized_goal: String?
    public var tenant_id: String?
    public var actor_id: String?
    public var risk_level: String?
    public var sensitivity_class: String?
    public var time_budget_ms: Int64?
    public var token_budget: Int64?
    public var requested_outputs: [String]?
    public var status: Status
    public var stage: String?
    public var created_at: Date
    public var started_at: Date?
    public var updated_at: Date?
    public var stage_entered_at: Date?
    public var last_checkpoint_at: Date?
    public var checkpoint_interval_ms: Int64?
    public var tokens_used: Int64?
    public var reports: [Report]?
    public var completion: Completion?
    public var writebacks: [Writeback]?
    public var allowed_tools: [String]?
    public var tool_calls: [ToolCall]?
    public var model_tier: String?
    public var failure_reason: String?
    /// Fields this version does not model, kept as they came.
    public var extra: [String: JSONValue] = [:]

    public static let missionTypes: Set<String> = [
        "oracle_advisory", "crm_lead_intelligence", "catalyst_strategy_brief",
    ]

    private enum CodingKeys: String, CodingKey, CaseIterable {
        case mission_id, mission_type, origin_surface, user_goal, normalized_goal, tenant_id, actor_id, risk_level
        case sensitivity_class, time_budget_ms, token_budget, requested_outputs, status, stage, created_at, started_at
        case updated_at, stage_entered_at, last_checkpoint_at, checkpoint_interval_ms, tokens_used, reports, completion
        case writebacks, allowed_tools, tool_calls, model_tier, failure_reason
    }

    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        mission_id = try c.decode(String.self, forKey: .mission_id)
        mission_type = try c.decode(String.self, forKey: .mission_type)
        origin_surface = try c.decodeIfPresent(String.self, forKey: .origin_surface)
        user_goal = try c.decodeIfPresent(String.self, forKey: .user_goal)
        normalized_goal = try c.decodeIfPresent(String.self, forKey: .normalized_goal)
        tenant_id = try c.decodeIfPresent(String.self, forKey: .tenant_id)
        actor_id = try c.decodeIfPresent(String.self, forKey: .actor_id)
        risk_level = try c.decodeIfPresent(String.self, forKey: .risk_level)
        sensitivity_class = try c.decodeIfPresent(String.self, forKey: .sensitivity_class)
        time_budget_ms = try c.decodeIfPresent(Int64.self, forKey: .time_budget_ms)
        token_budget = try c.decodeIfPresent(Int64.self, forKey: .token_budget)
        requested_outputs = try c.decodeIfPresent([String].self, forKey: .requested_outputs)
        status = try c.decode(Status.self, forKey: .status)
        stage = try c.decodeIfPresent(String.self, forKey: .stage)
        created_at = try c.decode(Date.self, forKey: .created_at)
        started_at = try c.decodeIfPresent(Date.self, forKey: .started_at)
        updated_at = try c.decodeIfPresent(Date.self, forKey: .updated_at)
        stage_entered_at = try c.decodeIfPresent(Date.self, forKey: .stage_entered_at)
        last_checkpoint_at = try c.decodeIfPresent(Date.self, forKey: .last_checkpoint_at)
        checkpoint_interval_ms = try c.decodeIfPresent(Int64.self, forKey: .checkpoint_interval_ms)
        tokens_used = try c.decodeIfPresent(Int64.self, forKey: .tokens_used)
        reports = try c.decodeIfPresent([Report].self, forKey: .reports)
        completion = try c.decodeIfPresent(Completion.self, forKey: .completion)
        writebacks = try c.decodeIfPresent([Writeback].self, forKey: .writebacks)
        allowed_tools = try c.decodeIfPresent([String].self, forKey: .allowed_tools)
        tool_calls = try c.decodeIfPresent([ToolCall].self, forKey: .tool_calls)
        model_tier = try c.decodeIfPresent(String.self, forKey: .model_tier)
        failure_reason = try c.decodeIfPresent(String.self, forKey: .failure_reason)
        let known = Set(CodingKeys.allCases.map(\.stringValue))
        let all = try decoder.container(keyedBy: AnyKey.self)
        for key in all.allKeys where !known.contains(key.stringValue) {
            extra[key.stringValue] = try all.decode(JSONValue.self, forKey: key)
        }
    }

    public func encode(to encoder: Encoder) throws {
        // One container for known and unknown keys alike, so nothing the runtime wrote is lost.
        var c = encoder.container(keyedBy: AnyKey.self)
        for (key, value) in extra { try c.encode(value, forKey: AnyKey(stringValue: key)) }
        func put<T: Encodable>(_ value: T?, _ key: CodingKeys) throws {
            try c.encodeIfPresent(value, forKey: AnyKey(stringValue: key.stringValue))
        }
        try put(mission_id, .mission_id)
        try put(mission_type, .mission_type)
        try put(origin_surface, .origin_surface)
        try put(user_goal, .user_goal)
        try put(normalized_goal, .normalized_goal)
        try put(tenant_id, .tenant_id)
        try put(actor_id, .actor_id)
        try put(risk_level, .risk_level)
        try put(sensitivity_class, .sensitivity_class)
        try put(time_budget_ms, .time_budget_ms)
        try put(token_budget, .token_budget)
        try put(requested_outputs, .requested_outputs)
        try put(status, .status)
        try put(stage, .stage)
        try put(created_at, .created_at)
        try put(started_at, .started_at)
        try put(updated_at, .updated_at)
        try put(stage_entered_at, .stage_entered_at)
        try put(last_checkpoint_at, .last_checkpoint_at)
        try put(checkpoint_interval_ms, .checkpoint_interval_ms)
        try put(tokens_used, .tokens_used)
        try put(reports, .reports)
        try put(completion, .completion)
        try put(writebacks, .writebacks)
        try put(allowed_tools, .allowed_tools)
        try put(tool_calls, .tool_calls)
        try put(model_tier, .model_tier)
        try put(failure_reason, .failure_reason)
    }

    /// Checks what decoding cannot: a safe id, a known type, and times that make sense.
    public func validate(fileName: String) throws {
        _ = try Identifier.validate(mission_id, what: "mission_id")
        guard fileName == StateLayout.artifactName(mission_id) else {
            throw RgovError.data("mission_id \(Identifier.quoted(mission_id)) does not match file name \(fileName)")
        }
        guard Self.missionTypes.contains(mission_type) else {
            throw RgovError.data("unknown mission_type \(Identifier.quoted(mission_type))")
        }
        for (field, value, range) in [
            ("checkpoint_interval_ms", checkpoint_interval_ms, Self.Limits.checkpointIntervalMs),
            ("time_budget_ms", time_budget_ms, Self.Limits.timeBudgetMs),
            ("token_budget", token_budget, Self.Limits.tokens), ("tokens_used", tokens_used, Self.Limits.tokens),
        ] {
            if let value, !range.contains(value) {
                throw RgovError.data(
                    "\(field) is \(value), outside \(range.lowerBound)...\(range.upperBound) (rgov's documented limits)"
                )
            }
        }
        for (field, date) in [
            ("created_at", created_at), ("started_at", started_at), ("updated_at", updated_at),
            ("stage_entered_at", stage_entered_at), ("last_checkpoint_at", last_checkpoint_at),
        ] {
            if let date, !Self.Limits.times.contains(date) {
                throw RgovError.data(
                    "\(field) \(Timestamp.format(date)) is outside \(Timestamp.format(Self.Limits.times.lowerBound))..."
                        + "\(Timestamp.format(Self.Limits.times.upperBound))")
            }
        }
    }

    /// What a snapshot may say, so no rule's arithmetic can overflow on it: checkpoints at most 30 days
    /// apart, budgets up to a year and 10^15 tokens, times from 2000 to 9999.
    public enum Limits {
        public static let checkpointIntervalMs: ClosedRange<Int64> = 1...2_592_000_000
        public static let timeBudgetMs: ClosedRange<Int64> = 0...31_536_000_000
        public static let tokens: ClosedRange<Int64> = 0...1_000_000_000_000_000
        public static let times: ClosedRange<Date> =
            Date(timeIntervalSince1970: 946_684_800)...Date(timeIntervalSince1970: 253_402_300_799)
    }

    /// When an operator last replayed the mission (`rgov mission replay`), if ever.
    public var replayRequestedAt: Date? {
        if case .string(let text)? = extra["replay_requested_at"] { return Timestamp.parse(text) }
        return nil
    }

    /// When the mission last showed a sign of life the watchdog counts as a checkpoint.
    public var lastCheckpointOrStart: Date { last_checkpoint_at ?? started_at ?? created_at }
}
