import Foundation

/// How the ledger changes notice files: each change a compare-and-swap under the notices' lock.
///
/// A state change is two steps: rewrite the file in its current folder, then rename it into the
/// new state's folder. A crash between them leaves a notice whose `state` disagrees with its
/// folder; the stage that scans that folder finishes the move (`repair`), so nothing is lost and
/// no notice ever exists twice.
extension NoticeLedger {
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
    func create(_ notice: Notice, decidedNow: Bool = false) throws -> Bool {
        var stored = notice
        var path = store.locate(notice.notice_id, finished: !decidedNow) ?? store.path(for: notice)
        let created = try writes.create(try CanonicalJSON.encodeFile(notice), at: path)
        if !created {
            path = store.locate(notice.notice_id, finished: !decidedNow) ?? path
            stored = try store.read(path)
        }
        try chain.link(
            .notice, id: stored.notice_id, sha256: try CanonicalJSON.sha256(stored.header), ref: path,
            mission: stored.mission_id, at: stored.created_at)
        return created
    }

    /// Replaces `previous`, read from `currentPath`, with the version `publishing` makes under the
    /// ledger's lock (after publishing the records it links to, a receipt, durable before it);
    /// returns the new path.
    ///
    /// Compare-and-swap under the ledger's lock: if the notice on disk is no longer `previous` (an
    /// operator and the bridge acted at once), nothing is written and `NoticeChanged` says so. With
    /// `unlessSending`, a notice whose send is under way (its attempt in `inflight/`) is refused too:
    /// an operator's verb never lands in the middle of a send whose result is about to be recorded.
    @discardableResult
    func save(
        replacing previous: Notice, at currentPath: String, unlessSending: Bool = false,
        publishing: () throws -> Notice
    ) throws -> String {
        try exclusively {
            guard let onDisk = try? store.read(currentPath), onDisk == previous else {
                throw NoticeChanged(noticeID: previous.notice_id, reason: "it changed after it was read")
            }
            if unlessSending, try store.isBeingSent(previous.notice_id) {
                throw NoticeChanged(noticeID: previous.notice_id, reason: "a send of it is under way")
            }
            let next = try publishing()
            let target = store.path(for: next)
            try writes.write(try CanonicalJSON.encodeFile(next), to: currentPath)
            if target != currentPath {
                writes.point("notice.between_rewrite_and_move")
                try Sys.makeDirectory((target as NSString).deletingLastPathComponent)
                try writes.move(currentPath, to: target)
            }
            // A finished notice's spool handoff leaves the folder of work under way.
            let handoff = layout.spoolHandoff(next.notice_id)
            if next.state.isFinal, !previous.state.isFinal, Sys.kind(handoff) == .regular {
                let day = Timestamp.day(next.updated_at)
                try Sys.makeDirectory(
                    (layout.spoolHandoff(next.notice_id, day: day) as NSString).deletingLastPathComponent)
                try writes.move(handoff, to: layout.spoolHandoff(next.notice_id, day: day))
            }
            return target
        }
    }

    /// Runs `claim` (recording a send's intent) only if the notice on disk is still `notice` and not
    /// held, under the ledger's lock; false when it changed (the send waits for the next run).
    func claimForSend(_ notice: Notice, at path: String, _ claim: () throws -> Void) throws -> Bool {
        try exclusively {
            guard let onDisk = try? store.read(path), onDisk == notice, onDisk.hold == nil else { return false }
            try claim()
            return true
        }
    }

    /// Holds `locks/notices.lock` around `body`: every change to an existing notice goes through
    /// here, so a read-compare-write is never interleaved with another process's (and a reader
    /// that takes it, export, sees no notice change meanwhile).
    ///
    /// Staged, the lock is held until the commit publishes what `body` staged.
    public func exclusively<T>(_ body: () throws -> T) throws -> T {
        try writes.exclusively(layout.lockFile("notices"), body)
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
                notice = try store.read(path)
                guard StateLayout.artifactName(notice.notice_id) == name else {
                    throw RgovError.data("notice_id \(notice.notice_id) does not match file name \(name)")
                }
            } catch {
                if Sys.kind(path) == .missing { continue }
                try quarantine.isolate(path, reason: "unreadable notice: \(error)", stage: stage, at: now)
                quarantined.append(name)
                continue
            }
            if store.path(for: notice) != path {
                try repair(notice, at: path)
                continue
            }
            found.append((path, notice))
        }
        found.sort { ($0.1.created_at, $0.1.notice_id) < ($1.1.created_at, $1.1.notice_id) }
        return (found, quarantined)
    }

    /// Finishes an interrupted move: the file's content is right, its folder is not.
    func repair(_ notice: Notice, at path: String) throws {
        let target = store.path(for: notice)
        guard target != path else { return }
        try Sys.makeDirectory((target as NSString).deletingLastPathComponent)
        try writes.move(path, to: target)
    }
}
