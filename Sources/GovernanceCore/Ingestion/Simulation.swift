import Foundation

/// `rgov simulate`: realistic colony missions with planted conditions, and a manifest saying which.
///
/// Each mission gets exactly one condition (or none), placed well clear of the thresholds of every
/// shipped profile, so the watchdog's findings can be compared with the manifest exactly: no
/// healthy mission flagged, no planted condition missed. Deterministic for a given seed and time.
public struct Simulation {
    public struct Condition: Sendable {
        public var name: String
        public var rules: [String]
        public var weight: Int
    }

    /// The mix: roughly half healthy (in every state a mission can be in), the rest one condition each.
    public static let conditions: [Condition] = [
        Condition(name: "healthy_running", rules: [], weight: 22),
        Condition(name: "healthy_queued", rules: [], weight: 5),
        Condition(name: "healthy_review", rules: [], weight: 5),
        Condition(name: "healthy_completed", rules: [], weight: 10),
        Condition(name: "cancelled", rules: [], weight: 3),
        Condition(name: "silent", rules: ["anti-blackhole/silent-task"], weight: 5),
        Condition(name: "overdue_checkpoint", rules: ["checkpoint-cadence/missed-checkpoint"], weight: 6),
        Condition(name: "stuck_stage", rules: ["stuck-state/stage-timeout"], weight: 4),
        Condition(name: "stuck_queued", rules: ["stuck-state/stage-timeout"], weight: 2),
        Condition(name: "over_time_budget", rules: ["budget/time-exceeded"], weight: 4),
        Condition(name: "over_token_budget", rules: ["budget/tokens-exceeded"], weight: 4),
        Condition(name: "unverified_completion", rules: ["completion-evidence/unverified-completion"], weight: 6),
        Condition(name: "unlabeled_placeholder", rules: ["placeholder-labeling/unlabeled-placeholder"], weight: 4),
        Condition(name: "unapproved_writeback", rules: ["writeback-approval/unapproved-writeback"], weight: 3),
        Condition(name: "approval_pending", rules: ["writeback-approval/approval-pending"], weight: 3),
        Condition(name: "failed", rules: ["mission-failure/failed"], weight: 4),
        Condition(name: "unauthorized_tool", rules: ["tool-scope/unauthorized-tool"], weight: 3),
        Condition(name: "tier_violation", rules: ["model-routing/tier-violation"], weight: 3),
        Condition(name: "unauthorized_data_access", rules: ["data-scope/unauthorized-data-access"], weight: 3),
        Condition(name: "egress_violation", rules: ["network-egress/egress-violation"], weight: 3),
        Condition(name: "autonomy_exceeded", rules: ["admission/autonomy-exceeded"], weight: 2),
        Condition(name: "review_missing", rules: ["admission/review-missing"], weight: 3),
    ]

    public struct ManifestEntry: Codable, Sendable, Equatable {
        public var condition: String
        public var expected_rules: [String]
    }

    public struct Manifest: Codable, Sendable {
        public var schema = "rgov.simulation-manifest/v1"
        public var seed: UInt64
        public var now: Date
        public var missions: [String: ManifestEntry]
        public var conditions: [String: Int]
    }

    public let seed: UInt64
    public let now: Date

    /// Writes `count` snapshots into `layout.missions` and the manifest beside them.
    public func write(count: Int, layout: StateLayout) throws -> (manifest: Manifest, path: String) {
        try layout.prepare()
        let (snapshots, manifest) = generate(count: count)
        for (id, mission) in snapshots {
            try DurableFile.write(try CanonicalJSON.encodeFile(mission), to: layout.mission(id))
        }
        let path = layout.simulationManifest
        try DurableFile.write(try CanonicalJSON.encodeFile(manifest), to: path)
        return (manifest, path)
    }

    /// `count` missions (id and snapshot) and their manifest, in memory: what `write` writes.
    public func generate(count: Int) -> (missions: [(id: String, snapshot: JSONValue)], manifest: Manifest) {
        var rng = SplitMix64(seed: seed)
        var missions: [String: ManifestEntry] = [:]
        var snapshots: [(id: String, snapshot: JSONValue)] = []
        var tally: [String: Int] = [:]
        let total = Self.conditions.reduce(0) { $0 + $1.weight }
        for n in 0..<count {
            var pick = Int(rng.next() % UInt64(total))
            // The pick is below the total weight, so some condition always takes it.
            let condition =
                Self.conditions.first { c in
                    defer { pick -= c.weight }
                    return pick < c.weight
                } ?? Self.conditions[0]
            let id = "sim-\(seed)-" + String(format: "%05d", n)
            let mission = SimulatedMission(id: id, condition: condition.name, index: n, now: now, rng: &rng)
            snapshots.append((id, JSONValue.object(mission.m)))
            missions[id] = ManifestEntry(condition: condition.name, expected_rules: condition.rules)
            tally[condition.name, default: 0] += 1
        }
        return (snapshots, Manifest(seed: seed, now: now, missions: missions, conditions: tally))
    }
}

/// One simulated mission: a healthy running one of its index's type, then its condition planted.
private struct SimulatedMission {
    static let types = ["oracle_advisory", "crm_lead_intelligence", "catalyst_strategy_brief"]
    static let goals = [
        "oracle_advisory": [
            "Advise on vendor renewal timing", "Assess the compliance risk of the new pricing page",
            "Recommend a data-retention policy",
        ],
        "crm_lead_intelligence": [
            "Enrich and rank inbound webinar leads", "Find decision makers at churned accounts",
            "Score renewal risk for enterprise accounts",
        ],
        "catalyst_strategy_brief": [
            "Draft the EU go-to-market brief", "Partner-channel strategy for mid-market",
            "Pricing strategy for the API tier",
        ],
    ]
    static let runningStages = ["planner", "prompt_master", "librarian", "researcher", "worker", "aggregator"]
    static let outputs = [
        "oracle_advisory": ["advisory_memo"], "crm_lead_intelligence": ["ranked_leads", "enrichment_notes"],
        "catalyst_strategy_brief": ["strategy_brief"],
    ]

    let id: String
    let index: Int
    let now: Date
    var rng: SplitMix64
    var checkpoint: Int64 = 0
    var m: [String: JSONValue] = [:]

    init(id: String, condition: String, index: Int, now: Date, rng: inout SplitMix64) {
        (self.id, self.index, self.now, self.rng) = (id, index, now, rng)
        running()
        if !plantTiming(condition) { plantRecords(condition) }
        rng = self.rng
    }

    var outputs: [String] { Self.outputs[Self.types[index % 3]] ?? [] }
    func ago(_ ms: Int64) -> JSONValue { .string(Timestamp.format(now.adding(ms: -ms))) }
    mutating func between(_ lo: Int64, _ hi: Int64) -> Int64 { lo + Int64(rng.next() % UInt64(hi - lo + 1)) }

    /// A healthy running mission: started 20 to 50 minutes ago, its last checkpoint in the last 10.
    mutating func running() {
        let type = Self.types[index % 3]
        let stage = Self.runningStages[Int(rng.next() % UInt64(Self.runningStages.count))]
        let started = between(20 * minute, 50 * minute)
        checkpoint = between(0, 10 * minute)
        m = [
            "mission_id": .string(id), "mission_type": .string(type),
            "origin_surface": .string(["slack", "email", "web", "crm_panel"][index % 4]),
            "user_goal": .string((Self.goals[type] ?? ["", "", ""])[index % 3]),
            "tenant_id": .string("tenant-\(index % 7)"),
            "actor_id": .string("u-\(1000 + index % 97)"),
            "risk_level": .string(["low", "medium", "high", "critical"][index % 4]),
            "sensitivity_class": .string(["internal", "confidential", "public"][index % 3]),
            "requested_outputs": .array(outputs.map { .string($0) }), "status": .string("running"),
            "stage": .string(stage),
            "created_at": ago(started + minute), "started_at": ago(started),
            "stage_entered_at": ago(between(checkpoint, started)),
            "updated_at": ago(checkpoint), "last_checkpoint_at": ago(checkpoint),
            "checkpoint_interval_ms": .number(Double(15 * minute)),
            "tokens_used": .number(Double(between(1_000, 50_000))), "token_budget": .number(200_000),
            "time_budget_ms": .number(Double(8 * hour)),
            "reports": .array([report(ago(checkpoint), "checkpoint", "Step \(index % 9 + 1) done.")]),
            "completion": .null, "writebacks": .array([]),
            "allowed_tools": .array([.string("web_search"), .string("crm_read")]),
            "tool_calls": .array([.object(["tool": .string("web_search"), "at": ago(checkpoint)])]),
            "model_tier": .string("tier_local_private"),
            "allowed_data_scopes": .array([.string("crm.accounts"), .string("web.public")]),
            "data_accesses": .array([.object(["scope": .string("web.public"), "at": ago(checkpoint)])]),
            "egress_class": .string("allowlisted"),
            "network_calls": .array([
                .object([
                    "host": .string("search.example.com"), "egress_class": .string("allowlisted"),
                    "at": ago(checkpoint),
                ])
            ]),
            "autonomy_tier": .string("assisted"),
        ]
    }

    /// A report the mission made, not labelled a placeholder.
    func report(_ at: JSONValue, _ kind: String, _ text: String) -> JSONValue {
        .object(["at": at, "kind": .string(kind), "text": .string(text), "placeholder": .bool(false)])
    }

    /// The mission waiting in the queue since `ms` ago: not started, no checkpoint, no tool called.
    mutating func queue(createdAgo ms: Int64) {
        m["status"] = .string("queued")
        m["stage"] = .string("normalizer")
        m["created_at"] = ago(ms)
        for key in ["started_at", "stage_entered_at", "last_checkpoint_at"] { m[key] = .null }
        m["tool_calls"] = .array([])
    }

    /// Plants a condition of status and timing; false when `condition` is not one of them.
    mutating func plantTiming(_ condition: String) -> Bool {
        switch condition {
        case "healthy_running": break
        case "healthy_queued":
            queue(createdAgo: between(10_000, 2 * minute))
            m["reports"] = .array([])
        case "healthy_review":
            m["status"] = .string("awaiting_review")
            m["stage"] = .string("reviewer")
            m["stage_entered_at"] = ago(between(minute, 3 * hour))
        case "cancelled":
            m["status"] = .string("cancelled")
            m["last_checkpoint_at"] = ago(between(5 * hour, 9 * hour))
            m["tool_calls"] = .array([.object(["tool": .string("shell_exec")])])
        case "silent":
            let age = between(10 * minute, 25 * minute)
            m["status"] = .string(index % 2 == 0 ? "queued" : "running")
            m["created_at"] = ago(age)
            m["started_at"] = index % 2 == 0 ? .null : ago(age)
            m["stage_entered_at"] = ago(age)
            m["last_checkpoint_at"] = .null
            m["reports"] = .array([])
            m["tool_calls"] = .array([])
        case "overdue_checkpoint":
            let silent = between(45 * minute, 90 * minute)
            m["started_at"] = ago(silent + 30 * minute)
            m["created_at"] = ago(silent + 31 * minute)
            m["stage_entered_at"] = ago(silent + 5 * minute)
            m["last_checkpoint_at"] = ago(silent)
            m["updated_at"] = ago(silent)
            m["reports"] = .array([report(ago(silent), "checkpoint", "Partial results.")])
        case "stuck_stage":
            let stuck = between(3 * hour, 6 * hour)
            m["created_at"] = ago(stuck + 10 * minute)
            m["started_at"] = ago(stuck + 5 * minute)
            m["stage_entered_at"] = ago(stuck)
        case "stuck_queued":
            let age = between(40 * minute, 2 * hour)
            queue(createdAgo: age)
            m["reports"] = .array([report(ago(age - 5 * minute), "progress", "Waiting for a worker slot.")])
        default: return false
        }
        return true
    }

    /// Plants a condition of what the mission recorded: completion, budgets, reports, writebacks, tools.
    mutating func plantRecords(_ condition: String) {
        switch condition {
        case "healthy_completed", "unverified_completion", "review_missing":
            let hashedEvidence: JSONValue = .array(
                outputs.map { output in
                    .object([
                        "kind": .string(output), "ref": .string("artifacts/\(id)/\(output).md"),
                        "sha256": .string(SHA256.hex(of: id + output)),
                    ])
                })
            m["status"] = .string("completed")
            m["stage"] = .string("reviewer")
            m["completion"] = .object([
                "claimed_at": ago(checkpoint),
                "evidence": condition == "unverified_completion" ? .array([]) : hashedEvidence,
                "placeholders": .array([]),
            ])
            // A reviewer approved every completed mission but the one planted without its review
            // (made high-risk, so every shipped profile requires one).
            if condition == "review_missing" {
                m["risk_level"] = .string("high")
                m["review"] =
                    index % 2 == 0
                    ? .null
                    : .object([
                        "reviewed_by": .string("u-reviewer"), "reviewed_at": ago(checkpoint),
                        "verdict": .string("changes_requested"),
                    ])
            } else {
                m["review"] = .object([
                    "reviewed_by": .string("u-reviewer"), "reviewed_at": ago(checkpoint),
                    "verdict": .string("approved"),
                ])
            }
        case "over_time_budget":
            m["time_budget_ms"] = .number(Double(between(5 * minute, 15 * minute)))
        case "over_token_budget":
            m["tokens_used"] = .number(Double(between(210_000, 400_000)))
        case "unlabeled_placeholder":
            let text = ["TODO: fill in the pricing table", "Revenue: TBD", "Lorem ipsum dolor sit amet"][index % 3]
            m["reports"] = .array([report(ago(checkpoint), "progress", text)])
        case "unapproved_writeback":
            m["writebacks"] = .array([
                .object([
                    "writeback_id": .string("wb-\(id)"), "target": .string("crm.accounts"),
                    "status": .string("applied"), "approved_by": .null, "decided_at": ago(checkpoint),
                ])
            ])
        case "approval_pending":
            m["writebacks"] = .array([
                .object([
                    "writeback_id": .string("wb-\(id)"), "target": .string("crm.leads"), "status": .string("proposed"),
                    "approved_by": .null, "decided_at": .null, "proposed_at": ago(between(6 * hour, 20 * hour)),
                ])
            ])
        case "failed":
            m["status"] = .string("failed")
            m["failure_reason"] = .string(["worker_crashed", "upstream_timeout", "budget_guard_tripped"][index % 3])
        case "unauthorized_tool":
            m["tool_calls"] = .array([
                .object(["tool": .string("web_search"), "at": ago(checkpoint)]),
                .object(["tool": .string(["crm_write", "shell_exec", "email_send"][index % 3]), "at": ago(checkpoint)]),
            ])
        case "tier_violation":
            m["sensitivity_class"] = .string(index % 2 == 0 ? "confidential" : "restricted")
            m["model_tier"] = .string(index % 4 < 2 ? "tier_cloud_standard" : "tier_high_reasoning")
        case "unauthorized_data_access":
            m["data_accesses"] = .array([
                .object(["scope": .string("web.public"), "at": ago(checkpoint)]),
                .object([
                    "scope": .string(["finance.ledger", "hr.records", "crm.contacts_pii"][index % 3]),
                    "at": ago(checkpoint),
                ]),
            ])
        case "egress_violation":
            m["network_calls"] = .array([
                .object([
                    "host": .string("paste.example.net"), "egress_class": .string("open"), "at": ago(checkpoint),
                ])
            ])
        case "autonomy_exceeded":
            m["autonomy_tier"] = .string(index % 2 == 0 ? "supervised" : "autonomous")
        default:
            preconditionFailure("unknown condition \(condition)")
        }
    }
}

private let minute: Int64 = 60_000
private let hour = 60 * minute

/// SplitMix64: a tiny, well-mixed deterministic generator (the same seed gives the same missions
/// on every platform, which `SystemRandomNumberGenerator` does not).
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
