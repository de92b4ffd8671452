import Foundation

/// A send's records, in the order that keeps delivery honest.
///
/// The attempt (the intent) is durable before any sender starts; then the receipt; then the
/// notice moves; then the attempt leaves `inflight/` for its day partition. An attempt found in
/// `inflight/` is a send whose end was not recorded, and `recover` finishes what can be finished
/// from what is on disk.
public struct SendLedger: Sendable {
    public let notices: NoticeLedger
    /// Who records (the bridge's name in transitions and receipts).
    public let actor: String
    public let alerts: Alerts

    /// How an alert about an unknown outcome is opened: to whom, and in which first state (the
    /// deployment's rule, and why); it names the binding that cannot resend from the receipt.
    public struct Alerts: Sendable {
        public var target: String
        public var initial: DeliveryState
        public var why: String?
    }
    private var layout: StateLayout { notices.layout }
    private var writes: Writes { notices.writes }

    public func staged(in transaction: Transaction) -> SendLedger {
        SendLedger(notices: notices.staged(in: transaction), actor: actor, alerts: alerts)
    }

    /// Records the intent of `attempt` if `notice` on disk is still as read from `path` and not held
    /// (an operator may have acted since); false leaves the notice for the next run.
    public func recordIntent(_ attempt: SenderAttempt, for notice: Notice, at path: String) throws -> Bool {
        try notices.claimForSend(notice, at: path) {
            let published = try notices.chain.publish(
                attempt, kind: .attempt, id: attempt.attempt_id, mission: notice.mission_id,
                at: layout.inflightAttempt(attempt.attempt_id), time: attempt.started_at)
            guard published.created else {
                throw RgovError.data("attempt \(attempt.attempt_id) already recorded; refusing to send twice")
            }
        }
    }

    /// Writes the receipt, then moves the notice, then opens the alert an unknown outcome calls
    /// for, then files the attempt.
    ///
    /// Each step is durable, and each one is found and finished by `recover` if a crash stops the
    /// sequence. Returns the receipt as on disk (a crashed run may have written it already) and its path.
    public func conclude(
        _ notice: Notice, at path: String, attempt: SenderAttempt?, receipt proposed: Receipt, now: Date
    ) throws -> (receipt: Receipt, path: String) {
        let receiptFile = attempt.map(receiptFile) ?? notices.receiptFile(proposed.receipt_id, of: notice, now: now)
        let receipt = try notices.chain.publish(proposed, at: receiptFile)
        writes.point("bridge.after_receipt")
        try notices.apply(receipt, to: notice, at: path, by: actor, now: now)
        writes.point("bridge.after_outcome_applied")
        try alertIfUnknown(notice, receipt: receipt, now: now)
        if let attempt { try file(attempt) }
        return (receipt, receiptFile)
    }

    /// An interrupted send that `recover` could not finish alone: the sender may or may not have
    /// sent, and the caller decides what follows.
    public struct Unknown: Sendable {
        public var notice: Notice
        public var path: String
        public var attempt: SenderAttempt
    }

    /// Finishes what a crashed run left in `inflight/`.
    ///
    /// A notice already moved gets its alert (if its receipt calls for one) and its attempt filed;
    /// a durable receipt moves its notice, then the same. What remains is an attempt with no result, returned as `Unknown`.
    /// Unreadable attempt records are quarantined.
    public func recover(stage: String, now: Date) throws -> (
        settled: [(receipt: Receipt, path: String)], unknown: [Unknown]
    ) {
        var settled: [(receipt: Receipt, path: String)] = []
        var unknown: [Unknown] = []
        for path in try layout.files(in: layout.inflightAttempts) {
            guard let data = try? Sys.readFile(path, limit: 1 << 20),
                let attempt = try? CanonicalJSON.decode(SenderAttempt.self, from: data)
            else {
                try notices.quarantine.isolate(
                    path, reason: "unreadable attempt record", stage: stage, at: now)
                continue
            }
            let receiptFile = receiptFile(of: attempt)
            guard let noticePath = notices.store.locate(attempt.notice_id) else {
                throw RgovError.data(
                    "attempt \(attempt.attempt_id) names notice \(attempt.notice_id), which is missing")
            }
            let notice = try notices.store.read(noticePath)
            // A crash may have come between recording the intent and linking it.
            try notices.chain.link(
                .attempt, id: attempt.attempt_id, sha256: SHA256.hex(of: [UInt8](data)), ref: path,
                mission: notice.mission_id, at: attempt.started_at)
            let receipt =
                Sys.kind(receiptFile) == .regular
                ? try CanonicalJSON.decode(Receipt.self, from: try Sys.readFile(receiptFile, limit: 8 << 20)) : nil
            if notice.attempts >= attempt.attempt_number {
                // The notice already counts this attempt; what followed was interrupted.
                try notices.repair(notice, at: noticePath)
                if let receipt { try alertIfUnknown(notice, receipt: receipt, now: now) }
                try file(attempt)
            } else if let receipt {
                try notices.apply(receipt, to: notice, at: noticePath, by: actor, now: now)
                try alertIfUnknown(notice, receipt: receipt, now: now)
                try file(attempt)
                settled.append((receipt, receiptFile))
            } else {
                unknown.append(Unknown(notice: notice, path: noticePath, attempt: attempt))
            }
        }
        return (settled, unknown)
    }

    /// Every unknown outcome that will not be retried alerts, exactly once.
    ///
    /// The alert's id derives from the receipt, so the conclusion and a recovery after a crash
    /// anywhere between the receipt and the filed attempt open the same notice, whichever runs.
    /// Never raised about such an alert itself.
    private func alertIfUnknown(_ notice: Notice, receipt: Receipt, now: Date) throws {
        guard receipt.reason == .outcome_unknown, receipt.next_attempt_at == nil,
            notice.notice_kind != .delivery_unknown
        else { return }
        // The operator checks the channel instead of the notice resting silently.
        let noticeID = Identifier.derived("ntc", notice.notice_id, "outcome-unknown", receipt.receipt_id)
        let reason =
            "delivery of \(notice.notice_id) to \(notice.target) is unknown (\(receipt.attempt_id ?? receipt.receipt_id) was "
            + "interrupted or timed out after it may have sent); the \(receipt.sender_mode.rawValue) binding cannot resend safely"
        let alert = try Notice(
            Notice.Header(
                notice_id: noticeID, rule_id: "delivery/outcome-unknown", severity: .warning,
                mission_id: notice.mission_id, correlation_id: notice.correlation_id, event_id: notice.event_id,
                decision_id: Identifier.derived("dec", noticeID), dedup_key: notice.dedup_key + "/outcome-unknown",
                episode_id: notice.episode_id, target: alerts.target,
                message: NoticeMessage(
                    title: "[delivery unknown] " + notice.message.title,
                    text: "rgov cannot tell whether notice \(notice.notice_id) reached \(notice.target): \(reason). "
                        + "Check the channel; the notice waits in pending_external_send for an operator."),
                profile: notices.stamp.profile, profile_sha256: notices.stamp.profileSHA256,
                capability_descriptor: notices.stamp.descriptor, created_at: now, notice_kind: .delivery_unknown,
                follows: notice.notice_id, tenant_id: notice.tenant_id, actor_id: notice.actor_id,
                environment: notices.stamp.environment),
            initial: alerts.initial,
            reason: "outcome_unknown of \(notice.notice_id)" + (alerts.why.map { "; " + $0 } ?? ""), by: actor)
        // Its decision is filed under the receipt's day, which a rerun on a later day finds again.
        try notices.open(alert, reason: reason, day: Timestamp.day(receipt.recorded_at))
    }

    /// Where the receipt concluding `attempt` lives: under the day it started, which every run finds again.
    private func receiptFile(of attempt: SenderAttempt) -> String {
        layout.receipt(StateLayout.receiptID(attempt.attempt_id), day: Timestamp.day(attempt.started_at))
    }

    /// Moves a concluded attempt out of `inflight/` into its day partition.
    private func file(_ attempt: SenderAttempt) throws {
        let target = layout.concludedAttempt(attempt.attempt_id, day: Timestamp.day(attempt.started_at))
        try Sys.makeDirectory((target as NSString).deletingLastPathComponent)
        try writes.move(layout.inflightAttempt(attempt.attempt_id), to: target)
    }
}
