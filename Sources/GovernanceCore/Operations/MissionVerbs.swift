import Foundation

/// `rgov approve | reject | approvals | mission fail | mission replay`.
extension OperatorDesk {
    public struct PendingApproval: Codable, Sendable {
        public var mission_id: String
        public var writeback_id: String
        public var target: String?
        public var waiting_ms: Int64
    }

    func missions() throws -> [MissionSnapshot] {
        let store = MissionStore(layout: layout)
        return try layout.missionIDs().compactMap { try? store.read($0) }
    }

    /// The approval backlog: proposed writebacks nobody has decided, oldest first.
    public func approvalBacklog() throws -> [PendingApproval] {
        let decided = WritebackApproval.load(layout)
        return try missions().flatMap { m in
            WritebackApproval.pending(in: m, decided: decided).map {
                PendingApproval(
                    mission_id: m.mission_id, writeback_id: $0.writeback.writeback_id, target: $0.writeback.target,
                    waiting_ms: now.milliseconds(since: $0.since))
            }
        }.sorted { $0.waiting_ms > $1.waiting_ms }
    }

    /// Records an approval or rejection as a decision; the watchdog then treats the writeback so.
    ///
    /// `writeback` is a writeback id, or `MISSION/WRITEBACK` as `rgov approvals` prints it (an id
    /// that some mission has as it is wins: a runtime's writeback id may itself hold a `/`).
    public func decide(_ named: String, mission missionOption: String?, approve: Bool, reason: String) throws
        -> WritebackApproval
    {
        let action = approve ? "approve" : "reject"
        try authorize(action, target: named, reason: reason)
        guard !reason.isEmpty else { throw UsageError("--reason is required") }
        let all = try missions()
        var writeback = named
        var mission = missionOption
        if let slash = named.firstIndex(of: "/"),
            !all.contains(where: { m in (m.writebacks ?? []).contains { $0.writeback_id == named } })
        {
            let prefix = String(named[..<slash])
            if let missionOption, missionOption != prefix {
                throw UsageError(
                    "\(Identifier.quoted(named)) names mission \(prefix), but --mission says \(missionOption)")
            }
            mission = prefix
            writeback = String(named[named.index(after: slash)...])
        }
        let owners = all.filter { m in (m.writebacks ?? []).contains { $0.writeback_id == writeback } }
            .filter { mission == nil || $0.mission_id == mission }
        guard let owner = owners.first else {
            throw RgovError(
                .noInput,
                mission.map { "mission \($0) has no writeback \(Identifier.quoted(writeback))" }
                    ?? "no mission has writeback \(Identifier.quoted(writeback))")
        }
        guard owners.count == 1 else {
            throw UsageError(
                "writeback \(writeback) exists in several missions (\(owners.map(\.mission_id).joined(separator: ", "))); add --mission"
            )
        }
        let path = layout.approval(WritebackApproval.fileName(mission: owner.mission_id, writeback: writeback))
        if Sys.exists(path) {
            let existing = try CanonicalJSON.decode(WritebackApproval.self, from: try Sys.readFile(path))
            throw RgovError.data(
                "writeback \(writeback) was already decided: \(existing.decision.rawValue) by \(existing.by) at \(Timestamp.format(existing.at))"
            )
        }
        let applied = (owner.writebacks ?? []).contains {
            $0.writeback_id == writeback && $0.status == "applied" && $0.approved_by == nil
        }
        let decisionID = Identifier.derived("dec", owner.mission_id, writeback, action)
        try recordDecision(
            decisionID, rule: "writeback-approval/operator-decision", mission: owner,
            outcome: approve ? .approve : .reject,
            reason: "\(action) writeback \(writeback) by \(identity.by) (\(identity.osUser)): \(reason)"
                + (applied ? " (after it was applied without approval: the violation stands)" : ""))
        let approval = WritebackApproval(
            mission_id: owner.mission_id, writeback_id: writeback, decision: approve ? .approve : .reject,
            decision_id: decisionID,
            by: identity.by, os_user: identity.osUser, at: now, reason: reason, after_application: applied ? true : nil)
        guard try DurableFile.create(try CanonicalJSON.encodeFile(approval), at: path) else {
            throw RgovError.data("writeback \(writeback) was decided by someone else just now")
        }
        try record(
            action, target: owner.mission_id + "/" + writeback, reason: reason,
            result: approve ? "approved" : "rejected", missions: [owner.mission_id])
        return approval
    }

    /// An operator's decision on one mission, recorded through the ledger.
    private func recordDecision(
        _ id: String, rule: String, mission: MissionSnapshot, outcome: DecisionRecord.Outcome, reason: String
    ) throws {
        let missionID = mission.mission_id
        try deployment.ledger.decide(
            DecisionRecord(
                decision_id: id, event_id: nil, rule_id: rule, mission_id: missionID, task_id: missionID,
                correlation_id: missionID, outcome: outcome, reason: reason, decided_at: now, decided_by: identity.by,
                notice_id: nil, profile: deployment.profileReference,
                capability_descriptor: deployment.descriptorReference, tenant_id: mission.tenant_id,
                actor_id: mission.actor_id))
    }

    /// Runbook "stuck mission in non-terminal state": mark it failed, or send it back to be run again.
    public func mission(_ verb: String, id: String, reason: String) throws -> MissionSnapshot {
        guard verb == "fail" || verb == "replay" else {
            throw UsageError("usage: rgov mission fail|replay ID --by NAME --reason TEXT")
        }
        try authorize("mission " + verb, target: id, reason: reason)
        guard !reason.isEmpty else { throw UsageError("--reason is required") }
        _ = try Identifier.validate(id, what: "mission id")
        try Sys.makeDirectory(layout.missionLocks)
        guard let lock = try StageLock.acquire(layout.missionLock(id), holder: "rgov mission \(verb)") else {
            throw RgovError(.temporaryFailure, "another writer is updating mission \(id); try again")
        }
        defer { withExtendedLifetime(lock) {} }
        let path = layout.mission(id)
        guard Sys.exists(path) else { throw RgovError(.noInput, "no mission \(id)") }
        var mission = try MissionStore(layout: layout).read(id)
        let before = mission.status
        if verb == "fail" {
            guard !mission.status.isTerminal else {
                try record(
                    "mission fail", target: id, reason: reason, result: "refused: already \(mission.status.rawValue)",
                    missions: [id])
                throw RgovError.data("mission \(id) is already \(mission.status.rawValue)")
            }
            mission.status = .failed
            mission.failure_reason = "operator: " + reason
        } else {
            guard mission.status != .completed && mission.status != .cancelled else {
                throw RgovError.data(
                    "mission \(id) is \(mission.status.rawValue); only a running, waiting or failed mission is replayed"
                )
            }
            mission.status = .queued
            mission.stage = "normalizer"
            mission.stage_entered_at = now
            mission.extra["replay_requested_at"] = .string(Timestamp.format(now))
            mission.extra["replay_requested_by"] = .string(identity.by)
        }
        mission.updated_at = now
        try recordDecision(
            Identifier.derived("dec", id, verb, Timestamp.format(now)), rule: "operator/mission-" + verb,
            mission: mission,
            outcome: verb == "fail" ? .block : .notify,
            reason: "\(verb) by \(identity.by) (\(identity.osUser)): \(reason); status was \(before.rawValue)")
        try DurableFile.write(try CanonicalJSON.encodeFile(mission), to: path)
        try record(
            "mission " + verb, target: id, reason: reason, result: "\(before.rawValue) -> \(mission.status.rawValue)",
            missions: [id])
        return mission
    }

    /// Puts a quarantined file back where it came from, only once it validates.
    public func restore(_ quarantineID: String) throws -> String {
        try authorize("quarantine restore", target: quarantineID, reason: nil)
        guard Identifier.isValid(quarantineID) else { throw UsageError("invalid quarantine id") }
        let entry = layout.quarantineEntry(quarantineID)
        guard
            let record = try? CanonicalJSON.decode(
                QuarantineRecord.self, from: try Sys.readFile(layout.quarantineReason(quarantineID)))
        else { throw RgovError(.noInput, "no quarantine entry \(quarantineID)") }
        let file = layout.quarantinedFile(quarantineID, fileName: record.file_name)
        let folder = ((record.original_path as NSString).deletingLastPathComponent as NSString).lastPathComponent
        do {
            switch folder {
            case "missions": _ = try MissionStore.read(file, name: record.file_name)
            default:
                let data = try Sys.readFile(file, limit: 64 << 20)
                if DeliveryState(rawValue: folder) != nil || folder == "deferred" {
                    _ = try CanonicalJSON.decode(Notice.self, from: data)
                } else {
                    _ = try CanonicalJSON.decode(JSONValue.self, from: data)
                }
            }
        } catch {
            try self.record(
                "quarantine restore", target: quarantineID, reason: nil, result: "refused: still invalid: \(error)")
            throw RgovError.data("\(quarantineID) still does not validate: \(error); fix \(file) first")
        }
        guard try Sys.linkNoClobber(file, record.original_path) else {
            throw RgovError.data("\(record.original_path) exists; move it aside before restoring")
        }
        try Sys.unlink(file)
        try Sys.fsyncDirectory((record.original_path as NSString).deletingLastPathComponent)
        try self.record(
            "quarantine restore", target: quarantineID, reason: record.reason,
            result: "restored to \(record.original_path)")
        try Sys.unlink(layout.quarantineReason(quarantineID))
        Sys.removeEmptyDirectory(entry)
        return record.original_path
    }
}
