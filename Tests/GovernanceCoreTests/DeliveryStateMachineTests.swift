import Foundation
import Testing

@testable import GovernanceCore

/// The delivery-truth invariants of DESIGN §2, proven on the one transition function.
@Suite struct DeliveryStateMachineTests {
    static let t0 = Date(timeIntervalSince1970: 1_795_176_000)

    static let legal: Set<String> = [
        "prepared>queued", "prepared>blocked", "queued>prepared", "queued>dispatched", "queued>blocked",
        "dispatched>pending_external_send", "dispatched>acked", "dispatched>blocked", "pending_external_send>acked",
        "pending_external_send>blocked",
    ]

    static func notice(in state: DeliveryState) throws -> Notice {
        var n = try Notice(
            Notice.Header(
                notice_id: "ntc-test", rule_id: "r", severity: .warning, mission_id: "m1", correlation_id: "m1",
                event_id: "e", decision_id: "d", dedup_key: "m1/r", episode_id: "ep", target: "operator",
                message: NoticeMessage(title: "t", text: "x"), profile: "p@1", capability_descriptor: "c@1",
                created_at: t0),
            initial: .queued, reason: "finding", by: "test")
        let path: [DeliveryState]
        switch state {
        case .prepared: path = [.prepared]
        case .queued: path = []
        case .dispatched: path = [.dispatched]
        case .pending_external_send: path = [.dispatched, .pending_external_send]
        case .acked: path = [.dispatched, .acked]
        case .blocked: path = [.blocked]
        }
        for step in path {
            n = try n.transitioned(
                to: step, at: t0, by: "test", reason: "setup", evidence: step == .acked ? evidence : nil)
        }
        return n
    }

    static let evidence = AckEvidence(kind: .sender_ack, at: t0, message_id: "msg-1", sender_mode: ReceiptMode(.shim))

    @Test(arguments: DeliveryState.allCases)
    func everyMoveIsLegalExactlyWhenTheTableSaysSo(from: DeliveryState) throws {
        for to in DeliveryState.allCases {
            let n = try Self.notice(in: from)
            let isLegal = Self.legal.contains("\(from.rawValue)>\(to.rawValue)")
            let result = Result {
                try n.transitioned(
                    to: to, at: Self.t0, by: "test", reason: "r", evidence: to == .acked ? Self.evidence : nil)
            }
            switch result {
            case .success(let next):
                #expect(isLegal, "\(from) -> \(to) was allowed")
                #expect(next.state == to)
                #expect(next.transitions.count == n.transitions.count + 1)
                #expect(next.transitions.last?.from == from && next.transitions.last?.to == to)
            case .failure(let error):
                #expect(!isLegal, "\(from) -> \(to) was refused: \(error)")
                #expect(error as? TransitionError == .illegal(notice: "ntc-test", from: from, to: to))
            }
        }
    }

    @Test func finalStatesHaveNoSuccessors() {
        #expect(DeliveryState.acked.legalSuccessors.isEmpty)
        #expect(DeliveryState.blocked.legalSuccessors.isEmpty)
        #expect(DeliveryState.allCases.filter(\.isFinal) == [.acked, .blocked])
    }

    @Test(arguments: [DeliveryState.dispatched, .pending_external_send])
    func ackedRequiresSufficientEvidence(from: DeliveryState) throws {
        let n = try Self.notice(in: from)
        #expect(throws: TransitionError.ackWithoutEvidence(notice: "ntc-test")) {
            try n.transitioned(to: .acked, at: Self.t0, by: "x", reason: "r")
        }
        let noMessageID = AckEvidence(kind: .sender_ack, at: Self.t0, sender_mode: ReceiptMode(.shim))
        #expect(throws: TransitionError.ackWithoutEvidence(notice: "ntc-test")) {
            try n.transitioned(to: .acked, at: Self.t0, by: "x", reason: "r", evidence: noMessageID)
        }
        let anonymous = AckEvidence(kind: .operator_attestation, at: Self.t0)
        #expect(throws: TransitionError.ackWithoutEvidence(notice: "ntc-test")) {
            try n.transitioned(to: .acked, at: Self.t0, by: "x", reason: "r", evidence: anonymous)
        }
        let attested = AckEvidence(kind: .operator_attestation, at: Self.t0, by: "alice")
        let acked = try n.transitioned(to: .acked, at: Self.t0, by: "alice", reason: "operator ack", evidence: attested)
        #expect(acked.state == .acked && acked.ack_evidence == attested)
    }

    @Test func evidenceCannotRideOnAnotherMove() throws {
        let n = try Self.notice(in: .dispatched)
        #expect(throws: TransitionError.evidenceWithoutAck(notice: "ntc-test", to: .pending_external_send)) {
            try n.transitioned(to: .pending_external_send, at: Self.t0, by: "x", reason: "r", evidence: Self.evidence)
        }
    }

    @Test func transitionsAreAppendedAndHashChained() throws {
        let n0 = try Self.notice(in: .queued)
        let n1 = try n0.transitioned(to: .dispatched, at: Self.t0, by: "rgov-dispatcher", reason: "spool")
        let n2 = try n1.transitioned(
            to: .pending_external_send, at: Self.t0.addingTimeInterval(1), by: "rgov-bridge", reason: "dry_run")
        #expect(Array(n2.transitions.prefix(2)) == n1.transitions, "earlier records are never rewritten")
        #expect(n2.transitions[0].prev_sha256 == (try CanonicalJSON.sha256(n0.header)))
        #expect(n2.transitions[1].prev_sha256 == (try CanonicalJSON.sha256(n2.transitions[0])))
        #expect(n2.transitions[2].prev_sha256 == (try CanonicalJSON.sha256(n2.transitions[1])))
        #expect(n2.transitions[2].by == "rgov-bridge" && n2.transitions[2].reason == "dry_run")
    }

    @Test func aNoticeCannotBeBornDispatchedOrAcked() {
        for initial in [DeliveryState.dispatched, .pending_external_send, .acked, .blocked] {
            #expect(throws: RgovError.self) {
                try Notice(
                    Notice.Header(
                        notice_id: "n", rule_id: "r", severity: .info, mission_id: "m", correlation_id: "m",
                        event_id: "e", decision_id: "d", dedup_key: "k", episode_id: "ep", target: "o",
                        message: NoticeMessage(title: "", text: ""), profile: "p@1", capability_descriptor: "c@1",
                        created_at: Self.t0),
                    initial: initial, reason: "r", by: "t")
            }
        }
    }

    @Test func noticeRoundTripsThroughItsFileEncoding() throws {
        let n = try Self.notice(in: .acked)
        let decoded = try CanonicalJSON.decode(Notice.self, from: try CanonicalJSON.encodeFile(n))
        #expect(decoded == n)
    }
}
