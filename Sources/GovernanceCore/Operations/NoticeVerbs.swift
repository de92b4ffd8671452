import Foundation

/// `rgov ack | hold | release | requeue`: an operator acting on notices, as postsuper does on
/// queue files. Bulk only with the literal word `ALL`. Every change goes through the one
/// transition function or an explicit hold field, and is recorded as an operator action.
extension OperatorDesk {
    public struct BulkResult: Codable, Sendable {
        public var action: String
        public var changed: [String]
        public var unchanged: [String: String]
    }

    var store: NoticeStore { NoticeStore(layout: layout) }

    /// The notices a verb applies to: one id, or every notice for `ALL`.
    func select(_ target: String) throws -> [(path: String, notice: Notice)] {
        if target == "ALL" { return try store.all() }
        guard Identifier.isValid(target), let path = store.locate(target) else {
            throw RgovError(.noInput, "no notice \(Identifier.quoted(target)) in \(layout.root)")
        }
        return [(path, try store.read(path))]
    }

    /// Operator attestation: the only path to `acked` that is not a sender's proof.
    public func ack(_ id: String, note: String?) throws -> Notice {
        try authorize("ack", target: id, reason: note)
        guard let (path, notice) = try select(id).first else { throw RgovError(.noInput, "no notice \(id)") }
        func refused(_ why: String) throws {
            try record("ack", target: id, reason: note, result: "refused: \(why)", missions: [notice.mission_id])
        }
        // Handed to a sender: an attempt concluded, or one is under way (the ledger then says so).
        let handed = try notice.attempts > 0 || !layout.attemptFiles(of: notice.notice_id, inflight: true).isEmpty
        guard notice.state == .dispatched || notice.state == .pending_external_send, handed else {
            let why =
                notice.state.isFinal
                ? "it is already \(notice.state.rawValue) (final)"
                : "it was never handed to a sender (\(notice.state.rawValue), \(notice.state_reason); no attempt concluded)"
            try refused(why)
            throw RgovError.data("cannot ack \(id): \(why)")
        }
        let evidence = AckEvidence(
            kind: .operator_attestation, at: now, by: identity.by, os_user: identity.osUser,
            os_groups: identity.osGroups, note: note)
        let acked: Notice
        do {
            acked = try deployment.ledger.acknowledge(
                notice, at: path, evidence: evidence,
                receiptID: StateLayout.receiptID(id + ".ack" + String(notice.transitions.count)), mode: .attestation,
                reason: .operator_attestation, moveReason: "operator attestation" + (note.map { ": " + $0 } ?? ""),
                by: identity.by, recordedBy: "rgov ack (\(identity.by) as \(identity.osUser))", now: now
            ).notice
        } catch let changed as NoticeChanged {
            try refused(changed.reason)
            throw changed
        }
        try record("ack", target: id, reason: note, result: "acked", missions: [notice.mission_id])
        return acked
    }

    /// `queued` goes back to `prepared`; a dispatched or pending notice keeps its state and carries
    /// a hold the dispatcher and bridge respect.
    public func hold(_ target: String, reason: String?) throws -> BulkResult {
        try bulk("hold", "held", target: target, reason: reason) { path, notice in
            guard notice.hold == nil, !notice.state.isFinal else {
                return .unchanged(notice.hold != nil ? "already held" : notice.state.rawValue)
            }
            if notice.state == .prepared { return .unchanged("prepared (not in the queue)") }
            return try changing(notice, target: target) {
                try $0.hold(notice, at: path, by: identity.by, reason: reason, now: now)
            }
        }
    }

    /// Undoes a hold: a held `prepared` notice goes back to `queued`.
    public func release(_ target: String, reason: String?) throws -> BulkResult {
        try bulk("release", "released", target: target, reason: reason) { path, notice in
            guard notice.hold != nil else { return .unchanged("not held") }
            return try changing(notice, target: target) {
                try $0.release(notice, at: path, by: identity.by, reason: reason, now: now)
            }
        }
    }

    /// Makes deferred notices due now (`postqueue -f` / `-i ID`): the bridge's next run sends them.
    ///
    /// Only a notice waiting for a retry is changed; a held one stays held.
    public func retry(_ target: String, reason: String?) throws -> BulkResult {
        try bulk("retry", "made due now", target: target, reason: reason) { path, notice in
            let waiting =
                path.hasPrefix(layout.deferredNotices + "/") && (notice.next_attempt_at.map { $0 > now } ?? false)
            guard waiting else {
                return target == "ALL" ? nil : .unchanged("\(notice.state.rawValue): not waiting for a retry")
            }
            if notice.hold != nil { return .unchanged("held: rgov release it first") }
            return try changing(notice, target: target) { try $0.retryNow(notice, at: path, now: now) }
        }
    }

    /// A `blocked` notice stays blocked (final); its requeue is a new notice linked to it, with its
    /// own decision, whose id follows from the blocked one's, so a notice is requeued once.
    public func requeue(_ target: String, reason: String?) throws -> BulkResult {
        try bulk("requeue", "requeued", target: target, reason: reason) { _, notice in
            guard notice.state == .blocked else {
                return target == "ALL" ? nil : .unchanged("\(notice.state.rawValue): only blocked notices are requeued")
            }
            // An operator's requeue skips the severity floor, not the deployment's queue.
            let (initial, why) = deployment.firstState(severity: max(notice.severity, deployment.profile.minSeverity))
            let (id, created) = try deployment.ledger.requeue(
                notice, initial: initial, why: why, by: identity.by, reason: reason, now: now)
            return created ? .changed(id) : .unchanged("already requeued")
        }
    }

    /// What a bulk verb made of one notice (nil: not its business, not reported).
    private enum Step {
        case changed(String)
        case unchanged(String)
    }

    /// A bulk verb: authorized, applied to each notice it selects, and recorded as one operator
    /// action with the missions it changed.
    private func bulk(
        _ action: String, _ done: String, target: String, reason: String?,
        _ step: (_ path: String, _ notice: Notice) throws -> Step?
    ) throws -> BulkResult {
        try authorize(action, target: target, reason: reason)
        var result = BulkResult(action: action, changed: [], unchanged: [:])
        var missions: [String] = []
        for (path, notice) in try select(target) {
            switch try step(path, notice) {
            case .changed(let id):
                result.changed.append(id)
                missions.append(notice.mission_id)
            case .unchanged(let why): result.unchanged[notice.notice_id] = why
            case nil: break
            }
        }
        try record(
            action, target: target, reason: reason, result: "\(result.changed.count) \(done)", missions: missions)
        return result
    }

    /// Changes one notice of a verb through the ledger: a lost race refuses a single target (exit
    /// 75, nothing done) and is reported as unchanged, with the reason, for `ALL`.
    private func changing(_ notice: Notice, target: String, _ change: (NoticeLedger) throws -> String) throws -> Step {
        do {
            _ = try change(deployment.ledger)
            return .changed(notice.notice_id)
        } catch let changed as NoticeChanged where target == "ALL" {
            return .unchanged(changed.reason)
        }
    }
}
