import Foundation

/// How many notices ended `acked` or `blocked`, and the acked ones by evidence kind; and the
/// notices still waiting by state and reason, with the oldest of each state: without reading
/// every notice on every tick.
///
/// Each final-state day folder, and each folder of notices under way, is summarised (names
/// counted; acked notices read for their evidence kind, waiting ones for their reason and age)
/// and the summary cached in `metrics/notice-history.json` with the folder's modification time:
/// a folder that gained, lost or replaced a notice since (a move, a rewrite by rename, a prune)
/// has a new time and is summarised again. A folder changed within `Sys.racyNanoseconds` of the
/// summary is not cached, since a second change that soon could keep its time. The cache is only
/// a cache: deleting it, or `rgov status --recount`, rebuilds it from the folders, and it is
/// written only when a summary changed, so a tick with nothing new writes nothing here.
public struct NoticeHistory: Sendable {
    struct Day: Codable, Equatable {
        var modified_ns: Int64
        var notices: Int
        var acks_by_kind: [String: Int]?
    }

    /// A folder of notices under way.
    struct Waiting: Codable, Equatable {
        var modified_ns: Int64
        var by_reason: [String: Int]
        /// When its oldest notice was created.
        var oldest_created_ms: Int64?
    }

    struct Cache: Codable, Equatable {
        var schema = "rgov.notice-history/v1"
        /// By `<state>:<day>`.
        var days: [String: Day]
        /// By the folder's path in the state folder.
        var waiting: [String: Waiting]?
    }

    public struct Summary: Sendable, Equatable {
        public var finished: [DeliveryState: Int]
        public var acksByKind: [String: Int]
        /// Notices under way, keyed by `LabelSet.notices` (deferred ones count as pending_external_send).
        public var waitingByStateReason: [String: Int]
        /// When the oldest notice of each state under way was created.
        public var oldestWaiting: [DeliveryState: Date]
    }

    public let layout: StateLayout
    /// How the cache is written (staged with the stage that counts, or on its own).
    let writes: Writes

    public init(layout: StateLayout, writes: Writes = .immediate) { (self.layout, self.writes) = (layout, writes) }

    /// The cache as this process last read it, with its file's identity then: a second summary in
    /// one process (a tick's, after the metrics of its watchdog's run) does not decode it again.
    nonisolated(unsafe) private static var lastRead: (path: String, identity: Sys.FileIdentity, cache: Cache)?
    private static let lastReadLock = NSLock()

    /// The stored cache; nil when missing or unreadable.
    private func stored() -> Cache? {
        let path = layout.noticeHistory
        guard let identity = Sys.identity(path) else { return nil }
        if let known = Self.lastReadLock.withLock({ Self.lastRead }), known.path == path, known.identity == identity {
            return known.cache
        }
        guard let data = try? Sys.readFile(path, limit: 64 << 20),
            let cache = try? CanonicalJSON.decode(Cache.self, from: data)
        else { return nil }
        // Kept only if the file read is the one whose identity was taken (replaced by rename, never in place).
        if Sys.identity(path) == identity { Self.lastReadLock.withLock { Self.lastRead = (path, identity, cache) } }
        return cache
    }

    /// The counts, from the cache where a folder is unchanged; `recount` ignores the cache.
    public func summary(recount: Bool = false) throws -> Summary {
        let stored = recount ? nil : stored()
        var fresh = Cache(days: [:], waiting: [:])
        var summary = Summary(finished: [:], acksByKind: [:], waitingByStateReason: [:], oldestWaiting: [:])
        // Times from here on are too recent to key the cache on.
        let racyAfter = Sys.fileSystemNanoseconds() - Sys.racyNanoseconds
        for state in DeliveryState.allCases where state.isFinal {
            summary.finished[state] = 0
            for day in try layout.dayPartitions(in: layout.notices(state)) {
                let folder = layout.notices(state, day: day)
                let key = state.rawValue + ":" + day
                // The time first: a notice landing after it is counted now and again next time.
                guard let modified = Sys.modifiedNanoseconds(folder) else { continue }
                var entry: Day
                if let cached = stored?.days[key], cached.modified_ns == modified {
                    entry = cached
                } else {
                    let files = try layout.files(in: folder)
                    entry = Day(modified_ns: modified, notices: files.count, acks_by_kind: nil)
                    if state == .acked {
                        entry.acks_by_kind = [:]
                        for brief in files.compactMap(Brief.read) where brief.state == .acked {
                            entry.acks_by_kind?[brief.ack_evidence?.kind.rawValue ?? "unknown", default: 0] += 1
                        }
                    }
                }
                if modified < racyAfter { fresh.days[key] = entry }
                summary.finished[state, default: 0] += entry.notices
                summary.acksByKind.merge(entry.acks_by_kind ?? [:], uniquingKeysWith: +)
            }
        }
        let waiting: [(DeliveryState, String)] =
            [DeliveryState.prepared, .queued, .dispatched, .pending_external_send].map { ($0, layout.notices($0)) }
            + [(.pending_external_send, layout.deferredNotices)]
        for (state, folder) in waiting {
            guard let modified = Sys.modifiedNanoseconds(folder) else { continue }
            let key = layout.relative(folder)
            var entry: Waiting
            if let cached = stored?.waiting?[key], cached.modified_ns == modified {
                entry = cached
            } else {
                entry = Waiting(modified_ns: modified, by_reason: [:], oldest_created_ms: nil)
                for brief in try layout.files(in: folder).compactMap(Brief.read) {
                    entry.by_reason[brief.state_reason, default: 0] += 1
                    let created = Timestamp.milliseconds(brief.created_at)
                    entry.oldest_created_ms = min(entry.oldest_created_ms ?? created, created)
                }
            }
            if modified < racyAfter { fresh.waiting?[key] = entry }
            for (reason, n) in entry.by_reason {
                summary.waitingByStateReason[LabelSet.notices.key(state.rawValue, reason), default: 0] += n
            }
            if let oldest = entry.oldest_created_ms.map(Timestamp.date(milliseconds:)) {
                summary.oldestWaiting[state] = min(summary.oldestWaiting[state] ?? oldest, oldest)
            }
        }
        if fresh != stored, Sys.isDirectory(layout.metrics) {
            // A cache: failing to write it costs time next run, never a wrong count.
            try? writes.write(try CanonicalJSON.encodeFile(fresh), to: layout.noticeHistory, phase: .markers)
        }
        return summary
    }

    /// The fields a summary counts, decoded without the rest of a notice (its transitions, message).
    private struct Brief: Decodable {
        struct Evidence: Decodable { var kind: AckEvidence.Kind }
        var state: DeliveryState
        var state_reason: String
        var created_at: Date
        var ack_evidence: Evidence?

        static func read(_ path: String) -> Brief? {
            try? CanonicalJSON.decode(Brief.self, from: try Sys.readFile(path, limit: 8 << 20))
        }
    }
}
