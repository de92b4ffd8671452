import Foundation

/// An operator hold: the bridge and dispatcher leave a held notice alone.
public struct NoticeHold: Codable, Sendable, Equatable {
    public var by: String
    public var at: Date
    public var reason: String
}

/// A notice (queue item): what an operator must be told, and the full history of telling them.
///
/// Its fixed fields are one `Header`, made once and never changed (read as `notice.rule_id`);
/// the rest is its delivery: state, transitions, attempts, evidence. On disk both are one JSON
/// object, as they always were.
@dynamicMemberLookup
public struct Notice: Codable, Sendable, Equatable {
    public let header: Header
    public private(set) var delivery: Delivery

    /// What changes as the notice is delivered.
    ///
    /// Its state, transitions, attempts, evidence and chain head are set only in this file, by
    /// `transitioned` and `recordingReceipt`.
    public struct Delivery: Codable, Sendable, Equatable {
        public var schema = "rgov.notice/v1"
        public var task_id: String
        public var updated_at: Date
        public fileprivate(set) var state: DeliveryState
        public fileprivate(set) var state_reason: String
        public fileprivate(set) var transitions: [Transition]
        public fileprivate(set) var attempts: Int
        public fileprivate(set) var ack_evidence: AckEvidence?
        /// SHA-256 of the newest record of this notice's chain (a transition or a receipt): the next
        /// record's `prev_sha256`.
        ///
        /// The chain stays linear however many attempts a retry takes.
        public fileprivate(set) var chain_head_sha256: String
        public var hold: NoticeHold?
        public var next_attempt_at: Date?
    }

    /// The fields fixed at creation; the first transition's `prev_sha256` is their hash, so an
    /// edit to any of them breaks the chain.
    public struct Header: Codable, Sendable, Equatable {
        public var notice_id: String
        public var rule_id: String
        public var severity: Severity
        public var mission_id: String
        public var correlation_id: String
        public var event_id: String
        public var decision_id: String
        public var dedup_key: String
        public var episode_id: String
        public var target: String
        public var message: NoticeMessage
        public var profile: String
        /// The SHA-256 of the profile's bytes (its snapshot): `id@version` alone cannot tell an
        /// edited profile that kept its version from the original.
        public var profile_sha256: String?
        public var capability_descriptor: String
        public var created_at: Date
        /// A blocked notice that an operator requeued is linked from its replacement.
        public var requeued_from: String? = nil
        /// `finding`, or a follow-up of one: `reminder`, `escalation`, `resolved`.
        public var notice_kind: NoticeKind = .finding
        /// For a follow-up, the episode's first notice.
        public var follows: String? = nil
        /// The mission's tenant and actor, from its snapshot (`null` when it had none).
        @MissionParty public var tenant_id: String? = nil
        @MissionParty public var actor_id: String? = nil
        /// Where the state that made it runs (`local`, `staging`, `production`).
        public var environment: StateEnvironment? = nil
    }

    public subscript<T>(dynamicMember field: KeyPath<Header, T>) -> T { header[keyPath: field] }
    public subscript<T>(dynamicMember field: KeyPath<Delivery, T>) -> T { delivery[keyPath: field] }
    public subscript<T>(dynamicMember field: WritableKeyPath<Delivery, T>) -> T {
        get { delivery[keyPath: field] }
        set { delivery[keyPath: field] = newValue }
    }

    /// Creates the notice `header` describes in `initial` (`queued`, or `prepared` when there is
    /// no queue): the one way a notice is made.
    public init(_ header: Header, initial: DeliveryState, reason: String, by: String) throws {
        guard initial == .queued || initial == .prepared else {
            throw RgovError.data("a notice starts as queued or prepared, not \(initial.rawValue)")
        }
        self.header = header
        let first = Transition(
            from: nil, to: initial, at: header.created_at, by: by, reason: reason,
            prev_sha256: try CanonicalJSON.sha256(header))
        self.delivery = Delivery(
            task_id: header.mission_id, updated_at: header.created_at, state: initial, state_reason: reason,
            transitions: [first], attempts: 0, chain_head_sha256: try CanonicalJSON.sha256(first))
    }

    /// One object: the header's fields beside the delivery's.
    public init(from decoder: Decoder) throws {
        header = try Header(from: decoder)
        delivery = try Delivery(from: decoder)
    }

    public func encode(to encoder: Encoder) throws {
        try header.encode(to: encoder)
        try delivery.encode(to: encoder)
    }

    /// Records a receipt that leaves the state as it is (a retry that failed again): the attempt
    /// counts and the chain moves on; the state does not change.
    public func recordingReceipt(_ receipt: Receipt, nextAttemptAt: Date?) throws -> Notice {
        guard receipt.notice_id == header.notice_id, receipt.delivery_state == delivery.state,
            receipt.prev_sha256 == delivery.chain_head_sha256
        else {
            throw RgovError.data(
                "receipt \(receipt.receipt_id) does not continue the chain of \(header.notice_id) in state \(delivery.state.rawValue)"
            )
        }
        var copy = self
        copy.chain_head_sha256 = try CanonicalJSON.sha256(receipt)
        if receipt.attempt_id != nil { copy.attempts += 1 }
        copy.state_reason = receipt.reason.rawValue
        copy.updated_at = receipt.recorded_at
        copy.next_attempt_at = nextAttemptAt
        return copy
    }

    /// Whether a retry of this notice is due at `now`: none is scheduled, its time has come, or
    /// the clock went back since it was scheduled (`updated_at` later than `now`), which would
    /// otherwise stretch the backoff by however far the clock went back.
    public func isDueForRetry(at now: Date) -> Bool {
        guard let next = delivery.next_attempt_at else { return true }
        return next <= now || delivery.updated_at > now
    }

    /// The only code that changes a notice's state (DESIGN §2).
    ///
    /// Refuses moves outside the table, any move out of a final state, and `acked` without
    /// sufficient evidence. A transition caused by a receipt chains to that receipt's hash and
    /// counts the attempt it records.
    public func transitioned(
        to next: DeliveryState, at: Date, by: String, reason: String, evidence: AckEvidence? = nil,
        receipt: Receipt? = nil
    ) throws -> Notice {
        guard delivery.state.legalSuccessors.contains(next) else {
            throw TransitionError.illegal(notice: header.notice_id, from: delivery.state, to: next)
        }
        if next == .acked {
            guard let evidence, evidence.isSufficient else {
                throw TransitionError.ackWithoutEvidence(notice: header.notice_id)
            }
        } else if evidence != nil {
            throw TransitionError.evidenceWithoutAck(notice: header.notice_id, to: next)
        }
        if let receipt {
            guard receipt.notice_id == header.notice_id else {
                throw RgovError.data(
                    "receipt \(receipt.receipt_id) belongs to \(receipt.notice_id), not \(header.notice_id)")
            }
        }
        if let receipt, receipt.prev_sha256 != delivery.chain_head_sha256 {
            throw RgovError.data("receipt \(receipt.receipt_id) does not continue the chain of \(header.notice_id)")
        }
        var copy = self
        let prev = try receipt.map { try CanonicalJSON.sha256($0) } ?? delivery.chain_head_sha256
        let transition = Transition(
            from: delivery.state, to: next, at: at, by: by, reason: reason, prev_sha256: prev,
            receipt_id: receipt?.receipt_id)
        copy.transitions.append(transition)
        copy.chain_head_sha256 = try CanonicalJSON.sha256(transition)
        copy.state = next
        copy.state_reason = reason
        copy.updated_at = at
        copy.ack_evidence = next == .acked ? evidence : nil
        if receipt?.attempt_id != nil { copy.attempts += 1 }
        copy.next_attempt_at = nil
        return copy
    }
}

public enum TransitionError: Error, CustomStringConvertible, Equatable {
    case illegal(notice: String, from: DeliveryState, to: DeliveryState)
    case ackWithoutEvidence(notice: String)
    case evidenceWithoutAck(notice: String, to: DeliveryState)

    public var description: String {
        switch self {
        case .illegal(let id, let from, let to):
            return "notice \(id): \(from.rawValue) -> \(to.rawValue) is not a legal transition"
                + (from.isFinal ? " (\(from.rawValue) is final)" : "")
        case .ackWithoutEvidence(let id):
            return
                "notice \(id): acked requires ack evidence (a sender ack with a message id, or an operator attestation)"
        case .evidenceWithoutAck(let id, let to):
            return "notice \(id): ack evidence given for a move to \(to.rawValue)"
        }
    }
}

/// Why a notice exists: a new finding, or a follow-up in the same episode.
public enum NoticeKind: String, Codable, Sendable, CaseIterable {
    case finding, reminder, escalation, resolved
    /// The bridge could not tell whether another notice was delivered.
    case delivery_unknown
    /// The bridge's primary sender is down: escalations and delivery alerts go through the fallback.
    case provider_outage
}
