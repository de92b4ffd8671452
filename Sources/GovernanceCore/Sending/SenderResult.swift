import Foundation

/// What `rgov-sender` prints for one spool item: one JSON line per notice (DESIGN §1).
///
/// Facts only: whether the sender ran cleanly (`ok`), whether it handed the message to a channel
/// (`sent`), and whether the channel explicitly confirmed it (`acked` with a `message_id`). The
/// bridge, not the sender, decides what those facts prove.
public struct SenderResult: Codable, Sendable, Equatable {
    public var schema = "rgov.sender-result/v1"
    public var notice_id: String
    public var mode: String
    public var ok: Bool
    public var sent: Bool
    public var acked: Bool
    public var message_id: String?
    /// Machine reason: `dry_run`, `sent`, `temporary_failure`, `permanent_failure`, ...
    public var reason: String
    public var retryable: Bool
    public var detail: String?

    public init(
        notice_id: String, mode: String, ok: Bool, sent: Bool, acked: Bool, message_id: String? = nil,
        reason: String, retryable: Bool = false, detail: String? = nil
    ) {
        self.notice_id = notice_id
        self.mode = mode
        self.ok = ok
        self.sent = sent
        self.acked = acked
        self.message_id = message_id
        self.reason = reason
        self.retryable = retryable
        self.detail = detail
    }
}

/// The bridge's reading of one sender run: the state it proves, why, and the evidence if any.
public struct SendVerdict: Sendable, Equatable {
    public var state: DeliveryState
    public var reason: String
    public var evidence: AckEvidence?
    public var messageID: String?

    /// Maps a finished child process to a delivery state, claiming nothing the facts do not show.
    ///
    /// - A deadline hit, a crash or unreadable output after the sender started may have sent:
    ///   `pending_external_send`, `outcome_unknown`.
    /// - `acked` needs an explicit ok and message id, from a mode that declares ack support, on a
    ///   runtime whose descriptor has ack receipts. Anything less that was sent is `sent_unconfirmed`.
    public static func judge(
        _ child: ChildResult, noticeID: String, mode: SenderMode, runtimeHasAckReceipts: Bool, at: Date
    ) -> SendVerdict {
        if child.timedOut { return SendVerdict(state: .pending_external_send, reason: "outcome_unknown") }
        switch child.status {
        case 0: break
        case ExitCode.temporaryFailure.rawValue:
            return SendVerdict(state: .pending_external_send, reason: "temporary_failure")
        case ExitCode.configuration.rawValue:
            return SendVerdict(state: .blocked, reason: "sender_configuration_refused")
        case let status where child.signaled:
            return SendVerdict(
                state: .pending_external_send, reason: "outcome_unknown", messageID: "signal-\(status - 128)")
        default: return SendVerdict(state: .blocked, reason: "sender_failed")
        }
        let line = child.stdoutText.split(separator: "\n").first { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
        guard let line, let result = try? CanonicalJSON.decode(SenderResult.self, from: Data(line.utf8)),
            result.notice_id == noticeID
        else { return SendVerdict(state: .pending_external_send, reason: "outcome_unknown") }
        if !result.ok {
            return result.retryable
                ? SendVerdict(state: .pending_external_send, reason: "temporary_failure")
                : SendVerdict(state: .blocked, reason: result.reason.isEmpty ? "sender_refused" : result.reason)
        }
        if !result.sent {
            return SendVerdict(
                state: .pending_external_send, reason: result.reason.isEmpty ? "not_sent" : result.reason)
        }
        if result.acked, let id = result.message_id, !id.isEmpty, mode.declaresAck, runtimeHasAckReceipts {
            let evidence = AckEvidence(kind: .sender_ack, at: at, message_id: id, sender_mode: mode.rawValue)
            return SendVerdict(state: .acked, reason: "sender_ack", evidence: evidence, messageID: id)
        }
        return SendVerdict(state: .pending_external_send, reason: "sent_unconfirmed", messageID: result.message_id)
    }
}

/// The sender modes this build can run; a profile asking for another is refused before any stage acts.
public enum DeliveryPipeline {
    public static let implementedModes: [SenderMode] = [.dryRun, .shim]
}
