import Foundation

/// The notices, receipts and attempt records that cannot be read where readers look: nothing is
/// hidden by a reader that skips what it cannot decode.
///
/// `rgov tick` fails naming each, `rgov ls` and `rgov status` count them, `rgov doctor` fails. No
/// stage scans finished notices, receipts or filed attempts, so without this a broken one would
/// only be seen by `rgov check-state`.
///
/// Cost follows what changed, not history: each folder is summarised (the names found unreadable,
/// and when it was scanned) in `metrics/unreadable-records.json`. A folder whose modification time
/// is unchanged since a scan made well after it (`Sys.racyNanoseconds`) is taken from the summary;
/// in a changed folder, only a file whose change time (`ctime`, which a write, a rename or a chmod
/// moves, and which no one sets back) is not well before that scan is read again. A file rewritten
/// in place in an unchanged folder keeps the folder's time: `rgov check-state` reads everything.
public struct UnreadableRecords: Sendable {
    /// One file that is not whole JSON of its kind, or cannot be read at all.
    public struct Entry: Codable, Sendable, Equatable {
        /// `notice`, `receipt` or `attempt`.
        public var kind: String
        public var path: String
        public var reason: String
    }

    struct Folder: Codable, Equatable {
        var modified_ns: Int64
        var scanned_ns: Int64
        /// Unreadable files by name, with why.
        var unreadable: [String: String]
    }

    struct Cache: Codable, Equatable {
        var schema = "rgov.unreadable-records/v1"
        /// By the folder's path in the state folder.
        var folders: [String: Folder]
    }

    public let layout: StateLayout

    public init(layout: StateLayout) { self.layout = layout }

    /// Every folder a reader looks in, with the kind of record it holds.
    func folders() throws -> [(kind: String, folder: String)] {
        let receiptDays = try layout.dayPartitions(in: layout.receipts).map { layout.day($0, in: layout.receipts) }
        let attemptDays = try layout.dayPartitions(in: layout.attempts).map { layout.day($0, in: layout.attempts) }
        return try NoticeStore(layout: layout).folders().map { ("notice", $0) } + receiptDays.map { ("receipt", $0) }
            + ([layout.inflightAttempts] + attemptDays).map { ("attempt", $0) }
    }

    /// Why `path` is not a whole record of `kind`; nil when it is.
    static func problem(_ kind: String, _ path: String) -> String? {
        do {
            let data = try Sys.readFile(path, limit: 8 << 20)
            switch kind {
            case "notice": _ = try CanonicalJSON.decode(Notice.self, from: data)
            case "receipt": _ = try CanonicalJSON.decode(Receipt.self, from: data)
            default: _ = try CanonicalJSON.decode(SenderAttempt.self, from: data)
            }
            return nil
        } catch {
            return String("\(error)".prefix(300))
        }
    }

    /// The unreadable records, by path; `updating` keeps the summary for the next caller (the tick,
    /// `ls` and `status` do; `doctor` changes nothing).
    public func find(updating: Bool = true) throws -> [Entry] {
        let cachePath = layout.unreadableRecords
        let stored = (try? Sys.readFile(cachePath, limit: 64 << 20)).flatMap {
            try? CanonicalJSON.decode(Cache.self, from: $0)
        }
        var fresh = Cache(folders: [:])
        var found: [Entry] = []
        for (kind, folder) in try folders() {
            guard let modified = Sys.modifiedNanoseconds(folder) else { continue }
            let key = layout.relative(folder)
            let before = stored?.folders[key]
            var entry: Folder
            if let before, before.modified_ns == modified, modified < before.scanned_ns - Sys.racyNanoseconds {
                entry = before
            } else {
                entry = Folder(modified_ns: modified, scanned_ns: Sys.fileSystemNanoseconds(), unreadable: [:])
                for name in try layout.artifactNames(in: folder) {
                    let path = layout.file(name, in: folder)
                    if let before, let identity = Sys.identity(path),
                        identity.changed < before.scanned_ns - Sys.racyNanoseconds
                    {
                        entry.unreadable[name] = before.unreadable[name]
                    } else if let problem = Self.problem(kind, path) {
                        // Gone meanwhile (moved by a stage): not unreadable.
                        if Sys.kind(path) != .missing { entry.unreadable[name] = problem }
                    }
                }
            }
            fresh.folders[key] = entry
            for (name, reason) in entry.unreadable.sorted(by: { $0.key < $1.key }) {
                found.append(Entry(kind: kind, path: layout.file(name, in: folder), reason: reason))
            }
        }
        if updating, fresh != stored, Sys.isDirectory(layout.metrics) {
            // A summary: failing to write it costs time next run, never a record missed.
            try? DurableFile.replace(try CanonicalJSON.encodeFile(fresh), at: cachePath)
        }
        return found.sorted { $0.path < $1.path }
    }

    /// The delivery state whose folder holds the notice at `path` (`deferred/` is pending).
    public func state(ofNoticeAt path: String) -> DeliveryState? {
        if path.hasPrefix(layout.deferredNotices + "/") { return .pending_external_send }
        return DeliveryState.allCases.first { path.hasPrefix(layout.notices($0) + "/") }
    }

    /// `counts` less the unreadable notices among `entries`: each is counted as unreadable, not in a state.
    public func readable(_ counts: [DeliveryState: Int], less entries: [Entry]) -> [DeliveryState: Int] {
        var result = counts
        for entry in entries where entry.kind == "notice" {
            if let state = state(ofNoticeAt: entry.path), let n = result[state], n > 0 { result[state] = n - 1 }
        }
        return result
    }

    public static func describe(_ entries: [Entry]) -> [String] {
        entries.map { "UNREADABLE \($0.kind) \(TerminalText.field($0.path)): \(TerminalText.field($0.reason))" }
    }
}
