import Foundation

/// Under which posture a record is written: the profile and runtime in force, stamped on every
/// decision and receipt the ledger writes.
public struct LedgerStamp: Sendable {
    /// `id@version` of the profile and of the capability descriptor.
    public var profile: String
    public var descriptor: String
    public var profileSHA256: String
    /// Capabilities the profile would use that the runtime lacks.
    public var capabilityGaps: [String]
    /// Where the state runs (`local`, `staging`, `production`).
    public var environment: StateEnvironment = .local
}

/// A notice's life on disk, in one place: the only writer of notices.
///
/// A notice is opened with its decision, a receipt is durable before the notice moves, and every
/// move goes through `Notice.transitioned`. Stages and operator verbs change notices through the
/// ledger's methods, never through files; `NoticeStore` only reads them.
public struct NoticeLedger: Sendable {
    public let store: NoticeStore
    public let stamp: LedgerStamp
    /// Each write durable on its own, or staged in a stage's transaction (`staged(in:)`).
    let writes: Writes
    public var layout: StateLayout { store.layout }
    var chain: MissionChain { MissionChain(layout: layout, writes: writes) }
    var quarantine: Quarantine { Quarantine(layout: layout, writes: writes) }

    public init(layout: StateLayout, stamp: LedgerStamp, writes: Writes = .immediate) {
        self.store = NoticeStore(layout: layout)
        self.stamp = stamp
        self.writes = writes
    }

    /// This ledger writing in `transaction`: what it records is published at the commit.
    public func staged(in transaction: Transaction) -> NoticeLedger {
        NoticeLedger(layout: layout, stamp: stamp, writes: .staged(transaction))
    }

    /// Publishes a decision in `decisions/<day>/` (the day it was made, unless given), stamped
    /// with the profile in force, and links it into its mission's chain.
    ///
    /// Returns false when an earlier run published it.
    @discardableResult
    public func decide(_ decision: DecisionRecord, day: String? = nil) throws -> Bool {
        var stamped = decision
        stamped.profile_sha256 = stamp.profileSHA256
        stamped.environment = stamp.environment
        return try chain.publish(
            stamped, kind: .decision, id: stamped.decision_id, mission: stamped.mission_id,
            at: layout.decision(stamped.decision_id, day: day ?? Timestamp.day(stamped.decided_at)),
            time: stamped.decided_at
        ).created
    }

    /// Opens `notice` with the decision that made it (`outcome`, for `reason`, filed under `day`):
    /// the decision is durable and chained first.
    ///
    /// Returns false when an earlier run opened it (then it is linked, if a crash kept it from
    /// being linked, and left as it is).
    @discardableResult
    public func open(
        _ notice: Notice, outcome: DecisionRecord.Outcome = .notify, reason: String, day: String? = nil
    ) throws -> Bool {
        let decision = DecisionRecord(
            decision_id: notice.decision_id, event_id: notice.event_id, rule_id: notice.rule_id,
            mission_id: notice.mission_id, task_id: notice.task_id, correlation_id: notice.correlation_id,
            outcome: outcome, reason: reason, decided_at: notice.created_at, decided_by: notice.transitions[0].by,
            notice_id: notice.notice_id, profile: stamp.profile, capability_descriptor: stamp.descriptor,
            tenant_id: notice.tenant_id, actor_id: notice.actor_id)
        let decidedNow = try decide(decision, day: day)
        return try create(notice, decidedNow: decidedNow)
    }

    /// Hands `notice`, read from `path`, to the spool and marks it `dispatched`: the spool handoff
    /// (the proof of dispatch, never of delivery, for a sender of `mode`) is durable first.
    ///
    /// The handoff's id is the notice id, so a rerun after a crash between the two steps finds the
    /// handoff and only finishes the move. Throws `NoticeChanged` when an operator acted meanwhile.
    ///
    /// `secret` is the state's (`IdempotencyKey.secret`), read before the batch began.
    public func dispatch(_ notice: Notice, at path: String, mode: SenderMode, secret: String, by: String, now: Date)
        throws
    {
        let spoolPath = layout.spoolHandoff(notice.notice_id)
        let key = IdempotencyKey.of(notice.notice_id, secret: secret)
        var handoff = SpoolHandoff(
            spool_id: notice.notice_id, notice_id: notice.notice_id, mission_id: notice.mission_id,
            task_id: notice.task_id, correlation_id: notice.correlation_id, rule_id: notice.rule_id,
            severity: notice.severity, target: notice.target,
            idempotency_key_sha256: SHA256.hex(of: key), message: notice.message, sender_mode: mode,
            dispatched_at: now, dispatched_by: by, profile: stamp.profile, capability_descriptor: stamp.descriptor,
            profile_sha256: stamp.profileSHA256, tenant_id: notice.tenant_id, actor_id: notice.actor_id,
            environment: stamp.environment)
        let (created, stored) = try chain.publish(
            handoff, kind: .spool, id: handoff.spool_id, mission: notice.mission_id, at: spoolPath, time: now)
        if !created {
            handoff = try CanonicalJSON.decode(SpoolHandoff.self, from: stored)
            guard handoff.notice_id == notice.notice_id else {
                throw RgovError.data("spool handoff \(spoolPath) belongs to notice \(handoff.notice_id)")
            }
        }
        writes.point("dispatcher.after_spool")
        let next = try notice.transitioned(
            to: .dispatched, at: now, by: by, reason: "spool handoff \(handoff.spool_id)")
        try save(replacing: notice, at: path) { next }
    }

    /// The spool handoff of `notice` with its idempotency key, as a sender is handed it; nil when
    /// it is missing, unreadable, about another notice, or its key is not the one it names.
    public func handoff(of notice: Notice) -> SpoolHandoff? {
        guard let bytes = try? Sys.readFile(layout.spoolHandoff(notice.notice_id), limit: 8 << 20),
            var handoff = try? CanonicalJSON.decode(SpoolHandoff.self, from: bytes),
            handoff.notice_id == notice.notice_id
        else { return nil }
        if handoff.idempotency_key == nil {
            guard let secret = IdempotencyKey.existingSecret(layout) else { return nil }
            handoff.idempotency_key = IdempotencyKey.of(notice.notice_id, secret: secret)
        }
        guard SHA256.hex(of: handoff.key) == handoff.keySHA256 else { return nil }
        return handoff
    }

    /// A receipt about `notice`, chained after the notice's head and stamped with the posture in force.
    ///
    /// `sha256` is what a sender printed (of the empty string when nothing ran).
    public func receipt(
        _ id: String, for notice: Notice, attempt: String? = nil, state: DeliveryState, mode: ReceiptMode,
        reason: DeliveryReason, evidence: AckEvidence? = nil, sha256: String = SHA256.hex(of: ""),
        exitStatus: Int32? = nil, messageID: String? = nil, stderrTail: String? = nil, senderDetail: String? = nil,
        durationMs: Int? = nil, at now: Date, by: String, nextAttemptAt: Date? = nil, withGaps: Bool = false
    ) -> Receipt {
        var evidence = evidence
        evidence?.receipt_id = id
        return Receipt(
            receipt_id: id, attempt_id: attempt, notice_id: notice.notice_id, mission_id: notice.mission_id,
            task_id: notice.task_id, correlation_id: notice.correlation_id, delivery_state: state, sender_mode: mode,
            reason: reason, ack_evidence: evidence, sha256: sha256, sender_exit_status: exitStatus,
            sender_message_id: messageID, sender_stderr_tail: stderrTail, duration_ms: durationMs, recorded_at: now,
            recorded_by: by, prev_sha256: notice.chain_head_sha256, profile: stamp.profile,
            capability_descriptor: stamp.descriptor,
            capability_gaps: withGaps && !stamp.capabilityGaps.isEmpty ? stamp.capabilityGaps : nil,
            next_attempt_at: nextAttemptAt, profile_sha256: stamp.profileSHA256, sender_detail: senderDetail,
            tenant_id: notice.tenant_id, actor_id: notice.actor_id, environment: stamp.environment)
    }

    /// Where a receipt about `notice` that no attempt dates goes (an acknowledgement, a refusal).
    ///
    /// Under the day it is recorded, unless a run that crashed before moving the notice filed it
    /// already, on a day since the notice last changed. The notice then continues from that one.
    public func receiptFile(_ id: String, of notice: Notice, now: Date) -> String {
        var day = notice.updated_at
        while Timestamp.day(day) < Timestamp.day(now) {
            let earlier = layout.receipt(id, day: Timestamp.day(day))
            if Sys.kind(earlier) == .regular { return earlier }
            day = day.adding(ms: 86_400_000)
        }
        return layout.receipt(id, day: Timestamp.day(now))
    }

    /// Moves `notice`, read from `path`, as the already durable `receipt` says.
    ///
    /// Into the receipt's state, or in the same state with the receipt counted. Returns the
    /// notice's new path.
    @discardableResult
    public func apply(_ receipt: Receipt, to notice: Notice, at path: String, by: String, now: Date) throws -> String {
        var next: Notice
        if receipt.delivery_state == notice.state {
            next = try notice.recordingReceipt(receipt, nextAttemptAt: receipt.next_attempt_at)
        } else {
            next = try notice.transitioned(
                to: receipt.delivery_state, at: now, by: by, reason: receipt.reason.rawValue,
                evidence: receipt.ack_evidence, receipt: receipt)
            next.next_attempt_at = receipt.next_attempt_at
        }
        return try save(replacing: notice, at: path) { next }
    }

    /// An acknowledgement that is not a sender's proof (an operator's attestation, a relay's late
    /// evidence): its receipt, then the notice to `acked`, both under the store's lock, and
    /// refused with `NoticeChanged` while a send of the notice is under way.
    ///
    /// The receipt names the evidence's message id; `moveReason` and `by` go into the transition.
    /// After a run that crashed with the receipt durable, the notice continues from that receipt.
    public func acknowledge(
        _ notice: Notice, at path: String, evidence: AckEvidence, receiptID: String, mode: ReceiptMode,
        reason: DeliveryReason, sha256: String = SHA256.hex(of: ""), moveReason: String, by: String,
        recordedBy: String, now: Date
    ) throws -> (notice: Notice, receipt: String) {
        let receipt = self.receipt(
            receiptID, for: notice, state: .acked, mode: mode, reason: reason, evidence: evidence, sha256: sha256,
            messageID: evidence.message_id, at: now, by: recordedBy)
        let receiptFile = self.receiptFile(receiptID, of: notice, now: now)
        var acked = notice
        try save(replacing: notice, at: path, unlessSending: true) {
            let stored = try chain.publish(receipt, at: receiptFile)
            acked = try notice.transitioned(
                to: .acked, at: now, by: by, reason: moveReason, evidence: stored.ack_evidence, receipt: stored)
            return acked
        }
        return (acked, receiptFile)
    }

    /// An operator's hold, which the dispatcher and bridge respect; returns the notice's new path.
    ///
    /// A `queued` notice goes back to `prepared`, one further on keeps its state. Refused with
    /// `NoticeChanged` while a send of it is under way.
    @discardableResult
    public func hold(_ notice: Notice, at path: String, by: String, reason: String?, now: Date) throws -> String {
        var next =
            notice.state == .queued
            ? try notice.transitioned(to: .prepared, at: now, by: by, reason: "held" + (reason.map { ": " + $0 } ?? ""))
            : notice
        next.hold = NoticeHold(by: by, at: now, reason: reason ?? "")
        return try save(replacing: notice, at: path, unlessSending: true) { next }
    }

    /// Makes a notice waiting for its next attempt due at `now` (`rgov retry`, as `postqueue -i`):
    /// the bridge's next run sends it; its state and attempts stay as they are.
    @discardableResult
    public func retryNow(_ notice: Notice, at path: String, now: Date) throws -> String {
        var next = notice
        next.next_attempt_at = now
        return try save(replacing: notice, at: path, unlessSending: true) { next }
    }

    /// Undoes a hold: a held `prepared` notice goes back to `queued`.
    @discardableResult
    public func release(_ notice: Notice, at path: String, by: String, reason: String?, now: Date) throws -> String {
        var next =
            notice.state == .prepared
            ? try notice.transitioned(
                to: .queued, at: now, by: by, reason: "released" + (reason.map { ": " + $0 } ?? ""))
            : notice
        next.hold = nil
        return try save(replacing: notice, at: path, unlessSending: true) { next }
    }

    /// A new notice for `blocked`, opened with its own decision; false when it was requeued before.
    ///
    /// `blocked` stays blocked (final). The new one starts in `initial` (`why` it starts there);
    /// its id follows from the blocked one's, so a notice is requeued once.
    public func requeue(
        _ blocked: Notice, initial: DeliveryState, why: String?, by: String, reason: String?, now: Date
    ) throws -> (id: String, created: Bool) {
        let id = Identifier.derived("ntc", blocked.notice_id, "requeue")
        let said = "requeued by \(by)" + (reason.map { ": " + $0 } ?? "")
        var header = blocked.header
        header.notice_id = id
        header.decision_id = Identifier.derived("dec", id)
        header.profile = stamp.profile
        header.profile_sha256 = stamp.profileSHA256
        header.capability_descriptor = stamp.descriptor
        header.created_at = now
        header.requeued_from = blocked.notice_id
        header.environment = stamp.environment
        let fresh = try Notice(header, initial: initial, reason: said + (why.map { "; " + $0 } ?? ""), by: by)
        return (id, try open(fresh, reason: said))
    }

    /// A deferred notice that can no longer be sent here waits for an operator instead.
    ///
    /// Its retry is dropped. Returns its new path.
    public func park(_ notice: Notice, at path: String) throws -> String {
        var next = notice
        next.next_attempt_at = nil
        return try save(replacing: notice, at: path) { next }
    }
}
