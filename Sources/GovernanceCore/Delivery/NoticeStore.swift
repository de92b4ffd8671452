import Foundation

/// Notices on disk, read: one folder per delivery state, final states partitioned by day.
///
/// The store only reads; every write of a notice is `NoticeLedger`'s.
public struct NoticeStore: Sendable {
    public let layout: StateLayout

    public init(layout: StateLayout) { self.layout = layout }

    /// Where `notice` belongs given its state: a `pending_external_send` notice with a retry
    /// scheduled waits in `deferred/` (Postfix's name), so the bridge scans only what may be due.
    public func path(for notice: Notice) -> String {
        if notice.state == .pending_external_send, notice.next_attempt_at != nil {
            return layout.artifact(notice.notice_id, in: layout.deferredNotices)
        }
        let day = notice.state.isFinal ? Timestamp.day(notice.updated_at) : nil
        return layout.artifact(notice.notice_id, in: layout.notices(notice.state, day: day))
    }

    /// Whether an attempt of this notice is in `inflight/`: its send started and its result is not recorded.
    public func isBeingSent(_ noticeID: String) throws -> Bool {
        try Sys.listDirectory(layout.inflightAttempts).contains {
            $0.hasPrefix(noticeID + ".a") && !DurableFile.isHiddenOrTemporary($0)
        }
    }

    public func read(_ path: String) throws -> Notice {
        try CanonicalJSON.decode(Notice.self, from: try Sys.readFile(path, limit: 8 << 20))
    }

    /// The folders of notices under way: one per state that is not final, and the deferred.
    var waitingFolders: [String] {
        DeliveryState.allCases.filter { !$0.isFinal }.map { layout.notices($0) } + [layout.deferredNotices]
    }

    /// Every folder a notice may be in: the waiting ones, then each day folder of a final state.
    func folders() throws -> [String] {
        try waitingFolders
            + DeliveryState.allCases.filter(\.isFinal).flatMap { state in
                try layout.dayPartitions(in: layout.notices(state)).map { layout.notices(state, day: $0) }
            }
    }

    /// Every notice, wherever its state put it, oldest first.
    ///
    /// For operator verbs and export, not for stages.
    public func all() throws -> [(path: String, notice: Notice)] {
        try folders().flatMap { try layout.files(in: $0) }.compactMap { path in (try? read(path)).map { (path, $0) } }
            .sorted { ($0.1.created_at, $0.1.notice_id) < ($1.1.created_at, $1.1.notice_id) }
    }

    /// The path of the notice with `id`, in whichever state folder it is; nil if none.
    ///
    /// Without `finished`, the day folders of final states are not searched.
    public func locate(_ id: String, finished: Bool = true) -> String? {
        guard Identifier.isValid(id) else { return nil }
        for folder in waitingFolders {
            let path = layout.artifact(id, in: folder)
            if Sys.kind(path) == .regular { return path }
        }
        guard finished else { return nil }
        return DeliveryState.allCases.filter(\.isFinal).lazy.compactMap { layout.locate(id, in: layout.notices($0)) }
            .first
    }

    /// Acked notices by evidence kind (`synthetic` apart from the human-visible kinds).
    public static func ackKinds(_ notices: [Notice]) -> [String: Int] {
        var kinds: [String: Int] = [:]
        for notice in notices where notice.state == .acked {
            kinds[notice.ack_evidence?.kind.rawValue ?? "unknown", default: 0] += 1
        }
        return kinds
    }

    /// Every acked notice's evidence kind, counted (from `NoticeHistory`: each day folder is read
    /// once, then only when it changes).
    public func ackKinds() throws -> [String: Int] { try NoticeHistory(layout: layout).summary().acksByKind }

    /// How many notices are in each state: a directory listing per folder, nothing decoded.
    ///
    /// Finished notices come from `history` (a `NoticeHistory` summary already made) or a new one.
    public func counts(history: NoticeHistory.Summary? = nil) throws -> [DeliveryState: Int] {
        // History can be large: finished notices are counted from `NoticeHistory`.
        var result = try (history ?? NoticeHistory(layout: layout).summary()).finished
        for state in DeliveryState.allCases where !state.isFinal {
            result[state] = try layout.artifactNames(in: layout.notices(state)).count
            if state == .pending_external_send {
                result[state, default: 0] += try layout.artifactNames(in: layout.deferredNotices).count
            }
        }
        return result
    }
}

/// A notice that another process changed, or is sending, while this one meant to change it.
public struct NoticeChanged: OperatorFacingError, Sendable {
    public var noticeID: String
    public var reason: String
    public var exitCode: ExitCode { .temporaryFailure }
    public var description: String {
        "notice \(noticeID) was not changed: \(reason); nothing was written, try again (exit 75)"
    }
}
