import Foundation
import Testing

@testable import GovernanceCore

/// The one retry rule: backoff from the notice's age within bounds, `Retry-After` honoured, and
/// the attempts and the lifetime ending it.
@Suite struct RetryPolicyTests {
    static let policy = RetryPolicy(
        minimalBackoffMs: 60_000, maximalBackoffMs: 600_000, maxAttempts: 3, maxLifetimeMs: 3_600_000)
    static let retry = SendVerdict(
        state: .pending_external_send, reason: DeliveryReason(rawValue: "http_503"), retry: true)

    @Test func theWaitGrowsWithAgeWithinItsBounds() throws {
        let notice = try DeliveryStateMachineTests.notice(in: .dispatched)
        let t0 = DeliveryStateMachineTests.t0
        for (age, wait) in [(0, 60_000), (120_000, 120_000), (1_200_000, 600_000)] as [(Int64, Int64)] {
            let now = t0.adding(ms: age)
            let (verdict, next) = Self.policy.decide(Self.retry, for: notice, attempted: true, now: now)
            #expect(verdict == Self.retry && next == now.adding(ms: wait), "age \(age)")
        }
        var asked = Self.retry
        asked.retryAfterMs = 900_000
        #expect(
            Self.policy.decide(asked, for: notice, attempted: true, now: t0).nextAttemptAt == t0.adding(ms: 900_000))
        let final = SendVerdict(state: .acked, reason: .sent)
        let kept = Self.policy.decide(final, for: notice, attempted: true, now: t0)
        #expect(kept.verdict == final && kept.nextAttemptAt == nil)
    }

    @Test func attemptsAndLifetimeEndIt() throws {
        var notice = try DeliveryStateMachineTests.notice(in: .pending_external_send)
        let t0 = DeliveryStateMachineTests.t0
        for n in 1...2 {
            let receipt = Receipt(
                receipt_id: "rcp-\(n)", attempt_id: "a\(n)", notice_id: notice.notice_id, mission_id: "m1",
                task_id: "m1", correlation_id: "m1", delivery_state: .pending_external_send,
                sender_mode: ReceiptMode(.webhook),
                reason: DeliveryReason(rawValue: "http_503"), ack_evidence: nil, sha256: "", sender_exit_status: nil,
                sender_message_id: nil,
                sender_stderr_tail: nil, duration_ms: nil, recorded_at: t0, recorded_by: "test",
                prev_sha256: notice.chain_head_sha256, profile: "p@1", capability_descriptor: "c@1",
                capability_gaps: nil, next_attempt_at: nil)
            notice = try notice.recordingReceipt(receipt, nextAttemptAt: nil)
        }
        #expect(notice.attempts == 2)
        let spent = Self.policy.decide(Self.retry, for: notice, attempted: true, now: t0)
        #expect(
            spent.verdict.state == .blocked && spent.verdict.reason.rawValue == "attempts_exhausted (last: http_503)")
        #expect(Self.policy.decide(Self.retry, for: notice, attempted: false, now: t0).nextAttemptAt != nil)
        let late = Self.policy.decide(Self.retry, for: notice, attempted: false, now: t0.adding(ms: 3_500_000))
        #expect(late.verdict.reason.rawValue == "lifetime_exhausted (last: http_503)" && late.nextAttemptAt == nil)
    }
}
