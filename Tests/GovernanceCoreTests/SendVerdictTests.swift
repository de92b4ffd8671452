import Foundation
import Testing

@testable import GovernanceCore

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
                notice_id: notice, mode: .shim, ok: ok, sent: sent, acked: acked, message_id: id,
                reason: DeliveryReason(rawValue: reason),
                retryable: retryable)) + "\n"
    }

    func judge(_ c: ChildResult, mode: SenderMode = .shim, ackReceipts: Bool = true, declaresAck: Bool = true)
        -> SendVerdict
    {
        SendVerdict.judge(
            c, result: SenderBinding(mode: mode, values: [:]).kind.interpret(c, noticeID: "n1"),
            binding: Self.binding(mode, declaresAck: declaresAck), runtimeHasAckReceipts: ackReceipts, at: Self.at)
    }

    /// A binding of `mode` that declares acks when its mode can (dry-run and webhook never do).
    static func binding(_ mode: SenderMode, declaresAck: Bool) -> SenderBinding {
        SenderBinding(
            mode: mode,
            values: declaresAck ? ["declares_ack": .text("true"), "ack_policy": .text("sender_ok")] : [:])
    }

    @Test func onlyAnExplicitAckFromAnAckingBindingIsAcked() {
        let v = judge(Self.child(0, Self.line()))
        #expect(v.state == .acked && v.evidence?.message_id == "m-1" && v.evidence?.kind == .synthetic, "the shim's")
        let channel = Self.line().replacingOccurrences(of: "\"mode\":\"shim\"", with: "\"mode\":\"command\"")
        #expect(judge(Self.child(0, channel), mode: .command).evidence?.kind == .sender_ack, "a channel's")
        #expect(judge(Self.child(0, Self.line()), ackReceipts: false).state == .pending_external_send)
        #expect(judge(Self.child(0, Self.line()), ackReceipts: false).reason.rawValue == "sent_unconfirmed")
        #expect(judge(Self.child(0, Self.line()), mode: .dryRun).reason.rawValue == "sent_unconfirmed")
        #expect(judge(Self.child(0, Self.line(acked: false))).reason.rawValue == "sent_unconfirmed")
        #expect(judge(Self.child(0, Self.line(id: nil))).reason.rawValue == "sent_unconfirmed")
        #expect(judge(Self.child(0, Self.line(id: ""))).reason.rawValue == "sent_unconfirmed")
    }

    @Test func theEvidenceIsTheBridgesBindingsNeverWhatTheSenderPrinted() {
        // A sender claiming another mode changes nothing: the binding the bridge runs decides.
        let claimsCommand = Self.line().replacingOccurrences(of: "\"mode\":\"shim\"", with: "\"mode\":\"command\"")
        let shim = judge(Self.child(0, claimsCommand))
        #expect(shim.evidence?.kind == .synthetic && shim.evidence?.sender_mode == ReceiptMode(.shim))
        #expect(shim.reason.rawValue == "synthetic")
        let channel = SenderBinding(mode: .command, values: ["declares_ack": .text("true")])
        let command = SendVerdict.judge(
            Self.child(0, Self.line()),
            result: SenderResult(
                notice_id: "n1", mode: .shim, ok: true, sent: true, acked: true, message_id: "m-1", reason: .sent),
            binding: channel, runtimeHasAckReceipts: true, at: Self.at)
        #expect(command.evidence?.kind == .sender_ack && command.evidence?.sender_mode == ReceiptMode(.command))
        #expect(command.reason.rawValue == "sender_ack")
    }

    @Test func reasonsAndReceiptModesReadBackAnyWordAsWritten() throws {
        // Words rgov does not give (a channel's, an older record's) decode and encode unchanged.
        struct Words: Codable, Equatable {
            var reason: DeliveryReason
            var sender_mode: ReceiptMode
        }
        for json in [
            #"{"reason":"recipient_unknown","sender_mode":"carrier-pigeon"}"#,
            #"{"reason":"outcome_unknown","sender_mode":"dry-run"}"#,
            #"{"reason":"external_ack","sender_mode":"external"}"#,
        ] {
            let words = try CanonicalJSON.decode(Words.self, from: Data(json.utf8))
            #expect(CanonicalJSON.line(words) == json)
        }
        let known = try CanonicalJSON.decode(
            Words.self, from: Data(#"{"reason":"outcome_unknown","sender_mode":"dry-run"}"#.utf8))
        #expect(known == Words(reason: .outcome_unknown, sender_mode: ReceiptMode(.dryRun)))
        #expect("\(known.reason) \(SenderMode.dryRun) \(known.sender_mode)" == "outcome_unknown dry-run dry-run")
    }

    @Test func uncertaintyIsOutcomeUnknownNeverSuccess() {
        for c in [
            Self.child(0, "garbage"), Self.child(0, ""), Self.child(0, Self.line(notice: "other")),
            Self.child(143, Self.line(), timedOut: true, signaled: true), Self.child(137, "", signaled: true),
        ] {
            let v = judge(c)
            #expect(v.state == .pending_external_send && v.reason.rawValue == "outcome_unknown")
        }
    }

    @Test func failuresAreSortedIntoTemporaryAndPermanent() {
        #expect(
            judge(Self.child(75))
                == SendVerdict(state: .pending_external_send, reason: .temporary_failure, retry: true))
        #expect(
            judge(Self.child(1)) == SendVerdict(state: .pending_external_send, reason: .sender_failed, retry: true))
        #expect(judge(Self.child(78)) == SendVerdict(state: .blocked, reason: .sender_configuration_refused))
        #expect(
            judge(Self.child(0, Self.line(ok: false, reason: "recipient_unknown")))
                == SendVerdict(state: .blocked, reason: DeliveryReason(rawValue: "recipient_unknown")))
        #expect(
            judge(Self.child(0, Self.line(ok: false, reason: "rate", retryable: true))).reason.rawValue
                == "temporary_failure")
        #expect(
            judge(Self.child(0, Self.line(sent: false, acked: false, reason: "dry_run")))
                == SendVerdict(state: .pending_external_send, reason: .dry_run))
    }
}

@Suite struct SenderEnvelopeTests {
    static func child(_ stdout: String) -> ChildResult { SendVerdictTests.child(0, stdout) }

    func verdict(_ stdout: String, mode: SenderMode, declaresAck: Bool) -> SendVerdict {
        let c = Self.child(stdout)
        return SendVerdict.judge(
            c, result: SenderBinding(mode: mode, values: [:]).kind.interpret(c, noticeID: "n1"),
            binding: SendVerdictTests.binding(mode, declaresAck: declaresAck), runtimeHasAckReceipts: true,
            at: SendVerdictTests.at)
    }

    @Test func commandEnvelopes() {
        #expect(
            verdict("", mode: .command, declaresAck: true).reason.rawValue == "sent_unconfirmed",
            "exit 0 without an envelope is a send, unproven")
        #expect(verdict("<<garbage>>", mode: .command, declaresAck: true).reason.rawValue == "sent_unconfirmed")
        #expect(
            verdict(#"{"ok":true,"message_id":"m9","acked":true}"#, mode: .command, declaresAck: true).state == .acked)
        #expect(
            verdict(#"{"ok":true,"message_id":"m9","acked":true}"#, mode: .command, declaresAck: false).reason.rawValue
                == "sent_unconfirmed")
        #expect(
            verdict(#"{"ok":false,"reason":"bad_target"}"#, mode: .command, declaresAck: true)
                == SendVerdict(state: .blocked, reason: DeliveryReason(rawValue: "bad_target")))
        #expect(verdict(#"{"ok":false,"retryable":true}"#, mode: .command, declaresAck: true).retry)
        #expect(
            verdict(#"{"outcome":"unknown"}"#, mode: .command, declaresAck: true).reason.rawValue == "outcome_unknown")
    }

    @Test func openclawEnvelopes() {
        #expect(verdict(#"{"ok":true,"messageId":"oc-1"}"#, mode: .openclawCLI, declaresAck: true).state == .acked)
        #expect(
            verdict(#"{"ok":true,"messageId":"oc-1"}"#, mode: .openclawCLI, declaresAck: false).reason.rawValue
                == "sent_unconfirmed")
        #expect(verdict(#"{"ok":false,"error":"gateway down"}"#, mode: .openclawCLI, declaresAck: true).retry)
        #expect(
            verdict(#"{"ok":false,"reason":"unknown_channel"}"#, mode: .openclawCLI, declaresAck: true)
                == SendVerdict(state: .blocked, reason: DeliveryReason(rawValue: "unknown_channel")))
        #expect(
            verdict(
                #"{"deliveryStatus":{"status":"suppressed","reason":"cancelled_by_message_sending_hook"}}"#,
                mode: .openclawCLI, declaresAck: true
            ).state == .blocked)
        #expect(
            verdict(
                #"{"ok":false,"messageId":"oc-2","deliveryStatus":{"status":"partial_failed","sentBeforeError":true}}"#,
                mode: .openclawCLI, declaresAck: true
            ).reason.rawValue == "partial_send")
        #expect(
            verdict(
                #"{"result":{"deliveryStatus":{"status":"sent"},"messageId":"oc-3"},"ok":true}"#, mode: .openclawCLI,
                declaresAck: true
            ).messageID == "oc-3")
        #expect(verdict("not json", mode: .openclawCLI, declaresAck: true).reason.rawValue == "outcome_unknown")
    }
}

@Suite struct TickStageReportTests {
    @Test func aStageLineReadsAsItsReportAndEncodesAsPrinted() throws {
        // The tick keeps what each stage printed, byte for byte, read through the report's own type.
        for (line, type) in [
            (#"{"disabled":false,"dispatched":["n1"],"duration_ms":11,"quarantined":[],"skipped_held":0}"#, "Report"),
            (#"{"skipped":"lock_held","stage":"bridge"}"#, "StageLockHeld"),
            (#"{"something":["else"]}"#, "JSONValue"),
        ] {
            let value = Tick.StageReport.types.lazy.compactMap { try? CanonicalJSON.decode($0, from: Data(line.utf8)) }
                .first
            #expect(value.map { "\(Swift.type(of: $0))" } == type)
            #expect(CanonicalJSON.line(Tick.StageReport(value: try #require(value))) == line)
        }
    }
}
