import Foundation

/// The open episodes by dedup key (`long-task-watchdog/open-episodes.tsv`), so a run that finds
/// the episodes folder as it was does not read every open episode to learn its key.
///
/// Keyed by the folder's modification time: opening, rewriting (by rename), closing or moving an
/// episode changes it. A folder changed within `Sys.racyNanoseconds` of the run is not indexed
/// (a second change that soon could keep its time). The header carries the size of the lines
/// after it, so a torn file is never taken for a shorter index. A hint: missing, torn or stale,
/// the folder is read.
struct EpisodeIndex {
    static let header = "rgov.open-episodes/v1"

    /// The index written for the folder as it is now (modification time `modified`): file names by dedup key.
    static func read(_ path: String, modified: Int64) -> [String: String]? {
        guard let data = try? Sys.readFile(path, limit: 256 << 20), let end = data.firstIndex(of: 0x0a) else {
            return nil
        }
        let body = data[(end + 1)...]
        guard String(decoding: data[..<end], as: UTF8.self) == header + "\t\(modified)\t\(body.count)" else {
            return nil
        }
        var index: [String: String] = [:]
        for line in body.split(separator: 0x0a) {
            let fields = line.split(separator: 9, omittingEmptySubsequences: false)
            guard fields.count == 2 else { return nil }
            index[String(decoding: fields[0], as: UTF8.self)] = String(decoding: fields[1], as: UTF8.self)
        }
        return index
    }

    /// Replaces the index (not made durable: a cache, rebuilt when lost), unless a key or name
    /// cannot be written on a line.
    static func write(_ index: [String: String], modified: Int64, to path: String) throws {
        guard index.allSatisfy({ ScanCache.fits($0.key) && ScanCache.fits($0.value) }) else { return }
        var body = ""
        for (key, name) in index.sorted(by: { $0.key < $1.key }) { body += key + "\t" + name + "\n" }
        try DurableFile.replace(
            Data((header + "\t\(modified)\t\(body.utf8.count)\n" + body).utf8), at: path)
    }
}
