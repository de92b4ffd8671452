import Foundation

/// Where a notice stands on its way to an operator.
///
/// Each state proves exactly one thing.
public enum DeliveryState: String, Codable, CaseIterable, Sendable, Comparable {
    /// Recorded, but not accepted into the queue (queue disabled by profile or capability, or held).
    case prepared
    /// Waiting for the dispatcher.
    case queued
    /// A spool handoff exists. Proves dispatch, not delivery.
    case dispatched
    /// Handed toward a sender; delivery not proven (dry run, no ack, retry pending, outcome unknown).
    case pending_external_send
    /// Ack evidence exists: a sender's proof or an operator's attestation. Final.
    case acked
    /// Refused, with the reason recorded. Final.
    case blocked

    public var isFinal: Bool { self == .acked || self == .blocked }

    /// The legal moves of DESIGN §2; nothing else may change a notice's state.
    public var legalSuccessors: Set<DeliveryState> {
        switch self {
        case .prepared: return [.queued, .blocked]
        case .queued: return [.prepared, .dispatched, .blocked]
        case .dispatched: return [.pending_external_send, .acked, .blocked]
        case .pending_external_send: return [.acked, .blocked]
        case .acked, .blocked: return []
        }
    }

    private var order: Int { Self.allCases.firstIndex(of: self) ?? 0 }
    public static func < (a: DeliveryState, b: DeliveryState) -> Bool { a.order < b.order }
}

/// Why a send ended as it did, or why none was made; the constants are the words rgov gives.
///
/// Open, like swift-system's `Errno`: a sender's own word (`http_503`) or an older record's reads back as it is.
public struct DeliveryReason: RawRepresentable, Codable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }

    public static let sent = Self(rawValue: "sent")
    public static let dry_run = Self(rawValue: "dry_run")
    public static let partial_send = Self(rawValue: "partial_send")
    public static let outcome_unknown = Self(rawValue: "outcome_unknown")
    public static let sender_refused = Self(rawValue: "sender_refused")
    public static let send_failed = Self(rawValue: "send_failed")
    public static let connection_failed = Self(rawValue: "connection_failed")
    public static let stopped_before_send = Self(rawValue: "stopped_before_send")
    public static let sent_unconfirmed = Self(rawValue: "sent_unconfirmed")
    public static let not_sent = Self(rawValue: "not_sent")
    public static let temporary_failure = Self(rawValue: "temporary_failure")
    public static let sender_failed = Self(rawValue: "sender_failed")
    public static let sender_configuration_refused = Self(rawValue: "sender_configuration_refused")
    public static let sender_unavailable = Self(rawValue: "sender_unavailable")
    public static let sending_disabled_by_profile = Self(rawValue: "sending_disabled_by_profile")
    public static let bridge_capability_missing = Self(rawValue: "bridge_capability_missing")
    public static let spool_handoff_missing = Self(rawValue: "spool_handoff_missing")
    public static let attempts_exhausted = Self(rawValue: "attempts_exhausted")
    public static let lifetime_exhausted = Self(rawValue: "lifetime_exhausted")
    public static let operator_attestation = Self(rawValue: "operator_attestation")
    public static let external_ack = Self(rawValue: "external_ack")
    /// This reason, with what the send last met (`attempts_exhausted (last: sender_failed)`).
    public func last(_ met: DeliveryReason) -> DeliveryReason { Self(rawValue: "\(rawValue) (last: \(met))") }
}

/// The proof behind `acked`.
///
/// No other path reaches `acked`.
public struct AckEvidence: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable {
        /// A binding that declares ack support returned an explicit ok with a message id.
        case sender_ack
        /// An operator attested delivery with `rgov ack`, naming who and when.
        case operator_attestation
        /// An upper runtime or relay dropped evidence into `operator-notify-bridge-acks/` matching
        /// the notice's idempotency key.
        case external_ack
        /// The `shim`, a local trial sender, "acked" by appending to a file: counted apart
        /// everywhere, never proof that a person saw the notice.
        case synthetic
    }

    public var kind: Kind
    public var at: Date
    public var message_id: String?
    public var sender_mode: ReceiptMode?
    public var receipt_id: String?
    public var by: String?
    public var os_user: String?
    /// An attestation's author's groups, from the operating system when the ack was made: what a
    /// `group:NAME` operator entry is judged by, then and at verify.
    public var os_groups: [String]? = nil
    public var note: String?

    /// Evidence strong enough for `acked`: a sender ack names its message id, an attestation its author.
    public var isSufficient: Bool {
        switch kind {
        case .sender_ack, .synthetic: return !(message_id ?? "").isEmpty && !(sender_mode?.rawValue ?? "").isEmpty
        case .operator_attestation: return !(by ?? "").isEmpty
        case .external_ack: return !(message_id ?? "").isEmpty && !(by ?? "").isEmpty
        }
    }
}

/// One appended step in a notice's history.
///
/// Never rewritten.
public struct Transition: Codable, Sendable, Equatable {
    /// nil for the record that creates the notice.
    public var from: DeliveryState?
    public var to: DeliveryState
    public var at: Date
    public var by: String
    public var reason: String
    /// SHA-256 of the previous record of this notice (the header, a transition or a receipt).
    public var prev_sha256: String
    /// The receipt that caused this transition, when one did.
    public var receipt_id: String?
}
