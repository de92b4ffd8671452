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

    var store: NoticeStore { deployment.ledger.store }

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
        guard notice.state == .dispatched || notice.state == .pending_external_send else {
            let why =
                notice.state.isFinal
                ? "it is already \(notice.state.rawValue) (final)"
                : "it was never handed to a sender (\(notice.state.rawValue))"
            try record(
                "ack", target: id, reason: note, allowed: true, result: "refused: \(why)", missions: [notice.mission_id]
            )
            throw RgovError.data("cannot ack \(id): \(why)")
        }
        let evidence = AckEvidence(
            kind: .operator_attestation, at: now, by: identity.by, os_user: identity.osUser, note: note)
        let acked: Notice
        do {
            acked = try deployment.ledger.acknowledge(
                notice, at: path, evidence: evidence,
                receiptID: StateLayout.receiptID(id + ".ack" + String(notice.transitions.count)), mode: "operator",
                reason: "operator_attestation", moveReason: "operator attestation" + (note.map { ": " + $0 } ?? ""),
                by: identity.by, recordedBy: "rgov ack (\(identity.by) as \(identity.osUser))", now: now
            ).notice
        } catch let changed as NoticeChanged {
            try record(
                "ack", target: id, reason: note, allowed: true, result: "refused: \(changed.reason)",
                missions: [notice.mission_id])
            throw changed
        }
        try record("ack", target: id, reason: note, result: "acked", missions: [notice.mission_id])
        return acked
    }

    /// `queued` goes back to `prepared`; a dispatched or pending notice keeps its state and carries
    /// a hold the dispatcher and bridge respect.
    public func hold(_ target: String, reason: String?) throws -> BulkResult {
        try authorize("hold", target: target, reason: reason)
        var result = BulkResult(action: "hold", changed: [], unchanged: [:])
        var missions: [String] = []
        for (path, notice) in try select(target) {
            guard notice.hold == nil, !notice.state.isFinal else {
                result.unchanged[notice.notice_id] = notice.hold != nil ? "already held" : notice.state.rawValue
                continue
            }
            var next = notice
            if notice.state == .queued {
                next = try notice.transitioned(
                    to: .prepared, at: now, by: identity.by, reason: "held" + (reason.map { ": " + $0 } ?? ""))
            } else if notice.state == .prepared {
                result.unchanged[notice.notice_id] = "prepared (not in the queue)"
                continue
            }
            next.hold = NoticeHold(by: identity.by, at: now, reason: reason ?? "")
            guard try saveOrExplain(next, replacing: notice, at: path, target: target, into: &result) else { continue }
            result.changed.append(notice.notice_id)
            missions.append(notice.mission_id)
        }
        try record(
            "hold", target: target, reason: reason, result: "\(result.changed.count) held",
            missions: missions)
        return result
    }

    /// Saves one notice of a verb: a lost race refuses a single target (exit 75, nothing done) and is
    /// reported as unchanged, with the reason, for `ALL`.
    private func saveOrExplain(
        _ next: Notice, replacing notice: Notice, at path: String, target: String, into result: inout BulkResult
    ) throws -> Bool {
        do {
            try store.save(next, replacing: notice, at: path, unlessSending: true)
            return true
        } catch let changed as NoticeChanged where target == "ALL" {
            result.unchanged[notice.notice_id] = changed.reason
            return false
        }
    }

    /// Undoes a hold: a held `prepared` notice goes back to `queued`.
    public func release(_ target: String, reason: String?) throws -> BulkResult {
        try authorize("release", target: target, reason: reason)
        var result = BulkResult(action: "release", changed: [], unchanged: [:])
        var missions: [String] = []
        for (path, notice) in try select(target) {
            guard notice.hold != nil else {
                result.unchanged[notice.notice_id] = "not held"
                continue
            }
            var next = notice
            if notice.state == .prepared {
                next = try notice.transitioned(
                    to: .queued, at: now, by: identity.by, reason: "released" + (reason.map { ": " + $0 } ?? ""))
            }
            next.hold = nil
            guard try saveOrExplain(next, replacing: notice, at: path, target: target, into: &result) else { continue }
            result.changed.append(notice.notice_id)
            missions.append(notice.mission_id)
        }
        try record(
            "release", target: target, reason: reason, result: "\(result.changed.count) released",
            missions: missions)
        return result
    }

    /// A `blocked` notice stays blocked (final); its requeue is a new notice linked to it.
    public func requeue(_ target: String, reason: String?) throws -> BulkResult {
        try authorize("requeue", target: target, reason: reason)
        var result = BulkResult(action: "requeue", changed: [], unchanged: [:])
        var missions: [String] = []
        let all = try select(target)
        let requeued = Set(all.compactMap { $0.notice.requeued_from })
        for (_, notice) in all {
            guard notice.state == .blocked else {
                if target != "ALL" {
                    result.unchanged[notice.notice_id] = "\(notice.state.rawValue): only blocked notices are requeued"
                }
                continue
            }
            guard !requeued.contains(notice.notice_id) else {
                result.unchanged[notice.notice_id] = "already requeued"
                continue
            }
            let id = Identifier.derived("ntc", notice.notice_id, "requeue")
            // An operator's requeue skips the severity floor, not the deployment's queue.
            let (initial, why) = deployment.firstState(severity: max(notice.severity, deployment.profile.minSeverity))
            let fresh = try Notice(
                notice_id: id, rule_id: notice.rule_id, severity: notice.severity, mission_id: notice.mission_id,
                correlation_id: notice.correlation_id, event_id: notice.event_id, decision_id: notice.decision_id,
                dedup_key: notice.dedup_key, episode_id: notice.episode_id, target: notice.target,
                message: notice.message,
                profile: deployment.profileReference, capability_descriptor: deployment.descriptorReference,
                created_at: now,
                initial: initial,
                reason: "requeued by \(identity.by)" + (reason.map { ": " + $0 } ?? "") + (why.map { "; " + $0 } ?? ""),
                by: identity.by,
                requeued_from: notice.notice_id, notice_kind: notice.notice_kind, follows: notice.follows,
                profileSHA256: deployment.profile.sha256)
            if try store.create(fresh) {
                result.changed.append(id)
                missions.append(notice.mission_id)
            } else {
                result.unchanged[notice.notice_id] = "already requeued"
            }
        }
        try record(
            "requeue", target: target, reason: reason, result: "\(result.changed.count) requeued",
            missions: missions)
        return result
    }
}

extension NoticeStore {
    /// Every notice, wherever its state put it, oldest first.
    ///
    /// For operator verbs, not for stages.
    public func all() throws -> [(path: String, notice: Notice)] {
        var folders =
            DeliveryState.allCases.filter { !$0.isFinal }.map { layout.notices($0) } + [layout.deferredNotices]
        for state in DeliveryState.allCases where state.isFinal {
            let base = layout.notices(state)
            folders += try layout.dayPartitions(in: base).map { layout.notices(state, day: $0) }
        }
        var result: [(String, Notice)] = []
        for path in try folders.flatMap({ try layout.files(in: $0) }) {
            if let notice = try? read(path) { result.append((path, notice)) }
        }
        return result.sorted { ($0.1.created_at, $0.1.notice_id) < ($1.1.created_at, $1.1.notice_id) }
    }
}
