import Foundation

/// Notices on disk: one folder per delivery state, final states partitioned by day.
///
/// A state change is two durable steps: rewrite the file in its current folder, then rename it
/// into the new state's folder. A crash between them leaves a notice whose `state` disagrees with
/// its folder; the stage that scans that folder finishes the move (`repair`), so nothing is lost
/// and no notice ever exists twice.
public struct NoticeStore: Sendable {
    public let layout: StateLayout
    private let quarantine: Quarantine

    public init(layout: StateLayout) {
        self.layout = layout
        self.quarantine = Quarantine(layout: layout)
    }

    /// Where `notice` belongs given its state: a `pending_external_send` notice with a retry
    /// scheduled waits in `deferred/` (Postfix's name), so the bridge scans only what may be due.
    public func path(for notice: Notice) -> String {
        if notice.state == .pending_external_send, notice.next_attempt_at != nil {
            return layout.artifact(notice.notice_id, in: layout.deferredNotices)
        }
        let day = notice.state.isFinal ? Timestamp.day(notice.updated_at) : nil
        return layout.artifact(notice.notice_id, in: layout.notices(notice.state, day: day))
    }

    /// Publishes a new notice and links it (by its header) into its mission's chain.
    ///
    /// Returns false if a notice with this id already exists anywhere (an earlier run's, which is
    /// linked instead if a crash kept it from being linked).
    ///
    /// `decidedNow`: the notice's decision record did not exist before this run. A notice is
    /// published after its decision, and decision records are never pruned, so an earlier notice
    /// with this id can only be one a crash of this step left in a folder a notice waits in: the
    /// day folders of finished notices (a year of history) are not searched.
    @discardableResult
    public func create(_ notice: Notice, decidedNow: Bool = false) throws -> Bool {
        var stored = notice
        var path = locate(notice.notice_id, finished: !decidedNow) ?? path(for: notice)
        let created = try DurableFile.create(try CanonicalJSON.encodeFile(notice), at: path)
        if !created {
            path = locate(notice.notice_id, finished: !decidedNow) ?? path
            stored = try read(path)
        }
        try MissionChain(layout: layout).link(
            .notice, id: stored.notice_id, sha256: try CanonicalJSON.sha256(stored.header), ref: path,
            mission: stored.mission_id, at: stored.created_at)
        return created
    }

    /// Replaces `previous`, read from `currentPath`, with `next`; returns the new path.
    ///
    /// Compare-and-swap under the store's lock: if the notice on disk is no longer `previous` (an
    /// operator and the bridge acted at once), nothing is written and `NoticeChanged` says so. With
    /// `unlessSending`, a notice whose send is under way (its attempt in `inflight/`) is refused too:
    /// an operator's verb never lands in the middle of a send whose result is about to be recorded.
    @discardableResult
    public func save(
        _ next: Notice, replacing previous: Notice, at currentPath: String, unlessSending: Bool = false
    ) throws -> String {
        try save(replacing: previous, at: currentPath, unlessSending: unlessSending) { next }
    }

    /// `save`, with the new version made under the lock by `publishing`: it publishes the records
    /// the new version links to (a receipt), durable before it, and returns that version.
    @discardableResult
    public func save(
        replacing previous: Notice, at currentPath: String, unlessSending: Bool = false,
        publishing: () throws -> Notice
    ) throws -> String {
        try exclusively {
            guard let onDisk = try? read(currentPath), onDisk == previous else {
                throw NoticeChanged(noticeID: previous.notice_id, reason: "it changed after it was read")
            }
            if unlessSending, try isBeingSent(previous.notice_id) {
                throw NoticeChanged(noticeID: previous.notice_id, reason: "a send of it is under way")
            }
            let next = try publishing()
            let target = path(for: next)
            try DurableFile.write(try CanonicalJSON.encodeFile(next), to: currentPath)
            if target != currentPath {
                FaultInjection.point("notice.between_rewrite_and_move")
                try Sys.makeDirectory((target as NSString).deletingLastPathComponent)
                try DurableFile.move(currentPath, to: target)
            }
            // A finished notice's spool handoff leaves the folder of work under way.
            let handoff = layout.spoolHandoff(next.notice_id)
            if next.state.isFinal, !previous.state.isFinal, Sys.kind(handoff) == .regular {
                let day = Timestamp.day(next.updated_at)
                try Sys.makeDirectory(
                    (layout.spoolHandoff(next.notice_id, day: day) as NSString).deletingLastPathComponent)
                try DurableFile.move(handoff, to: layout.spoolHandoff(next.notice_id, day: day))
            }
            return target
        }
    }

    /// Runs `claim` (recording a send's intent) only if the notice on disk is still `notice` and not
    /// held, under the store's lock; false when it changed (the send waits for the next run).
    public func claimForSend(_ notice: Notice, at path: String, _ claim: () throws -> Void) throws -> Bool {
        try exclusively {
            guard let onDisk = try? read(path), onDisk == notice, onDisk.hold == nil else { return false }
            try claim()
            return true
        }
    }

    /// Whether an attempt of this notice is in `inflight/`: its send started and its result is not recorded.
    public func isBeingSent(_ noticeID: String) throws -> Bool {
        try Sys.listDirectory(layout.inflightAttempts).contains {
            $0.hasPrefix(noticeID + ".a") && !DurableFile.isHiddenOrTemporary($0)
        }
    }

    /// Holds `locks/notices.lock` around `body`: every change to an existing notice goes through
    /// here, so a read-compare-write is never interleaved with another process's.
    func exclusively<T>(_ body: () throws -> T) throws -> T {
        // In a batch the lock is held until the commit publishes what `body` staged.
        if let batch = WriteBatch.current {
            try batch.hold(layout.lockFile("notices"))
            return try body()
        }
        return try StageLock.exclusively(layout.lockFile("notices"), body)
    }

    public func read(_ path: String) throws -> Notice {
        try CanonicalJSON.decode(Notice.self, from: try Sys.readFile(path, limit: 8 << 20))
    }

    /// The notices waiting in `state`'s folder, oldest first.
    ///
    /// Unreadable files are quarantined,
    /// misfiled ones moved to where their state says they belong.
    public func waiting(in state: DeliveryState, stage: String, at now: Date) throws -> (
        notices: [(path: String, notice: Notice)], quarantined: [String]
    ) {
        precondition(!state.isFinal, "final states are partitioned; they are never scanned as work")
        return try waiting(inFolder: layout.notices(state), stage: stage, at: now)
    }

    /// The notices in `folder` that belong there, oldest first (see `waiting(in:)`).
    public func waiting(inFolder folder: String, stage: String, at now: Date) throws -> (
        notices: [(path: String, notice: Notice)], quarantined: [String]
    ) {
        var found: [(String, Notice)] = []
        var quarantined: [String] = []
        for path in try layout.files(in: folder) {
            let name = (path as NSString).lastPathComponent
            let notice: Notice
            do {
                notice = try read(path)
                guard StateLayout.artifactName(notice.notice_id) == name else {
                    throw RgovError.data("notice_id \(notice.notice_id) does not match file name \(name)")
                }
            } catch {
                if Sys.kind(path) == .missing { continue }
                try quarantine.isolate(path, reason: "unreadable notice: \(error)", stage: stage, at: now)
                quarantined.append(name)
                continue
            }
            if self.path(for: notice) != path {
                try repair(notice, at: path)
                continue
            }
            found.append((path, notice))
        }
        found.sort { ($0.1.created_at, $0.1.notice_id) < ($1.1.created_at, $1.1.notice_id) }
        return (found, quarantined)
    }

    /// Finishes an interrupted move: the file's content is right, its folder is not.
    public func repair(_ notice: Notice, at path: String) throws {
        let target = self.path(for: notice)
        guard target != path else { return }
        try Sys.makeDirectory((target as NSString).deletingLastPathComponent)
        try DurableFile.move(path, to: target)
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
