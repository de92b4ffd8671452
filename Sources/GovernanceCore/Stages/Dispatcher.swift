import Foundation

/// `rgov-dispatcher`: hands each `queued` notice to the spool and marks it `dispatched`.
///
/// The spool handoff is the proof of dispatch (never of delivery). Its id is the notice id, so a
/// rerun after a crash between the handoff and the transition finds the handoff and only
/// finishes the transition.
public struct Dispatcher {
    public static let stage = "dispatcher"
    public static let actor = "rgov-dispatcher"

    public let deployment: Deployment

    public init(deployment: Deployment) { self.deployment = deployment }

    public struct Report: Codable, Sendable {
        public var dispatched: [String]
        public var skipped_held: Int
        public var quarantined: [String]
        public var disabled: Bool
        public var duration_ms: Int
    }

    /// Every queued notice handed over, made durable with group commit (`WriteBatch`): all spool
    /// handoffs, then all the notices' moves.
    public func run() throws -> Report {
        try WriteBatch.run(anchor: deployment.layout.root) { _ in try dispatch() }
    }

    private func dispatch() throws -> Report {
        let started = Sys.monotonicSeconds()
        let now = deployment.clock.now()
        let layout = deployment.layout
        let store = NoticeStore(layout: layout)
        guard deployment.profile.dispatcherEnabled else {
            return Report(dispatched: [], skipped_held: 0, quarantined: [], disabled: true, duration_ms: 0)
        }
        let (waiting, quarantined) = try store.waiting(in: .queued, stage: Self.stage, at: now)
        var dispatched: [String] = []
        var held = 0
        for (path, notice) in waiting {
            // Asked to stop: each notice is one whole step, so the rest simply wait for the next run.
            if Shutdown.requested != nil { break }
            if notice.hold != nil {
                held += 1
                continue
            }
            let handoff = try spoolHandoff(for: notice, at: now)
            FaultInjection.point("dispatcher.after_spool")
            let next = try notice.transitioned(
                to: .dispatched, at: now, by: Self.actor, reason: "spool handoff \(handoff.spool_id)")
            do {
                try store.save(next, replacing: notice, at: path)
            } catch let changed as NoticeChanged {
                // An operator acted on it meanwhile; the next run sees the new version.
                Log.info(Self.actor, changed.description)
                continue
            }
            dispatched.append(notice.notice_id)
        }
        return Report(
            dispatched: dispatched, skipped_held: held, quarantined: quarantined, disabled: false,
            duration_ms: Int(((Sys.monotonicSeconds() - started) * 1000).rounded()))
    }

    /// The notice's spool handoff: the existing one if a previous run wrote it, else a new one.
    private func spoolHandoff(for notice: Notice, at now: Date) throws -> SpoolHandoff {
        let path = deployment.layout.spoolHandoff(notice.notice_id)
        let handoff = SpoolHandoff(
            spool_id: notice.notice_id, notice_id: notice.notice_id, mission_id: notice.mission_id,
            task_id: notice.task_id, correlation_id: notice.correlation_id, rule_id: notice.rule_id,
            severity: notice.severity, target: notice.target,
            idempotency_key: Identifier.derived("idem", notice.notice_id), message: notice.message,
            sender_mode: deployment.profile.senderMode.rawValue, dispatched_at: now, dispatched_by: Self.actor,
            profile: deployment.profileReference, capability_descriptor: deployment.descriptorReference,
            profile_sha256: deployment.profile.sha256)
        let (created, stored) = try MissionChain(layout: deployment.layout).publish(
            handoff, kind: .spool, id: handoff.spool_id, mission: notice.mission_id, at: path, time: now)
        if created { return handoff }
        let existing = try CanonicalJSON.decode(SpoolHandoff.self, from: stored)
        guard existing.notice_id == notice.notice_id else {
            throw RgovError.data("spool handoff \(path) belongs to notice \(existing.notice_id)")
        }
        return existing
    }
}
