import Foundation

/// An operator's approval or rejection of one writeback, read by the watchdog.
public struct WritebackApproval: Codable, Sendable, Equatable {
    public var schema = "rgov.writeback-approval/v1"
    public var mission_id: String
    public var writeback_id: String
    public var decision: DecisionRecord.Outcome
    public var decision_id: String
    public var by: String
    public var os_user: String
    public var at: Date
    public var reason: String
    /// The writeback had already been applied without approval when this was decided: the
    /// approval is on record, the violation stands.
    public var after_application: Bool?

    /// The file name for a writeback (its ids come from the runtime, so they are hashed).
    public static func fileName(mission: String, writeback: String) -> String {
        StateLayout.artifactName(Identifier.derived("wba", mission, writeback))
    }

    /// Every recorded approval or rejection, keyed by mission and writeback.
    public static func load(_ layout: StateLayout) -> [String: WritebackApproval] {
        let approvals = ((try? layout.files(in: layout.approvals)) ?? []).compactMap { path in
            (try? Sys.readFile(path, limit: 1 << 20)).flatMap {
                try? CanonicalJSON.decode(WritebackApproval.self, from: $0)
            }
        }
        return Dictionary(approvals.map { ($0.mission_id + "/" + $0.writeback_id, $0) }) { $1 }
    }

    /// The writebacks of `mission` proposed and not yet decided, each with when it was proposed.
    public static func pending(in mission: MissionSnapshot, decided: [String: WritebackApproval]) -> [(
        writeback: MissionSnapshot.Writeback, since: Date
    )] {
        (mission.writebacks ?? []).filter {
            $0.status == "proposed" && decided[mission.mission_id + "/" + $0.writeback_id] == nil
        }.map { ($0, $0.proposed_at ?? mission.updated_at ?? mission.created_at) }
    }

    /// The snapshot as the rules should judge it: an operator's approval counts as `approved_by`,
    /// a rejection as status `rejected`.
    public static func applied(_ approvals: [String: WritebackApproval], to mission: MissionSnapshot) -> MissionSnapshot
    {
        guard !approvals.isEmpty, let writebacks = mission.writebacks else { return mission }
        var copy = mission
        copy.writebacks = writebacks.map { w in
            guard let a = approvals[mission.mission_id + "/" + w.writeback_id] else { return w }
            var updated = w
            // An approval given after the writeback was applied is on record, but it does not make
            // the application approved: the violation stands.
            if a.decision == .approve && w.status != "applied" {
                updated.approved_by = updated.approved_by ?? ("rgov:" + a.by)
            } else if w.status == "proposed" {
                updated.status = "rejected"
            }
            return updated
        }
        return copy
    }
}
