import Foundation
import Testing

@testable import GovernanceCore

@Suite struct MissedCheckpointRuleTests {
    static let now = Date(timeIntervalSince1970: 1_795_176_000)
    static let rule = MissedCheckpointRule(parameters: .init(default_interval_ms: 900_000, grace_ms: 120_000))

    static func mission(
        status: String = "running", lastCheckpointAgoMs: Int64?, startedAgoMs: Int64 = 7_200_000,
        intervalMs: Int64? = nil
    ) throws -> MissionSnapshot {
        var object: [String: JSONValue] = [
            "mission_id": .string("m1"), "mission_type": .string("oracle_advisory"), "status": .string(status),
            "stage": .string("worker"),
            "created_at": .string(Timestamp.format(now.addingTimeInterval(-Double(startedAgoMs) / 1000 - 60))),
            "started_at": .string(Timestamp.format(now.addingTimeInterval(-Double(startedAgoMs) / 1000))),
        ]
        if let ago = lastCheckpointAgoMs {
            object["last_checkpoint_at"] = .string(Timestamp.format(now.addingTimeInterval(-Double(ago) / 1000)))
        }
        if let intervalMs { object["checkpoint_interval_ms"] = .number(Double(intervalMs)) }
        return try CanonicalJSON.decode(MissionSnapshot.self, from: try CanonicalJSON.encode(JSONValue.object(object)))
    }

    @Test(arguments: [
        // (last checkpoint ago, mission interval, fires)
        (Int64(1_020_000), Int64?.none, false),  // exactly interval + grace: inside
        (1_020_001, nil, true),  // 1 ms past
        (1_019_999, nil, false),
        (300_000, nil, false),
        (420_001, Int64?(300_000), true),  // the mission's own interval wins
        (420_000, 300_000, false),
    ])
    func thresholdIsIntervalPlusGrace(agoMs: Int64, interval: Int64?, fires: Bool) throws {
        let finding = Self.rule.evaluate(
            try Self.mission(lastCheckpointAgoMs: agoMs, intervalMs: interval), now: Self.now)
        #expect((finding != nil) == fires)
        if let finding {
            #expect(finding.rule_id == "checkpoint-cadence/missed-checkpoint")
            #expect(finding.outcome == .force_checkpoint)
        }
    }

    @Test func silentSinceStartCountsFromStart() throws {
        let quiet = try Self.mission(lastCheckpointAgoMs: nil, startedAgoMs: 1_000_000)
        #expect(Self.rule.evaluate(quiet, now: Self.now) == nil)
        let silent = try Self.mission(lastCheckpointAgoMs: nil, startedAgoMs: 1_100_000)
        let finding = try #require(Self.rule.evaluate(silent, now: Self.now))
        #expect(finding.summary.contains("since start"))
    }

    @Test func severityRisesWithIntervalsMissed() throws {
        #expect(
            Self.rule.evaluate(try Self.mission(lastCheckpointAgoMs: 1_900_000), now: Self.now)?.severity == .warning)
        #expect(
            Self.rule.evaluate(try Self.mission(lastCheckpointAgoMs: 2_700_000), now: Self.now)?.severity == .critical)
    }

    @Test(arguments: ["queued", "awaiting_review", "awaiting_approval", "completed", "failed", "cancelled"])
    func onlyRunningMissionsOweCheckpoints(status: String) throws {
        #expect(
            Self.rule.evaluate(try Self.mission(status: status, lastCheckpointAgoMs: 9_000_000), now: Self.now) == nil)
    }

    @Test func unknownSnapshotFieldsSurviveARewrite() throws {
        let text =
            #"{"mission_id":"m1","mission_type":"oracle_advisory","status":"queued","created_at":"2026-11-20T12:00:00+01:00","runtime_hints":{"priority":"high","n":[1,2]}}"#
        let mission = try CanonicalJSON.decode(MissionSnapshot.self, from: Data(text.utf8))
        let again = try CanonicalJSON.decode(JSONValue.self, from: try CanonicalJSON.encode(mission))
        guard case .object(let o) = again else { Issue.record("not an object"); return }
        #expect(o["runtime_hints"] == .object(["priority": .string("high"), "n": .array([.number(1), .number(2)])]))
        #expect(o["created_at"] == .string("2026-11-20T11:00:00.000Z"))
    }
}

@Suite struct SendVerdictTests {
    static let at = Date(timeIntervalSince1970: 1_795_176_000)

    static func child(_ status: Int32, _ stdout: String = "", timedOut: Bool = false, signaled: Bool = false)
        -> ChildResult
    {
        ChildResult(
            status: status, signaled: signaled, timedOut: timedOut, stdout: Array(stdout.utf8),
            stdoutBytes: stdout.utf8.count,
            stdoutSHA256: SHA256.hex(of: stdout), stderrTail: [], durationSeconds: 0.01,
            killedLingeringDescendants: false)
    }

    static func line(
        ok: Bool = true, sent: Bool = true, acked: Bool = true, id: String? = "m-1", reason: String = "sent",
        retryable: Bool = false, notice: String = "n1"
    ) -> String {
        CanonicalJSON.line(
            SenderResult(
                notice_id: notice, mode: "shim", ok: ok, sent: sent, acked: acked, message_id: id, reason: reason,
                retryable: retryable)) + "\n"
    }

    func judge(_ c: ChildResult, mode: SenderMode = .shim, ackReceipts: Bool = true) -> SendVerdict {
        SendVerdict.judge(c, noticeID: "n1", mode: mode, runtimeHasAckReceipts: ackReceipts, at: Self.at)
    }

    @Test func onlyAnExplicitAckFromAnAckingBindingIsAcked() {
        let v = judge(Self.child(0, Self.line()))
        #expect(v.state == .acked && v.evidence?.message_id == "m-1" && v.evidence?.kind == .sender_ack)
        #expect(judge(Self.child(0, Self.line()), ackReceipts: false).state == .pending_external_send)
        #expect(judge(Self.child(0, Self.line()), ackReceipts: false).reason == "sent_unconfirmed")
        #expect(judge(Self.child(0, Self.line()), mode: .dryRun).reason == "sent_unconfirmed")
        #expect(judge(Self.child(0, Self.line(acked: false))).reason == "sent_unconfirmed")
        #expect(judge(Self.child(0, Self.line(id: nil))).reason == "sent_unconfirmed")
        #expect(judge(Self.child(0, Self.line(id: ""))).reason == "sent_unconfirmed")
    }

    @Test func uncertaintyIsOutcomeUnknownNeverSuccess() {
        for c in [
            Self.child(0, "garbage"), Self.child(0, ""), Self.child(0, Self.line(notice: "other")),
            Self.child(143, Self.line(), timedOut: true, signaled: true), Self.child(137, "", signaled: true),
        ] {
            let v = judge(c)
            #expect(v.state == .pending_external_send && v.reason == "outcome_unknown")
        }
    }

    @Test func failuresAreSortedIntoTemporaryAndPermanent() {
        #expect(judge(Self.child(75)) == SendVerdict(state: .pending_external_send, reason: "temporary_failure"))
        #expect(judge(Self.child(1)) == SendVerdict(state: .blocked, reason: "sender_failed"))
        #expect(judge(Self.child(78)) == SendVerdict(state: .blocked, reason: "sender_configuration_refused"))
        #expect(
            judge(Self.child(0, Self.line(ok: false, reason: "recipient_unknown")))
                == SendVerdict(state: .blocked, reason: "recipient_unknown"))
        #expect(
            judge(Self.child(0, Self.line(ok: false, reason: "rate", retryable: true))).reason == "temporary_failure")
        #expect(
            judge(Self.child(0, Self.line(sent: false, acked: false, reason: "dry_run")))
                == SendVerdict(state: .pending_external_send, reason: "dry_run"))
    }
}
