import Foundation
import Testing

@testable import GovernanceCore

/// The operations figures in `STATE/metrics/rgov.prom`: missions finished by type (success rate),
/// escalations, policy blocks, profile activations and rollbacks, the times to acknowledge and to
/// resolve; and the tenant label a profile may ask for.
@Suite struct OperationsFiguresTests {
    /// The team trial posture with the dry-run sender (notices wait for an ack) and a 10-minute
    /// escalation window; `extra` goes under `spec` before `capability_expectations`.
    static func profile(_ h: Harness, named name: String, extra: String = "") throws -> String {
        try h.profile(
            from: "standard-team-trial", named: name,
            replacing: [
                ("      mode: shim\n", "      mode: dry-run\n"),
                ("      window_ms: 3600000", "      window_ms: 600000"),
                ("  capability_expectations:\n", extra + "  capability_expectations:\n"),
            ])
    }

    static let tenantLabel = "  metrics:\n    tenant_label: true\n"

    static func metrics(_ h: Harness) throws -> String {
        String(decoding: try Sys.readFile(Metrics.path(h.layout)), as: UTF8.self)
    }

    /// Rewrites fields of the example mission `id` in this state's `missions/`.
    static func edit(_ h: Harness, _ id: String, _ fields: [String: JSONValue]) throws {
        let path = h.layout.mission(id)
        guard case .object(var object) = try CanonicalJSON.decode(JSONValue.self, from: try Sys.readFile(path)) else {
            throw Harness.SetupError("\(path) is not an object")
        }
        for (key, value) in fields { object[key] = value }
        try DurableFile.write(try CanonicalJSON.encodeFile(JSONValue.object(object)), to: path)
    }

    static func ok(_ run: Harness.Run, _ what: String) {
        #expect(run.status == 0, "\(what): \(run.stdout)\(run.stderr)")
    }

    static func checkWithPromtool(_ text: String) throws {
        guard let promtool = ObservabilityTests.tool("promtool") else { return }
        let check = try ChildProcess.run(
            ChildSpec(
                executable: promtool, arguments: ["check", "metrics"], standardInput: Array(text.utf8), deadline: 60))
        #expect(check.status == 0 && check.stdoutText.isEmpty && check.stderrText.isEmpty, "\(check.stderrText)")
    }

    /// Missions finish, two conditions block, three notices escalate, an operator acks one after
    /// 5 minutes, a condition clears after 11, a profile is activated and rolled back: each figure
    /// has exactly the value that history implies, and a later run adds nothing it already counted.
    @Test func eachFigureFollowsWhatHappened() throws {
        let h = try Harness()
        try h.importExamples()
        let profile = try Self.profile(h, named: "figures")
        Self.ok(try h.tick(profile: profile), "first tick")
        var text = try Self.metrics(h)
        // The shipped examples: one completed oracle mission, one failed crm mission; an
        // unapproved writeback and a tool out of scope block.
        #expect(
            ObservabilityTests.value(
                text, #"rgov_missions_finished_total{status="completed",mission_type="oracle_advisory"}"#) == 1)
        #expect(
            ObservabilityTests.value(
                text, #"rgov_missions_finished_total{status="failed",mission_type="crm_lead_intelligence"}"#) == 1)
        #expect(
            ObservabilityTests.value(
                text, #"rgov_missions_finished_total{status="cancelled",mission_type="crm_lead_intelligence"}"#) == 0,
            "every type and terminal status starts at 0")
        #expect(
            ObservabilityTests.value(text, #"rgov_policy_blocks_total{rule_id="tool-scope/unauthorized-tool"}"#) == 1)
        #expect(
            ObservabilityTests.value(
                text, #"rgov_policy_blocks_total{rule_id="writeback-approval/unapproved-writeback"}"#) == 1)
        #expect(ObservabilityTests.value(text, "rgov_escalations_total") == 0)
        #expect(ObservabilityTests.value(text, "rgov_profile_activations_total") == 1, "the first run took the profile")
        #expect(ObservabilityTests.value(text, "rgov_profile_rollbacks_total") == 0)
        #expect(ObservabilityTests.value(text, #"rgov_notice_ack_seconds_count{kind="operator_attestation"}"#) == 0)
        #expect(ObservabilityTests.value(text, "rgov_episode_resolve_seconds_count") == 0)
        let blocking = try h.notices().filter { $0.notice_kind == .finding }.filter {
            ["tool-scope/unauthorized-tool", "writeback-approval/unapproved-writeback"].contains($0.rule_id)
        }
        #expect(blocking.count == 2)

        // 12:05: an operator acks the failed mission's notice (300 s after it was made).
        let failed = try #require(try h.notices().first { $0.mission_id == "crm-failed-07" })
        Self.ok(try h.run("rgov", ["ack", failed.notice_id, "--by", "alice", "--now", "2026-11-20T12:05:00Z"]), "ack")
        text = try Self.metrics(h)
        #expect(
            ObservabilityTests.value(text, #"rgov_notice_ack_seconds_bucket{kind="operator_attestation",le="60"}"#) == 0
        )
        #expect(
            ObservabilityTests.value(text, #"rgov_notice_ack_seconds_bucket{kind="operator_attestation",le="300"}"#)
                == 1)
        #expect(
            ObservabilityTests.value(text, #"rgov_notice_ack_seconds_bucket{kind="operator_attestation",le="+Inf"}"#)
                == 1)
        #expect(ObservabilityTests.value(text, #"rgov_notice_ack_seconds_sum{kind="operator_attestation"}"#) == 300)
        #expect(ObservabilityTests.value(text, #"rgov_notice_ack_seconds_count{kind="operator_attestation"}"#) == 1)

        // 12:10: the overdue mission reports a checkpoint, the queued one is cancelled.
        try Self.edit(
            h, "crm-overdue-02",
            ["last_checkpoint_at": .string("2026-11-20T12:10:00Z"), "updated_at": .string("2026-11-20T12:10:00Z")])
        try Self.edit(
            h, "crm-queued-05", ["status": .string("cancelled"), "updated_at": .string("2026-11-20T12:10:00Z")])
        // 12:11: past the window, the three notices nobody acked escalate; the overdue one clears.
        Self.ok(try h.tick(profile: profile, extra: ["--now", "2026-11-20T12:11:00Z"]), "tick at 12:11")
        let escalations = try h.notices().filter { $0.notice_kind == .escalation }
        #expect(
            Set(escalations.map(\.mission_id)) == ["catalyst-silent-03", "oracle-writeback-08"]
                && escalations.count == 3, "\(escalations.map(\.rule_id))")
        text = try Self.metrics(h)
        #expect(ObservabilityTests.value(text, "rgov_escalations_total") == 3)
        #expect(
            ObservabilityTests.value(
                text, #"rgov_missions_finished_total{status="cancelled",mission_type="crm_lead_intelligence"}"#) == 1)
        #expect(ObservabilityTests.value(text, #"rgov_episode_resolve_seconds_bucket{le="300"}"#) == 0)
        #expect(ObservabilityTests.value(text, #"rgov_episode_resolve_seconds_bucket{le="900"}"#) == 1)
        #expect(ObservabilityTests.value(text, "rgov_episode_resolve_seconds_sum") == 660)
        #expect(ObservabilityTests.value(text, "rgov_episode_resolve_seconds_count") == 1)

        // An operator activates another profile and rolls it back.
        let other = try Self.profile(h, named: "figures-tenant", extra: Self.tenantLabel)
        let at = ["--by", "e2e", "--now", "2026-11-20T12:11:30Z"]
        Self.ok(try h.run("rgov", ["activate", other, "--reason", "a tenant label"] + at), "activate")
        Self.ok(try h.run("rgov", ["rollback", "--reason", "the tenant label was not wanted"] + at), "rollback")
        Self.ok(try h.tick(extra: ["--now", "2026-11-20T12:12:00Z"]), "tick at 12:12")
        text = try Self.metrics(h)
        #expect(ObservabilityTests.value(text, "rgov_profile_activations_total") == 2)
        #expect(ObservabilityTests.value(text, "rgov_profile_rollbacks_total") == 1)
        try Self.checkWithPromtool(text)

        // A later run sees the same finished missions and counts none again.
        let figures = [
            #"rgov_missions_finished_total{status="completed",mission_type="oracle_advisory"}"#,
            #"rgov_missions_finished_total{status="failed",mission_type="crm_lead_intelligence"}"#,
            #"rgov_missions_finished_total{status="cancelled",mission_type="crm_lead_intelligence"}"#,
            "rgov_escalations_total", #"rgov_policy_blocks_total{rule_id="tool-scope/unauthorized-tool"}"#,
            "rgov_profile_activations_total", "rgov_episode_resolve_seconds_count",
        ]
        let before = figures.map { ObservabilityTests.value(text, $0) }
        #expect(before == [1, 1, 1, 3, 1, 2, 1])
        Self.ok(try h.tick(extra: ["--now", "2026-11-20T12:13:00Z"]), "tick at 12:13")
        text = try Self.metrics(h)
        #expect(figures.map { ObservabilityTests.value(text, $0) } == before)
        let counted = String(decoding: try Sys.readFile(h.layout.watchdogFinishedMissions), as: UTF8.self)
        #expect(
            counted
                == "rgov.finished-missions/v1\ncrm-failed-07\tfailed\ncrm-queued-05\tcancelled\n"
                + "oracle-completed-04\tcompleted\n")
        // A mission that reaches another terminal status is counted for it too; a pruned one is forgotten.
        try Self.edit(h, "crm-queued-05", ["status": .string("failed"), "updated_at": .string("2026-11-20T12:13:30Z")])
        try Sys.unlink(h.layout.mission("oracle-completed-04"))
        Self.ok(try h.tick(extra: ["--now", "2026-11-20T12:14:00Z"]), "tick at 12:14")
        text = try Self.metrics(h)
        #expect(
            ObservabilityTests.value(
                text, #"rgov_missions_finished_total{status="failed",mission_type="crm_lead_intelligence"}"#) == 2)
        #expect(
            ObservabilityTests.value(
                text, #"rgov_missions_finished_total{status="completed",mission_type="oracle_advisory"}"#) == 1,
            "a counter never falls")
        #expect(
            String(decoding: try Sys.readFile(h.layout.watchdogFinishedMissions), as: UTF8.self)
                == "rgov.finished-missions/v1\ncrm-failed-07\tfailed\ncrm-queued-05\tcancelled\ncrm-queued-05\tfailed\n"
        )
        try Self.checkWithPromtool(text)
    }

    /// A completion refused inline is a policy block of the completion rule.
    @Test func aCompletionRefusedInlineIsCountedAsABlock() throws {
        let h = try Harness()
        let report = ["report", "--profile", "standard-team-mode", "--mission", "m-inline"]
        Self.ok(try h.run("rgov", report + ["--kind", "started", "--type", "oracle_advisory"]), "started")
        #expect(try h.run("rgov", report + ["--kind", "completion", "--text", "done"]).status == 65)
        let text = try Self.metrics(h)
        #expect(
            ObservabilityTests.value(
                text, #"rgov_policy_blocks_total{rule_id="completion-evidence/unverified-completion"}"#) == 1, "\(text)"
        )
        try Self.checkWithPromtool(text)
    }

    /// `spec.metrics.tenant_label` adds the snapshot's tenant to the mission metrics (empty for a
    /// mission without one); without it, no sample has a tenant label.
    @Test func theTenantLabelAppearsOnlyWhenTheProfileAsksForIt() throws {
        for tenanted in [false, true] {
            let h = try Harness("tenant\(tenanted)")
            try h.importExamples()
            try Self.edit(h, "crm-failed-07", ["tenant_id": .null])
            try Self.edit(h, "oracle-completed-04", ["tenant_id": .string("globex")])
            let profile = try Self.profile(h, named: "tenant", extra: tenanted ? Self.tenantLabel : "")
            Self.ok(try h.tick(profile: profile), "tick")
            let text = try Self.metrics(h)
            let labelled = text.split(separator: "\n").filter { $0.contains("tenant=") }
            if !tenanted {
                #expect(labelled.isEmpty, "\(labelled)")
                #expect(
                    ObservabilityTests.value(text, #"rgov_missions{status="running",mission_type="oracle_advisory"}"#)
                        == 2)
                continue
            }
            #expect(
                labelled.allSatisfy { $0.hasPrefix("rgov_missions{") || $0.hasPrefix("rgov_missions_finished_total{") })
            #expect(
                ObservabilityTests.value(
                    text, #"rgov_missions{status="running",mission_type="oracle_advisory",tenant="acme"}"#) == 2)
            #expect(
                ObservabilityTests.value(
                    text, #"rgov_missions{status="failed",mission_type="crm_lead_intelligence",tenant=""}"#) == 1)
            #expect(
                ObservabilityTests.value(
                    text, #"rgov_missions{status="completed",mission_type="oracle_advisory",tenant="globex"}"#) == 1)
            #expect(
                ObservabilityTests.value(
                    text,
                    #"rgov_missions_finished_total{status="failed",mission_type="crm_lead_intelligence",tenant=""}"#)
                    == 1)
            #expect(
                ObservabilityTests.value(
                    text,
                    #"rgov_missions_finished_total{status="completed",mission_type="oracle_advisory",tenant="globex"}"#)
                    == 1)
            let missions = text.split(separator: "\n").filter { $0.hasPrefix("rgov_missions{") }
                .compactMap { Double($0.split(separator: " ").last ?? "") }.reduce(0, +)
            #expect(missions == Double(Harness.exampleMissions))
            try Self.checkWithPromtool(text)
        }
    }

    /// A tenant label that is not a boolean is refused with its file and line (exit 78).
    @Test func aTenantLabelThatIsNotABooleanIsRefused() throws {
        let h = try Harness()
        let profile = try Self.profile(h, named: "bad-tenant", extra: "  metrics:\n    tenant_label: maybe\n")
        let run = try h.run("rgov", ["validate", "--profile", profile])
        let line = try #require(
            String(decoding: try Sys.readFile(profile), as: UTF8.self).split(
                separator: "\n", omittingEmptySubsequences: false
            )
            .firstIndex { $0.contains("tenant_label") })
        #expect(run.status == 78)
        #expect(
            run.stderr.contains("\(profile):\(line + 1): spec.metrics.tenant_label: must be true or false"),
            "\(run.stderr)")
    }

    /// The runbook sections of the two new alerts, run as written: each command exits 0 and shows
    /// what the section says it shows.
    @Test func theRunbooksOfTheNewAlertsRunAsWritten() throws {
        let h = try Harness()
        try h.importExamples()
        let profile = try Self.profile(h, named: "runbook")
        Self.ok(try h.tick(profile: profile), "tick")
        // policy-block-spike
        let rule = "tool-scope/unauthorized-tool"
        let listed = try h.run("rgov", ["ls", "--rule", rule, "--since", "2026-11-20T00:00:00Z", "--json"])
        Self.ok(listed, "ls --rule")
        let blocked = try #require(try h.notices().first { $0.rule_id == rule })
        #expect(listed.stdout.contains(blocked.notice_id) && listed.stdout.contains(blocked.mission_id))
        Self.ok(try h.run("rgov", ["show", blocked.mission_id]), "show")
        Self.ok(try h.run("rgov", ["history"]), "history")
        Self.ok(try h.run("rgov", ["ack", blocked.notice_id, "--by", "alice"]), "ack")
        // profile-rollback
        let other = try Self.profile(h, named: "runbook-tenant", extra: Self.tenantLabel)
        Self.ok(try h.run("rgov", ["activate", other, "--by", "e2e", "--reason", "try the tenant label"]), "activate")
        Self.ok(try h.run("rgov", ["rollback", "--by", "e2e", "--reason", "not wanted"]), "rollback")
        let history = try h.run("rgov", ["history", "--json"])
        Self.ok(history, "history --json")
        let records = history.stdout.split(separator: "\n").map {
            (try? CanonicalJSON.decode(ProfileLifecycleEvent.self, from: Data($0.utf8)))
        }
        let rollback = try #require(records.last??.action == .rollback ? records.last ?? nil : nil, "\(history.stdout)")
        let undone = try #require(records.dropLast().last ?? nil)
        Self.ok(try h.run("rgov", ["diff-profiles", rollback.snapshot, undone.snapshot]), "diff-profiles")
        Self.ok(try h.run("rgov", ["validate", "--profile", other]), "validate")
    }
}
