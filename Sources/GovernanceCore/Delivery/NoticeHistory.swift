import Foundation

/// How many notices ended `acked` or `blocked`, and the acked ones by evidence kind, without
/// reading history on every tick.
///
/// Each final-state day folder is summarised once (names counted; acked notices read for their
/// evidence kind) and the summary cached in `metrics/notice-history.json` with the folder's
/// modification time: a folder that gained or lost a notice since (a late move, a clock set
/// back, a prune) has a new time and is summarised again. The cache is only a cache: deleting it,
/// or `rgov status --recount`, rebuilds it from the folders, and it is written only when a
/// summary changed, so a tick with nothing new writes nothing here.
public struct NoticeHistory: Sendable {
    struct Day: Codable, Equatable {
        var modified_ns: Int64
        var notices: Int
        var acks_by_kind: [String: Int]?
    }

    struct Cache: Codable, Equatable {
        var schema = "rgov.notice-history/v1"
        /// By `<state>:<day>`.
        var days: [String: Day]
    }

    public struct Summary: Sendable, Equatable {
        public var finished: [DeliveryState: Int]
        public var acksByKind: [String: Int]
    }

    public let layout: StateLayout

    public init(layout: StateLayout) { self.layout = layout }

    /// The counts, from the cache where a folder is unchanged; `recount` ignores the cache.
    public func summary(recount: Bool = false) throws -> Summary {
        let stored =
            recount
            ? nil
            : (try? Sys.readFile(layout.noticeHistory, limit: 64 << 20)).flatMap {
                try? CanonicalJSON.decode(Cache.self, from: $0)
            }
        var fresh = Cache(days: [:])
        var summary = Summary(finished: [:], acksByKind: [:])
        let store = NoticeStore(layout: layout)
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
                        entry.acks_by_kind = NoticeStore.ackKinds(files.compactMap { try? store.read($0) })
                    }
                }
                fresh.days[key] = entry
                summary.finished[state, default: 0] += entry.notices
                summary.acksByKind.merge(entry.acks_by_kind ?? [:], uniquingKeysWith: +)
            }
        }
        if fresh != stored, Sys.isDirectory(layout.metrics) {
            // A cache: failing to write it costs time next run, never a wrong count.
            try? DurableFile.write(try CanonicalJSON.encodeFile(fresh), to: layout.noticeHistory, phase: .markers)
        }
        return summary
    }
}
