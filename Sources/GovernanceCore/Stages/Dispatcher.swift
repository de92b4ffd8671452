import Foundation

/// `rgov-dispatcher`: hands each `queued` notice to the spool and marks it `dispatched`
/// (`NoticeLedger.dispatch`).
public struct Dispatcher {
    public static let stage = "dispatcher"
    public static let actor = "rgov-dispatcher"

    public let deployment: Deployment

    public struct Report: Codable, Sendable {
        public var dispatched: [String]
        public var skipped_held: Int
        public var quarantined: [String]
        public var disabled: Bool
        public var duration_ms: Int
    }

    /// Every queued notice handed over, made durable with group commit (`Transaction`): all spool
    /// handoffs, then all the notices' moves.
    public func run() throws -> Report {
        let secret = try IdempotencyKey.secret(deployment.layout)
        return try Transaction.run(anchor: deployment.layout.root) {
            try dispatch(secret: secret, ledger: deployment.ledger.staged(in: $0))
        }
    }

    private func dispatch(secret: String, ledger: NoticeLedger) throws -> Report {
        let started = Sys.monotonicSeconds()
        let now = deployment.clock.now()
        guard deployment.profile.dispatcherEnabled else {
            return Report(dispatched: [], skipped_held: 0, quarantined: [], disabled: true, duration_ms: 0)
        }
        let (waiting, quarantined) = try ledger.waiting(in: .queued, stage: Self.stage, at: now)
        var dispatched: [String] = []
        var held = 0
        for (path, notice) in waiting {
            // Asked to stop: each notice is one whole step, so the rest simply wait for the next run.
            if Shutdown.requested != nil { break }
            if notice.hold != nil {
                held += 1
                continue
            }
            do {
                try ledger.dispatch(
                    notice, at: path, mode: deployment.profile.senderMode, secret: secret, by: Self.actor,
                    now: now)
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
}
