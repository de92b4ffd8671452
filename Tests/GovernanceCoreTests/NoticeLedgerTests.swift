import Foundation
import Testing

@testable import GovernanceCore

/// The ledger's order of records, proven on the files it leaves: a decision before its notice, a
/// handoff before `dispatched`, an intent before a send, a receipt before the notice moves.
@Suite struct NoticeLedgerTests {
    static let t0 = DeliveryStateMachineTests.t0
    static let stamp = LedgerStamp(
        profile: "p@1", descriptor: "c@1", profileSHA256: String(repeating: "a", count: 64), capabilityGaps: ["queue"])

    static func ledger() throws -> NoticeLedger {
        let layout = StateLayout(root: try temporaryDirectory("ledger") + "/state")
        try layout.prepare()
        // The secret the tests dispatch with (`secret: "s"`), as the dispatcher reads it.
        try DurableFile.write(Data("s".utf8), to: layout.idempotencySecret)
        return NoticeLedger(layout: layout, stamp: stamp)
    }

    static func notice(_ id: String = "ntc-l1") throws -> Notice {
        try Notice(
            Notice.Header(
                notice_id: id, rule_id: "r/x", severity: .warning, mission_id: "m1", correlation_id: "m1",
                event_id: "evt-1", decision_id: "dec-" + id, dedup_key: "m1/r/x", episode_id: "ep", target: "operator",
                message: NoticeMessage(title: "t", text: "x"), profile: "p@1", capability_descriptor: "c@1",
                created_at: t0),
            initial: .queued, reason: "finding", by: "rgov-watchdog")
    }

    /// A notice opened and dispatched: its path in `dispatched/` and the notice as stored.
    static func dispatched(_ ledger: NoticeLedger) throws -> (String, Notice) {
        let notice = try notice()
        try ledger.open(notice, reason: "finding")
        try ledger.dispatch(
            notice, at: ledger.store.path(for: notice), mode: .shim, secret: "s", by: "rgov-dispatcher",
            now: t0.adding(ms: 1000))
        let path = try #require(ledger.store.locate(notice.notice_id))
        return (path, try ledger.store.read(path))
    }

    static func sends(_ ledger: NoticeLedger) -> SendLedger {
        SendLedger(
            notices: ledger, actor: "rgov-bridge",
            alerts: SendLedger.Alerts(target: "ops", initial: .queued, why: nil))
    }

    /// A dispatched notice whose first send has its intent recorded.
    static func underWay() throws -> (NoticeLedger, SendLedger, String, Notice, SenderAttempt) {
        let ledger = try Self.ledger()
        let sends = Self.sends(ledger)
        let (path, notice) = try Self.dispatched(ledger)
        let attempt = Self.attempt(of: notice)
        #expect(try sends.recordIntent(attempt, for: notice, at: path))
        return (ledger, sends, path, notice, attempt)
    }

    static func attempt(of notice: Notice) -> SenderAttempt {
        SenderAttempt(
            attempt_id: StateLayout.attemptID(notice: notice.notice_id, number: 1), notice_id: notice.notice_id,
            attempt_number: 1, idempotency_key_sha256: SHA256.hex(of: "idem"), sender_mode: .shim,
            started_at: t0.adding(ms: 2000),
            deadline_ms: 1000, bridge_pid: 1, host: "h")
    }

    @Test func aNoticeOpensAfterTheDecisionItDerivesFromIt() throws {
        let ledger = try Self.ledger()
        let notice = try Self.notice()
        #expect(try ledger.open(notice, outcome: .notify, reason: "overdue", day: "2026-11-19"))
        let decision = try CanonicalJSON.decode(
            DecisionRecord.self,
            from: try Sys.readFile(ledger.layout.decision(notice.decision_id, day: "2026-11-19")))
        #expect(decision.notice_id == notice.notice_id && decision.event_id == "evt-1" && decision.rule_id == "r/x")
        #expect(decision.decided_by == "rgov-watchdog" && decision.decided_at == notice.created_at)
        #expect(decision.reason == "overdue" && decision.profile_sha256 == Self.stamp.profileSHA256)
        let kinds = try MissionChain(layout: ledger.layout).links(of: "m1").map(\.kind)
        #expect(kinds == [.decision, .notice])
        // Opened again (a rerun): nothing new, one notice, no second link.
        #expect(try !ledger.open(notice, outcome: .notify, reason: "overdue", day: "2026-11-19"))
        #expect(try ledger.layout.artifactNames(in: ledger.layout.notices(.queued)) == ["ntc-l1.json"])
        #expect(try MissionChain(layout: ledger.layout).links(of: "m1").count == 2)
    }

    @Test func aDispatchedNoticeHasItsHandoffFirstAndARerunKeepsIt() throws {
        let ledger = try Self.ledger()
        let notice = try Self.notice()
        try ledger.open(notice, reason: "finding")
        let queued = ledger.store.path(for: notice)
        // The move fails after the handoff is durable (here: the notice is not where it was read).
        #expect(throws: NoticeChanged.self) {
            try ledger.dispatch(
                notice, at: queued + ".gone", mode: .shim, secret: "s", by: "rgov-dispatcher", now: Self.t0)
        }
        #expect(try ledger.store.read(queued).state == .queued)
        // The rerun finds that handoff, keeps it, and only finishes the move.
        try ledger.dispatch(
            notice, at: queued, mode: .shim, secret: "s", by: "rgov-dispatcher", now: Self.t0.adding(ms: 9000))
        let dispatched = try ledger.store.read(try #require(ledger.store.locate(notice.notice_id)))
        #expect(dispatched.state == .dispatched)
        let handoff = try #require(ledger.handoff(of: dispatched))
        #expect(handoff.dispatched_at == Self.t0 && handoff.dispatched_by == "rgov-dispatcher")
        #expect(handoff.profile_sha256 == Self.stamp.profileSHA256)
        let kinds = try MissionChain(layout: ledger.layout).links(of: "m1").map(\.kind)
        #expect(kinds == [.decision, .notice, .spool])
    }

    @Test func aConclusionWritesTheReceiptThenMovesTheNoticeThenFilesTheAttempt() throws {
        let (ledger, sends, path, notice, attempt) = try Self.underWay()
        #expect(try ledger.store.isBeingSent(notice.notice_id))
        // An operator's ack is refused while the send is under way, and writes nothing.
        let evidence = AckEvidence(kind: .operator_attestation, at: Self.t0, by: "ana")
        #expect(throws: NoticeChanged.self) {
            try ledger.acknowledge(
                notice, at: path, evidence: evidence, receiptID: "rcp-op", mode: .attestation,
                reason: .operator_attestation, moveReason: "attested", by: "ana",
                recordedBy: "rgov ack", now: Self.t0)
        }
        #expect(Sys.kind(ledger.layout.receipt("rcp-op", day: Timestamp.day(Self.t0))) == .missing)
        let receipt = ledger.receipt(
            StateLayout.receiptID(attempt.attempt_id), for: notice, attempt: attempt.attempt_id, state: .acked,
            mode: ReceiptMode(.shim), reason: DeliveryReason(rawValue: "ok"),
            evidence: AckEvidence(kind: .synthetic, at: Self.t0, message_id: "m", sender_mode: ReceiptMode(.shim)),
            at: Self.t0.adding(ms: 3000), by: "rgov-bridge", withGaps: true)
        #expect(receipt.ack_evidence?.receipt_id == receipt.receipt_id && receipt.capability_gaps == ["queue"])
        let (stored, receiptPath) = try sends.conclude(
            notice, at: path, attempt: attempt, receipt: receipt, now: Self.t0.adding(ms: 3000))
        #expect(stored == receipt)
        #expect(Sys.kind(receiptPath) == .regular)
        let acked = try ledger.store.read(try #require(ledger.store.locate(notice.notice_id)))
        #expect(acked.state == .acked && acked.attempts == 1)
        #expect(try !ledger.store.isBeingSent(notice.notice_id))
        #expect(try ledger.layout.attemptFiles(of: notice.notice_id).count == 1)
        // A delivery proven is no unknown outcome: no alert.
        #expect(try ledger.layout.artifactNames(in: ledger.layout.notices(.queued)).isEmpty)
    }

    @Test func anAcknowledgementAfterACrashContinuesFromTheReceiptOnDisk() throws {
        let ledger = try Self.ledger()
        let (path, notice) = try Self.dispatched(ledger)
        let receiptID = StateLayout.receiptID(notice.notice_id + ".ack2")
        func acknowledge(by who: String, at now: Date) throws -> Notice {
            try ledger.acknowledge(
                notice, at: path, evidence: AckEvidence(kind: .operator_attestation, at: now, by: who),
                receiptID: receiptID, mode: .attestation, reason: .operator_attestation,
                moveReason: "attested",
                by: who, recordedBy: "rgov ack", now: now
            ).notice
        }
        // A first run created its receipt, then crashed before linking it or moving the notice.
        let first = ledger.receipt(
            receiptID, for: notice, state: .acked, mode: .attestation,
            reason: .operator_attestation,
            evidence: AckEvidence(kind: .operator_attestation, at: Self.t0, by: "ana"), at: Self.t0, by: "rgov ack")
        let firstFile = ledger.layout.receipt(receiptID, day: Timestamp.day(Self.t0))
        try Sys.makeDirectory((firstFile as NSString).deletingLastPathComponent)
        try DurableFile.create(try CanonicalJSON.encodeFile(first), at: firstFile)
        // The rerun, a day later: the notice continues from the receipt on disk, not a new one.
        let acked = try acknowledge(by: "ben", at: Self.t0.adding(ms: 86_400_000))
        #expect(acked.state == .acked && acked.ack_evidence?.by == "ana")
        #expect(acked.transitions.last?.prev_sha256 == (try CanonicalJSON.sha256(first)))
        #expect(try ledger.layout.receiptFiles(of: notice.notice_id).count == 1)
        let report = try StateCheck(layout: ledger.layout).run()
        #expect(report.violations.isEmpty, "\(report.violations)")
    }

    @Test func recoveryFinishesFromADurableReceiptAndReportsASendWithoutOne() throws {
        let (ledger, sends, path, notice, attempt) = try Self.underWay()
        // A crash before any result: the outcome is unknown, and recovery says so without moving the notice.
        var recovered = try sends.recover(stage: "bridge", now: Self.t0.adding(ms: 5000))
        #expect(recovered.settled.isEmpty && recovered.unknown.map(\.attempt) == [attempt])
        #expect(try ledger.store.read(path).state == .dispatched)
        // A crash after the receipt: recovery moves the notice as the receipt says and files the attempt.
        let receipt = ledger.receipt(
            StateLayout.receiptID(attempt.attempt_id), for: notice, attempt: attempt.attempt_id,
            state: .pending_external_send, mode: ReceiptMode(.shim), reason: .outcome_unknown,
            at: Self.t0.adding(ms: 3000),
            by: "rgov-bridge")
        _ = try MissionChain(layout: ledger.layout).publish(
            receipt, at: ledger.layout.receipt(receipt.receipt_id, day: Timestamp.day(attempt.started_at)))
        // Recovered the next day: the alert's decision is filed under the receipt's day all the same.
        recovered = try sends.recover(stage: "bridge", now: Self.t0.adding(ms: 86_400_000))
        #expect(recovered.settled.map(\.receipt) == [receipt] && recovered.unknown.isEmpty)
        let moved = try ledger.store.read(try #require(ledger.store.locate(notice.notice_id)))
        #expect(moved.state == .pending_external_send && moved.attempts == 1)
        #expect(try !ledger.store.isBeingSent(notice.notice_id))
        // The unknown outcome, not to be retried, is told to the operator: one alert, opened with its decision.
        let alertID = Identifier.derived("ntc", notice.notice_id, "outcome-unknown", receipt.receipt_id)
        let alert = try ledger.store.read(try #require(ledger.store.locate(alertID)))
        #expect(alert.notice_kind == .delivery_unknown && alert.follows == notice.notice_id && alert.target == "ops")
        #expect(alert.state == .queued && alert.transitions[0].by == "rgov-bridge")
        #expect(Sys.kind(ledger.layout.decision(alert.decision_id, day: Timestamp.day(Self.t0))) == .regular)
        #expect(try ledger.layout.artifactNames(in: ledger.layout.notices(.queued)) == [alertID + ".json"])
    }
}
