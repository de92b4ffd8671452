import Foundation

/// `rgov prune`: `spec.audit.retention_days` applied to finished notices.
///
/// Only final notices (`acked`, `blocked`) older than the retention window are pruned, each with
/// its whole chain (spool handoff, attempts, receipts), and only after an audit bundle holds it,
/// unless the profile says export is not required. A notice something still names is kept, so the
/// state stays whole (`rgov check-state`): an open episode (its notices, the first and the
/// escalation by name), a notice under way that follows it or requeues it, an attempt in flight, a
/// late ack waiting to be taken in. Every prune is an operator action listing what went;
/// `--dry-run` only says what would.
extension OperatorDesk {
    public struct PruneResult: Codable, Sendable {
        public var cutoff: Date
        public var dry_run: Bool
        public var pruned: [String]
        public var files_removed: Int
        public var kept_not_exported: [String]
        /// Finished and old enough, but named by an open episode, a notice under way, an attempt in
        /// flight or a late ack.
        public var kept_referenced: [String] = []
    }

    public func prune(dryRun: Bool) throws -> PruneResult {
        try authorize("prune", target: "retention", reason: nil)
        let profile = deployment.profile
        let cutoff = now.adding(ms: -profile.retentionDays * 86_400_000)
        let cutoffDay = Timestamp.day(cutoff)
        let exported = try exportedNoticeFiles()
        let referenced = try referencedNotices()
        var result = PruneResult(cutoff: cutoff, dry_run: dryRun, pruned: [], files_removed: 0, kept_not_exported: [])
        var missions: [String] = []
        for state in DeliveryState.allCases where state.isFinal {
            for day in try layout.dayPartitions(in: layout.notices(state)) where day < cutoffDay {
                for path in try layout.files(in: layout.notices(state, day: day)) {
                    let name = (path as NSString).lastPathComponent
                    guard let notice = try? store.read(path), notice.updated_at < cutoff else { continue }
                    if profile.exportRequired && !exported.contains(name) {
                        result.kept_not_exported.append(notice.notice_id)
                        continue
                    }
                    if referenced.ids.contains(notice.notice_id) || referenced.episodes.contains(notice.episode_id) {
                        result.kept_referenced.append(notice.notice_id)
                        continue
                    }
                    let chain = try Inspection(layout: layout, now: now).chain(of: notice, at: path)
                    var files = [path]
                    if let spool = chain.files["spool"] { files.append(spool) }
                    files += try layout.attemptFiles(of: notice.notice_id)
                    files += try layout.receiptFiles(of: notice.notice_id)
                    result.pruned.append(notice.notice_id)
                    missions.append(notice.mission_id)
                    result.files_removed += files.count
                    if !dryRun { for file in files { try Sys.unlink(file) } }
                }
            }
        }
        try record(
            "prune", target: "retention \(profile.retentionDays) days", reason: dryRun ? "dry run" : nil,
            result:
                "\(dryRun ? "would prune" : "pruned") \(result.pruned.count) notices (\(result.files_removed) files); "
                + "kept \(result.kept_not_exported.count) not yet exported, \(result.kept_referenced.count) still referenced"
                + (result.pruned.isEmpty ? "" : ": " + result.pruned.prefix(50).joined(separator: ", ")),
            missions: dryRun ? [] : missions)
        return result
    }

    /// What the live state still names: notice ids, and open episodes (all of whose notices stay).
    ///
    /// A record that could name a notice and cannot be read stops the prune: what it names is
    /// unknown, and removing it could break the state.
    private func referencedNotices() throws -> (ids: Set<String>, episodes: Set<String>) {
        var ids: Set<String> = []
        var episodes: Set<String> = []
        func read<T>(_ path: String, _ read: () throws -> T) throws -> T {
            do {
                return try read()
            } catch {
                throw RgovError.data(
                    "\(path) cannot be read (\(error)), so what it names is unknown; nothing was pruned")
            }
        }
        for path in try layout.files(in: layout.openEpisodes) {
            let episode = try read(path) {
                try CanonicalJSON.decode(Episode.self, from: try Sys.readFile(path, limit: 1 << 20))
            }
            episodes.insert(episode.episode_id)
            ids.formUnion([episode.notice_id, episode.escalation_notice_id].compactMap { $0 })
        }
        for path in try store.waitingFolders.flatMap({ try layout.files(in: $0) }) {
            let notice = try read(path) { try store.read(path) }
            ids.formUnion([notice.follows, notice.requeued_from].compactMap { $0 })
        }
        for path in try layout.files(in: layout.inflightAttempts) {
            let attempt = try read(path) { try CanonicalJSON.decode(SenderAttempt.self, from: try Sys.readFile(path)) }
            ids.insert(attempt.notice_id)
        }
        // Late acks are untrusted drops: one unreadable names nothing (the bridge quarantines it).
        for path in try layout.files(in: layout.bridgeAcks) {
            if let ack = try? CanonicalJSON.decode(LateAck.self, from: try Sys.readFile(path, limit: 1 << 20)) {
                ids.insert(ack.notice_id)
            }
        }
        return (ids, episodes)
    }

    /// File names of notices that some bundle under `exports/` holds.
    private func exportedNoticeFiles() throws -> Set<String> {
        let manifests = try layout.bundles().compactMap { bundle in
            (try? Sys.readFile(StateLayout.bundleManifest(bundle), limit: 64 << 20)).flatMap {
                try? CanonicalJSON.decode(BundleManifest.self, from: $0)
            }
        }
        let notices = manifests.flatMap(\.artifacts).filter { $0.kind == "notice" }
        return Set(notices.map { ($0.ref as NSString).lastPathComponent })
    }
}
