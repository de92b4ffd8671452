import Foundation
import Testing

@testable import GovernanceCore

/// Shared fixtures: the shipped packs, resolved with a profile that enables them all at their defaults.
enum PolicyFixture {
    static let now = Date(timeIntervalSince1970: 1_795_176_000)
    static let minute: Int64 = 60_000
    static let hour: Int64 = 3_600_000

    static let packs: [String: PolicyPack] = {
        do { return try Deployment.loadPacks(root: YAMLTests.repoRoot) } catch {
            fatalError("the shipped policy packs do not load: \(error)")
        }
    }()

    static func profile(thresholds: String = "", overrides: String = "", packs enabled: [String]? = nil) throws
        -> DeploymentProfile
    {
        let list = (enabled ?? packs.keys.sorted()).joined(separator: ", ")
        let text = """
            apiVersion: reporting-governance/v1alpha1
            kind: DeploymentProfile
            metadata:
              id: fixture
              version: 1.0.0
            spec:
              policies:
                enabled: [\(list)]
            \(thresholds.isEmpty ? "" : "    thresholds:\n" + thresholds)\(overrides.isEmpty ? "" : "    overrides:\n" + overrides)
            """
        return try DeploymentProfile.parse(text, file: "fixture.yaml")
    }

    static let defaults: [RuleParameters] = {
        do { return try PolicyResolution.resolve(profile: try profile(), available: packs).1 } catch {
            fatalError("the shipped defaults do not resolve: \(error)")
        }
    }()

    static func ago(_ ms: Int64) -> JSONValue { .string(Timestamp.format(now.adding(ms: -ms))) }

    /// A running mission that no rule objects to.
    static func healthy() -> [String: JSONValue] {
        [
            "mission_id": .string("m1"), "mission_type": .string("oracle_advisory"), "status": .string("running"),
            "stage": .string("researcher"), "created_at": ago(11 * minute), "started_at": ago(10 * minute),
            "stage_entered_at": ago(10 * minute), "updated_at": ago(minute), "last_checkpoint_at": ago(minute),
            "checkpoint_interval_ms": .number(Double(15 * minute)), "time_budget_ms": .number(Double(4 * hour)),
            "token_budget": .number(10_000), "tokens_used": .number(500),
            "reports": .array([
                .object([
                    "at": ago(minute), "kind": .string("checkpoint"), "text": .string("ok"),
                    "placeholder": .bool(false),
                ])
            ]),
            "allowed_tools": .array([.string("web_search")]),
            "tool_calls": .array([.object(["tool": .string("web_search"), "at": ago(5 * minute)])]),
            "sensitivity_class": .string("confidential"), "model_tier": .string("tier_local_private"),
            "requested_outputs": .array([.string("advisory_memo")]), "writebacks": .array([]),
            "allowed_data_scopes": .array([.string("crm.accounts")]),
            "data_accesses": .array([.object(["scope": .string("crm.accounts"), "at": ago(5 * minute)])]),
            "egress_class": .string("internal"),
            "network_calls": .array([
                .object(["host": .string("wiki.corp"), "egress_class": .string("internal"), "at": ago(5 * minute)])
            ]),
            "autonomy_tier": .string("assisted"),
            "review": .object([
                "reviewed_by": .string("carol"), "reviewed_at": ago(minute), "verdict": .string("approved"),
            ]),
        ]
    }

    /// Completed with hashed evidence, at `risk` (internal data), reviewed with `verdict` (nil: not reviewed).
    static func completed(risk: String, verdict: String?) -> [String: JSONValue] {
        [
            "status": .string("completed"), "risk_level": .string(risk), "sensitivity_class": .string("internal"),
            "completion": .object([
                "claimed_at": ago(minute),
                "evidence": .array([
                    .object([
                        "kind": .string("advisory_memo"), "ref": .string("artifacts/m1/memo.md"),
                        "sha256": .string(String(repeating: "a", count: 64)),
                    ])
                ]),
            ]),
            "review": verdict.map {
                .object(["reviewed_by": .string("carol"), "reviewed_at": ago(minute), "verdict": .string($0)])
            } ?? .null,
        ]
    }

    static func access(_ scope: String) -> JSONValue { .object(["scope": .string(scope), "at": ago(minute)]) }
    static func call(_ host: String, _ egress: String) -> JSONValue {
        .object(["host": .string(host), "egress_class": .string(egress), "at": ago(minute)])
    }

    static func mission(_ changes: [String: JSONValue]) throws -> MissionSnapshot {
        var object = healthy()
        for (k, v) in changes { object[k] = v }
        return try CanonicalJSON.decode(MissionSnapshot.self, from: try CanonicalJSON.encode(JSONValue.object(object)))
    }

    static func rules(_ changes: [String: JSONValue], parameters: [RuleParameters] = defaults) throws -> [String] {
        PolicyCatalog.evaluate(try mission(changes), rules: parameters, now: now).map(\.rule_id).sorted()
    }
}

private let m = PolicyFixture.minute
private let h = PolicyFixture.hour

@Suite struct RuleThresholdTests {
    typealias F = PolicyFixture

    struct Case: Sendable, CustomStringConvertible {
        var rule: String
        var inside: [String: JSONValue]
        var past: [String: JSONValue]
        var description: String { rule }
    }

    static let evidence: JSONValue = .array([.object(["kind": .string("advisory_memo"), "ref": .string("memo.md")])])
    static let report: JSONValue = .array([
        .object(["at": F.ago(20 * m), "kind": .string("progress"), "text": .string("ok")])
    ])

    static let cases: [Case] = [
        Case(
            rule: "anti-blackhole/silent-task",
            inside: [
                "status": .string("queued"), "reports": .array([]), "last_checkpoint_at": .null, "started_at": .null,
                "created_at": F.ago(5 * m),
            ],
            past: [
                "status": .string("queued"), "reports": .array([]), "last_checkpoint_at": .null, "started_at": .null,
                "created_at": F.ago(5 * m + 1),
            ]),
        Case(
            rule: "checkpoint-cadence/missed-checkpoint",
            inside: ["last_checkpoint_at": F.ago(17 * m)], past: ["last_checkpoint_at": F.ago(17 * m + 1)]),
        Case(
            rule: "stuck-state/stage-timeout",
            inside: ["created_at": F.ago(3 * h), "started_at": F.ago(3 * h), "stage_entered_at": F.ago(2 * h)],
            past: ["created_at": F.ago(3 * h), "started_at": F.ago(3 * h), "stage_entered_at": F.ago(2 * h + 1)]),
        Case(
            rule: "stuck-state/stage-timeout",
            inside: ["status": .string("queued"), "started_at": .null, "created_at": F.ago(30 * m), "reports": report],
            past: [
                "status": .string("queued"), "started_at": .null, "created_at": F.ago(30 * m + 1), "reports": report,
            ]),
        Case(
            rule: "stuck-state/stage-timeout",
            inside: [
                "status": .string("awaiting_review"), "created_at": F.ago(30 * h), "stage_entered_at": F.ago(24 * h),
            ],
            past: [
                "status": .string("awaiting_review"), "created_at": F.ago(30 * h),
                "stage_entered_at": F.ago(24 * h + 1),
            ]),
        Case(
            rule: "stuck-state/stage-timeout",
            inside: [
                "status": .string("awaiting_approval"), "created_at": F.ago(30 * h), "stage_entered_at": F.ago(24 * h),
            ],
            past: [
                "status": .string("awaiting_approval"), "created_at": F.ago(30 * h),
                "stage_entered_at": F.ago(24 * h + 1),
            ]),
        Case(
            rule: "budget/time-exceeded",
            inside: ["time_budget_ms": .number(Double(10 * m))], past: ["time_budget_ms": .number(Double(10 * m - 1))]),
        Case(
            rule: "budget/tokens-exceeded", inside: ["tokens_used": .number(10_000)],
            past: ["tokens_used": .number(10_001)]),
        Case(
            rule: "completion-evidence/unverified-completion",
            inside: [
                "status": .string("completed"), "completion": .object(["claimed_at": F.ago(m), "evidence": evidence]),
            ],
            past: [
                "status": .string("completed"),
                "completion": .object(["claimed_at": F.ago(m), "evidence": .array([])]),
            ]),
        Case(
            rule: "completion-evidence/unverified-completion",
            inside: ["completion": .object(["claimed_at": F.ago(m), "evidence": evidence])],
            past: ["completion": .object(["claimed_at": F.ago(m)])]),
        Case(
            rule: "placeholder-labeling/unlabeled-placeholder",
            inside: [
                "reports": .array([
                    .object([
                        "at": F.ago(m), "kind": .string("progress"), "text": .string("TODO: numbers"),
                        "placeholder": .bool(true),
                    ])
                ])
            ],
            past: [
                "reports": .array([
                    .object([
                        "at": F.ago(m), "kind": .string("progress"), "text": .string("TODO: numbers"),
                        "placeholder": .bool(false),
                    ])
                ])
            ]),
        Case(
            rule: "placeholder-labeling/unlabeled-placeholder",
            inside: [
                "status": .string("completed"),
                "completion": .object(["claimed_at": F.ago(m), "evidence": evidence, "placeholders": .array([])]),
            ],
            past: [
                "status": .string("completed"),
                "completion": .object([
                    "claimed_at": F.ago(m), "evidence": evidence, "placeholders": .array([.string("chart 3")]),
                ]),
            ]),
        Case(
            rule: "writeback-approval/unapproved-writeback",
            inside: [
                "writebacks": .array([
                    .object([
                        "writeback_id": .string("wb1"), "status": .string("applied"), "approved_by": .string("alice"),
                    ])
                ])
            ],
            past: [
                "writebacks": .array([
                    .object(["writeback_id": .string("wb1"), "status": .string("applied"), "approved_by": .null])
                ])
            ]),
        Case(
            rule: "writeback-approval/approval-pending",
            inside: [
                "writebacks": .array([
                    .object([
                        "writeback_id": .string("wb1"), "status": .string("proposed"), "proposed_at": F.ago(4 * h),
                    ])
                ])
            ],
            past: [
                "writebacks": .array([
                    .object([
                        "writeback_id": .string("wb1"), "status": .string("proposed"), "proposed_at": F.ago(4 * h + 1),
                    ])
                ])
            ]),
        Case(
            rule: "mission-failure/failed", inside: ["status": .string("awaiting_review")],
            past: ["status": .string("failed"), "failure_reason": .string("crm_timeout")]),
        Case(
            rule: "tool-scope/unauthorized-tool",
            inside: ["allowed_tools": .array([.string("web_search"), .string("crm_write")])],
            past: ["tool_calls": .array([.object(["tool": .string("crm_write"), "at": F.ago(m)])])]),
        Case(
            rule: "model-routing/tier-violation", inside: ["model_tier": .string("tier_local_private")],
            past: ["model_tier": .string("tier_cloud_standard")]),
        Case(
            rule: "data-scope/unauthorized-data-access",
            inside: [
                "allowed_data_scopes": .array([.string("crm.accounts"), .string("finance.ledger")]),
                "data_accesses": .array([F.access("finance.ledger")]),
            ], past: ["data_accesses": .array([F.access("crm.accounts"), F.access("finance.ledger")])]),
        Case(
            rule: "network-egress/egress-violation",
            inside: ["network_calls": .array([F.call("wiki.corp", "internal")])],
            past: [
                "network_calls": .array([F.call("wiki.corp", "internal"), F.call("api.example.com", "allowlisted")])
            ]),
        Case(
            rule: "admission/autonomy-exceeded", inside: ["autonomy_tier": .string("assisted")],
            past: ["autonomy_tier": .string("supervised")]),
        Case(
            rule: "admission/review-missing", inside: F.completed(risk: "high", verdict: "approved"),
            past: F.completed(risk: "high", verdict: "changes_requested")),
    ]

    @Test func theHealthyBaseRaisesNothing() throws {
        #expect(try F.rules([:]).isEmpty)
    }

    @Test(arguments: cases)
    func justInsideRaisesNothingJustPastRaisesExactlyThatRule(c: Case) throws {
        #expect(try F.rules(c.inside).isEmpty, "inside the threshold")
        #expect(try F.rules(c.past) == [c.rule], "past the threshold")
    }

    @Test func everyShippedRuleHasACase() {
        #expect(Set(Self.cases.map(\.rule)) == Set(RuleBook.all.map(\.id)))
        #expect(Set(F.packs.values.flatMap { $0.rules.map(\.id) }) == Set(RuleBook.all.map(\.id)))
    }

    @Test func terminalMissionsRaiseNothing() throws {
        let completed: [String: JSONValue] = [
            "status": .string("completed"), "completion": .object(["claimed_at": F.ago(m), "evidence": Self.evidence]),
            "last_checkpoint_at": F.ago(5 * h), "tool_calls": .array([.object(["tool": .string("rm_rf")])]),
        ]
        #expect(try F.rules(completed).isEmpty, "completed with sufficient evidence")
        var cancelled = completed
        cancelled["status"] = .string("cancelled")
        cancelled["completion"] = .null
        #expect(try F.rules(cancelled).isEmpty)
    }

    @Test func missingFactsRaiseNothing() throws {
        #expect(
            try F.rules([
                "allowed_tools": .null, "tool_calls": .null, "model_tier": .null, "token_budget": .null,
                "time_budget_ms": .null,
            ]).isEmpty)
        // No allowed list, no permitted class, no tier: the guard rules have nothing to judge.
        #expect(
            try F.rules([
                "allowed_data_scopes": .null, "data_accesses": .array([F.access("hr.records")]), "egress_class": .null,
                "network_calls": .array([F.call("paste.example.net", "open")]), "autonomy_tier": .null,
            ]).isEmpty)
        #expect(
            try F.rules(["allowed_tools": .null, "tool_calls": .array([.object(["tool": .string("anything")])])])
                .isEmpty)
    }

    @Test func aSilentTaskIsNotAlsoAMissedCheckpoint() throws {
        let silent: [String: JSONValue] = [
            "reports": .array([]), "last_checkpoint_at": .null, "started_at": F.ago(40 * m),
            "created_at": F.ago(40 * m), "stage_entered_at": F.ago(40 * m),
        ]
        #expect(try F.rules(silent) == ["anti-blackhole/silent-task"])
    }

    @Test func missedCheckpointSeverityRisesWithIntervalsMissed() throws {
        let rules = F.defaults
        let warn = PolicyCatalog.evaluate(
            try F.mission(["last_checkpoint_at": F.ago(31 * m)]), rules: rules, now: F.now)
        let crit = PolicyCatalog.evaluate(
            try F.mission([
                "last_checkpoint_at": F.ago(46 * m), "stage_entered_at": F.ago(50 * m), "started_at": F.ago(50 * m),
                "created_at": F.ago(50 * m),
            ]),
            rules: rules, now: F.now)
        #expect(warn.map(\.severity) == [.warning])
        #expect(crit.map(\.severity) == [.critical])
    }

    @Test(arguments: [
        ("every_output", 0, true), ("every_output", 1, true), ("every_output", 2, false),
        ("at_least_one", 0, true), ("at_least_one", 1, false), ("claim", 0, true), ("claim", 1, false),
    ])
    func completionStrengths(strength: String, evidenceLevel: Int, fires: Bool) throws {
        // 0: no evidence; 1: evidence without a hash; 2: hashed evidence naming the output
        let items: [JSONValue] = [
            [], [.object(["kind": .string("document"), "ref": .string("memo.md")])],
            [
                .object([
                    "kind": .string("advisory_memo"), "ref": .string("memo.md"),
                    "sha256": .string(String(repeating: "ab", count: 32)),
                ])
            ],
        ][evidenceLevel].map { $0 }
        let profile = try F.profile(
            thresholds: "      completion-evidence/unverified-completion:\n        required_strength: \(strength)\n")
        let rules = try PolicyResolution.resolve(profile: profile, available: F.packs).1
        let found = try F.rules(
            [
                "status": .string("completed"),
                "completion": .object(["claimed_at": F.ago(m), "evidence": .array(items)]),
            ], parameters: rules)
        #expect(found == (fires ? ["completion-evidence/unverified-completion"] : []))
    }

    @Test(arguments: [
        ("TODO: add numbers", true), ("todo list", true), ("see [placeholder]", true), ("Lorem Ipsum dolor", true),
        ("TBD.", true),
        ("mastodon feed", false), ("outbid", false), ("photodocumentation", false), ("final numbers", false),
        ("mastodon, then TODO", true), ("naïve tbd—later", true), ("TODOs", false), ("ÉTODO", false),
    ])
    func placeholderMarkersMatchWholeWords(text: String, matches: Bool) {
        let markers = ["TODO", "TBD", "FIXME", "lorem ipsum", "[placeholder]"]
        #expect((PlaceholderMarkers.firstMatch(in: text, markers: markers) != nil) == matches)
    }
}

@Suite struct PolicyResolutionTests {
    typealias F = PolicyFixture

    func refusal(thresholds: String = "", overrides: String = "", packs: [String]? = nil) throws -> String? {
        do {
            _ = try PolicyResolution.resolve(
                profile: try F.profile(thresholds: thresholds, overrides: overrides, packs: packs), available: F.packs)
            return nil
        } catch let error as ConfigurationError {
            #expect(error.exitCode == .configuration)
            return error.message
        }
    }

    @Test func strengtheningIsAlwaysAllowedRelaxingOnlyInsideTheRange() throws {
        #expect(try refusal(thresholds: "      checkpoint-cadence/missed-checkpoint:\n        grace_ms: 0\n") == nil)
        #expect(
            try refusal(thresholds: "      anti-blackhole/silent-task:\n        acceptance_sla_ms: 1000\n") == nil,
            "stricter than the range")
        #expect(
            try refusal(thresholds: "      anti-blackhole/silent-task:\n        acceptance_sla_ms: 1800000\n") == nil,
            "at the lax bound")
        let message = try #require(
            try refusal(thresholds: "      anti-blackhole/silent-task:\n        acceptance_sla_ms: 1800001\n"))
        #expect(
            message.hasPrefix(
                "fixture.yaml:11: spec.policies.thresholds.anti-blackhole/silent-task.acceptance_sla_ms: 1800001"))
        #expect(message.contains("pack anti-blackhole@1.0.0") && message.contains("rule anti-blackhole/silent-task"))
        #expect(message.contains("60000...1800000"))
    }

    @Test func choicesAndFlagsFollowTheirTunableBounds() throws {
        #expect(
            try refusal(
                thresholds:
                    "      completion-evidence/unverified-completion:\n        required_strength: every_output\n")
                == nil)
        #expect(
            try refusal(
                thresholds: "      completion-evidence/unverified-completion:\n        required_strength: vibes\n")?
                .contains("must be one of") == true)
        #expect(
            try refusal(thresholds: "      placeholder-labeling/unlabeled-placeholder:\n        markers: [x]\n")?
                .contains("fixed by the pack") == true)
    }

    @Test func unknownRulesAndParametersAreNamed() throws {
        #expect(
            try refusal(thresholds: "      checkpoint-cadence/missed-checkpoint:\n        grace: 1\n")?.contains(
                "did you mean \"grace_ms\"") == true)
        #expect(
            try refusal(thresholds: "      checkpoint-cadence/missed-checkpoin:\n        grace_ms: 1\n")?.contains(
                "did you mean \"checkpoint-cadence/missed-checkpoint\"") == true)
        #expect(
            try refusal(thresholds: "      budget/time-exceeded:\n        x: 1\n", packs: ["checkpoint-cadence"])?
                .contains("its pack is not enabled") == true)
        #expect(try refusal(packs: ["checkpoint-cadance"])?.contains("did you mean \"checkpoint-cadence\"") == true)
    }

    @Test func severityMayOnlyBeRaised() throws {
        #expect(try refusal(overrides: "      mission-failure/failed:\n        severity: critical\n") == nil)
        let message = try #require(
            try refusal(overrides: "      tool-scope/unauthorized-tool:\n        severity: info\n"))
        #expect(message.contains("weakens the severity critical"))
        let rules = try PolicyResolution.resolve(
            profile: try F.profile(overrides: "      mission-failure/failed:\n        severity: critical\n"),
            available: F.packs
        ).1
        #expect(rules.first { $0.ruleID == "mission-failure/failed" }?.severity == .critical)
    }
}

/// The guard plane's rules: data scopes, egress classes, autonomy tiers.
@Suite struct GuardRuleTests {
    typealias F = PolicyFixture

    @Test func eachScopeOutsideTheListIsItsOwnFinding() throws {
        let mission = try F.mission([
            "data_accesses": .array([
                F.access("crm.accounts"), F.access("hr.records"), F.access("finance.ledger"), F.access("hr.records"),
            ])
        ])
        let findings = PolicyCatalog.evaluate(mission, rules: F.defaults, now: F.now)
        #expect(findings.map(\.rule_id) == Array(repeating: "data-scope/unauthorized-data-access", count: 2))
        #expect(findings.map(\.subject) == ["finance.ledger", "hr.records"], "one episode per mission and scope")
        #expect(findings.last?.facts["accesses"] == .number(2))
        #expect(findings.allSatisfy { $0.outcome == .block && $0.severity == .critical })
    }

    @Test(arguments: [
        ("none", "internal", true), ("internal", "internal", false), ("allowlisted", "internal", false),
        ("allowlisted", "open", true), ("open", "open", false), ("none", "none", false),
    ])
    func egressClassesAreOrdered(permitted: String, called: String, fires: Bool) throws {
        let rules = try F.rules([
            "egress_class": .string(permitted), "network_calls": .array([F.call("host.example", called)]),
        ])
        #expect(rules == (fires ? ["network-egress/egress-violation"] : []))
    }

    @Test func anUnknownEgressClassIsRefusedNotGuessed() throws {
        #expect(throws: DecodingError.self) { try F.mission(["egress_class": .string("anywhere")]) }
        #expect(throws: DecodingError.self) { try F.mission(["autonomy_tier": .string("full")]) }
    }

    /// A review is required from the profile's risk level, or for a sensitive class, once completed.
    @Test(
        arguments: [
            ("low", "internal", nil, false), ("medium", "internal", nil, false), ("high", "internal", nil, true),
            ("critical", "public", "changes_requested", true), ("low", "confidential", nil, true),
            ("low", "restricted", "approved", false), ("critical", "restricted", "approved", false),
            ("unknown-level", "internal", nil, false),
        ] as [(String, String, String?, Bool)])
    func aCompletedMissionNeedsItsReview(risk: String, sensitivity: String, verdict: String?, fires: Bool) throws {
        var changes = F.completed(risk: risk, verdict: verdict)
        changes["sensitivity_class"] = .string(sensitivity)
        #expect(try F.rules(changes) == (fires ? ["admission/review-missing"] : []))
        var running = changes
        running["status"] = .string("running")
        running["completion"] = .null
        #expect(try F.rules(running).isEmpty, "only a completed mission is judged")
        let lax = try PolicyResolution.resolve(
            profile: try F.profile(
                thresholds: "      admission/review-missing:\n        review_required_from: critical\n"),
            available: F.packs
        ).1
        #expect(
            try F.rules(changes, parameters: lax).contains("admission/review-missing")
                == (fires && (risk == "critical" || sensitivity != "internal" && sensitivity != "public")))
    }

    @Test func theProfileAdmitsAutonomy() throws {
        let profile = try F.profile(
            thresholds: "      admission/autonomy-exceeded:\n        max_autonomy_tier: supervised\n")
        let rules = try PolicyResolution.resolve(profile: profile, available: F.packs).1
        #expect(try F.rules(["autonomy_tier": .string("supervised")], parameters: rules).isEmpty)
        #expect(
            try F.rules(["autonomy_tier": .string("autonomous")], parameters: rules) == ["admission/autonomy-exceeded"])
    }
}
