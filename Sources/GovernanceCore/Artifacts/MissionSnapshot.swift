import Foundation

/// One colony mission as the runtime reported it (DESIGN §6): untrusted input.
///
/// Decoding is lenient about fields rgov does not model (they are kept in `extra` so a rewrite
/// loses nothing) and strict about the ones it judges: a bad time or status is a reason to
/// quarantine the file, never a guess.
@dynamicMemberLookup
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

    /// The fields rgov models, read and written by their names (`mission.status`).
    public struct Fields: Codable, Sendable, Equatable {
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
        /// The data scopes the mission was given, and what it read (`data-scope`).
        public var allowed_data_scopes: [String]?
        public var data_accesses: [DataAccess]?
        /// The widest network class the mission may call, and the calls it made (`network-egress`).
        public var egress_class: EgressClass?
        public var network_calls: [NetworkCall]?
        /// How much the mission does without a person, and its review (`admission`).
        public var autonomy_tier: AutonomyTier?
        public var review: Review?

        fileprivate enum CodingKeys: String, CodingKey, CaseIterable {
            case mission_id, mission_type, origin_surface, user_goal, normalized_goal, tenant_id, actor_id
            case risk_level, sensitivity_class, time_budget_ms, token_budget, requested_outputs, status, stage
            case created_at, started_at, updated_at, stage_entered_at, last_checkpoint_at, checkpoint_interval_ms
            case tokens_used, reports, completion, writebacks, allowed_tools, tool_calls, model_tier, failure_reason
            case allowed_data_scopes, data_accesses, egress_class, network_calls, autonomy_tier, review
        }
    }

    public var fields: Fields
    /// Fields this version does not model, kept as they came.
    public var extra: [String: JSONValue] = [:]

    public subscript<T>(dynamicMember field: WritableKeyPath<Fields, T>) -> T {
        get { fields[keyPath: field] }
        set { fields[keyPath: field] = newValue }
    }

    public static let missionTypes: Set<String> = [
        "oracle_advisory", "crm_lead_intelligence", "catalyst_strategy_brief",
    ]

    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public init(from decoder: Decoder) throws {
        fields = try Fields(from: decoder)
        let known = Set(Fields.CodingKeys.allCases.map(\.stringValue))
        let all = try decoder.container(keyedBy: AnyKey.self)
        for key in all.allKeys where !known.contains(key.stringValue) {
            extra[key.stringValue] = try all.decode(JSONValue.self, forKey: key)
        }
    }

    public func encode(to encoder: Encoder) throws {
        // One object for known and unknown keys alike, so nothing the runtime wrote is lost.
        var c = encoder.container(keyedBy: AnyKey.self)
        for (key, value) in extra { try c.encode(value, forKey: AnyKey(stringValue: key)) }
        try fields.encode(to: encoder)
    }

    /// Checks what decoding cannot: a safe id, a known type, and times that make sense.
    public func validate(fileName: String) throws {
        _ = try Identifier.validate(self.mission_id, what: "mission_id")
        guard fileName == StateLayout.artifactName(self.mission_id) else {
            throw RgovError.data(
                "mission_id \(Identifier.quoted(self.mission_id)) does not match file name \(fileName)")
        }
        guard Self.missionTypes.contains(self.mission_type) else {
            throw RgovError.data("unknown mission_type \(Identifier.quoted(self.mission_type))")
        }
        for (field, value, range) in [
            ("checkpoint_interval_ms", self.checkpoint_interval_ms, Self.Limits.checkpointIntervalMs),
            ("time_budget_ms", self.time_budget_ms, Self.Limits.timeBudgetMs),
            ("token_budget", self.token_budget, Self.Limits.tokens),
            ("tokens_used", self.tokens_used, Self.Limits.tokens),
        ] {
            if let value, !range.contains(value) {
                throw RgovError.data(
                    "\(field) is \(value), outside \(range.lowerBound)...\(range.upperBound) (rgov's documented limits)"
                )
            }
        }
        for (field, date) in [
            ("created_at", self.created_at), ("started_at", self.started_at), ("updated_at", self.updated_at),
            ("stage_entered_at", self.stage_entered_at), ("last_checkpoint_at", self.last_checkpoint_at),
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
    public var replayRequestedAt: Date? { extra["replay_requested_at"]?.stringValue.flatMap(Timestamp.parse) }

    /// When the mission last showed a sign of life the watchdog counts as a checkpoint.
    public var lastCheckpointOrStart: Date { self.last_checkpoint_at ?? self.started_at ?? self.created_at }
}
