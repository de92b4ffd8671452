import Foundation

/// What `rgov-sender` prints for one spool item: one JSON line per notice (DESIGN §1).
///
/// Facts only: whether the sender ran cleanly (`ok`), whether it handed the message to a channel
/// (`sent`), and whether the channel explicitly confirmed it (`acked` with a `message_id`). The
/// bridge, not the sender, decides what those facts prove.
public struct SenderResult: Codable, Sendable, Equatable {
    public var schema = "rgov.sender-result/v1"
    public var notice_id: String
    public var mode: SenderMode
    public var ok: Bool
    public var sent: Bool
    public var acked: Bool
    public var message_id: String?
    public var reason: DeliveryReason
    public var retryable: Bool = false
    public var detail: String?
    /// The sender cannot tell whether the message went out (a timeout after the request was written).
    public var outcome_unknown: Bool?
    /// The channel asked to be retried no sooner than this (HTTP `Retry-After`).
    public var retry_after_ms: Int64?

    /// A send the sender handed to its channel (`ok` and `sent`).
    static func sent(
        _ noticeID: String, _ mode: SenderMode, acked: Bool = false, messageID: String? = nil,
        reason: DeliveryReason = .sent, detail: String? = nil
    ) -> SenderResult {
        SenderResult(
            notice_id: noticeID, mode: mode, ok: true, sent: true, acked: acked, message_id: messageID, reason: reason,
            detail: detail)
    }

    /// A send that did not go out, or that the sender cannot tell went out.
    static func notSent(
        _ noticeID: String, _ mode: SenderMode, _ reason: DeliveryReason, retryable: Bool = false,
        detail: String? = nil, outcomeUnknown: Bool? = nil, retryAfterMs: Int64? = nil
    ) -> SenderResult {
        SenderResult(
            notice_id: noticeID, mode: mode, ok: false, sent: false, acked: false, reason: reason, retryable: retryable,
            detail: detail, outcome_unknown: outcomeUnknown, retry_after_ms: retryAfterMs)
    }
}

/// The bridge's reading of one sender run: the state it proves, why, and the evidence if any.
public struct SendVerdict: Sendable, Equatable {
    public var state: DeliveryState
    public var reason: DeliveryReason
    public var evidence: AckEvidence?
    public var messageID: String?
    /// A later attempt may succeed: the bridge schedules one (within attempts and lifetime).
    public var retry: Bool = false
    public var retryAfterMs: Int64?
    /// What the sender said about this send, in its own words (`reason: detail`), when it said
    /// anything; the bridge keeps it in the receipt.
    public var senderSaid: String?

    /// Maps a finished child and what it said to a delivery state, claiming nothing the facts do not show.
    ///
    /// - A deadline hit, a signal, unreadable output or a sender's own "unknown" after the send
    ///   started may have sent: `pending_external_send`, `outcome_unknown`.
    /// - Exit 75 is `temporary_failure`, any other failure `sender_failed`: both retried with backoff
    ///   until attempts or lifetime run out. Exit 78 and an explicit non-retryable refusal are final.
    /// - `acked` needs an explicit ok and message id, from a binding that declares ack support, on a
    ///   runtime whose descriptor has ack receipts. Anything less that was sent is `sent_unconfirmed`.
    ///   The evidence's kind and mode are the bridge's own binding's, never what the sender printed.
    public static func judge(
        _ child: ChildResult, result: SenderResult?, binding: SenderBinding, runtimeHasAckReceipts: Bool, at: Date
    ) -> SendVerdict {
        if child.timedOut || child.signaled || child.interrupted {
            return SendVerdict(state: .pending_external_send, reason: .outcome_unknown)
        }
        switch child.status {
        case 0: break
        case ExitCode.temporaryFailure.rawValue:
            return SendVerdict(state: .pending_external_send, reason: .temporary_failure, retry: true)
        case ExitCode.configuration.rawValue:
            return SendVerdict(state: .blocked, reason: .sender_configuration_refused)
        default: return SendVerdict(state: .pending_external_send, reason: .sender_failed, retry: true)
        }
        guard let result, result.outcome_unknown != true else {
            return SendVerdict(state: .pending_external_send, reason: .outcome_unknown)
        }
        if !result.ok {
            return result.retryable
                ? SendVerdict(
                    state: .pending_external_send, reason: .temporary_failure, retry: true,
                    retryAfterMs: result.retry_after_ms)
                : SendVerdict(state: .blocked, reason: result.reason.rawValue.isEmpty ? .sender_refused : result.reason)
        }
        if !result.sent {
            return SendVerdict(
                state: .pending_external_send, reason: result.reason.rawValue.isEmpty ? .not_sent : result.reason)
        }
        if result.reason == .partial_send {
            return SendVerdict(state: .pending_external_send, reason: .partial_send, messageID: result.message_id)
        }
        if result.acked, let id = result.message_id, !id.isEmpty, binding.declaresAck, runtimeHasAckReceipts {
            // The shim's ack is a line in a local file: synthetic, never passed off as a channel's.
            let kind: AckEvidence.Kind = binding.mode == .shim ? .synthetic : .sender_ack
            let evidence = AckEvidence(kind: kind, at: at, message_id: id, sender_mode: ReceiptMode(binding.mode))
            return SendVerdict(
                state: .acked, reason: DeliveryReason(rawValue: kind.rawValue), evidence: evidence, messageID: id)
        }
        return SendVerdict(state: .pending_external_send, reason: .sent_unconfirmed, messageID: result.message_id)
    }
}
