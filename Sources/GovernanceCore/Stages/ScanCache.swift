import Foundation

/// The watchdog's scan cache (`long-task-watchdog/scan-cache.tsv`): for each mission snapshot that
/// raised nothing, what a scan needs from it and the first millisecond at which a rule could fire,
/// keyed by the file's identity (inode, size, modification and status-change times).
///
/// A snapshot whose identity is unchanged and whose quiet time has not come is not read again.
/// Every time-based rule fires once a time has passed (`now - since > limit`), so a mission quiet
/// just before `quiet_until` is quiet at every earlier time, and a clock set back keeps an entry
/// valid. A file changed within `Sys.racyNanoseconds` of a scan is not cached (its next change could
/// keep the same times). The cache is a hint: missing, torn, or made under other rules, other
/// approvals or another build, it is ignored and every snapshot is read.
struct ScanCache {
    /// What a scan takes from a quiet mission.
    struct Summary: Equatable {
        var missionID: String
        var status: String
        var missionType: String
        /// When the mission last spoke (its newest time).
        var spokeMs: Int64?
        var pendingApprovals: Int
        var oldestProposalMs: Int64?
        /// The snapshot's `tenant_id`, empty when it has none.
        var tenant = ""
    }

    /// A condition that holds for the mission: its rule and its episode's dedup key.
    struct Firing: Equatable {
        var rule: String
        var key: String
    }

    struct Entry: Equatable {
        var identity: Sys.FileIdentity
        /// Until when judging it again changes nothing: no new rule fires, and no reminder or
        /// escalation of its open conditions falls due.
        var quietUntilMs: Int64
        var summary: Summary
        var firing: [Firing]
    }

    static let header = "rgov.scan-cache/v3"

    /// The cache as written, read in file-name order beside the sorted listing (a merge, so
    /// neither side is held as a table), and the cache the scan writes, line by line.
    private let old: [UInt8]
    private var offset: Int
    /// While every line so far was kept in order, the new cache is `old` up to `keptUpTo` and is
    /// not copied; from the first difference on, it is built in `written`.
    private var keptUpTo: Int
    private var written: [UInt8]?
    /// The file was missing, torn, or made under another fingerprint.
    private let stale: Bool

    /// The cache at `path` if it was made under `fingerprint`, else an empty one.
    init(_ path: String, fingerprint: String) {
        let header = Array((Self.header + "\t" + fingerprint + "\n").utf8)
        let data = [UInt8]((try? Sys.readFile(path, limit: 1 << 30)) ?? Data())
        stale = !(data.starts(with: header) && data.last == 0x0a)
        old = stale ? header : data
        offset = header.count
        keptUpTo = offset
    }

    /// The new cache to write, or nil when the scan changed nothing.
    var changed: Data? {
        if let written { return written == old && !stale ? nil : Data(written) }
        return keptUpTo == old.endIndex && !stale ? nil : Data(old[..<keptUpTo])
    }

    private mutating func diverge() {
        if written == nil { written = Array(old[..<keptUpTo]) }
    }

    /// The entry for file `name`, names before it skipped (dropped); names are visited in order.
    mutating func entry(_ name: String) -> (entry: Entry, line: Range<Int>)? {
        while offset < old.endIndex {
            guard let end = Self.index(of: 0x0a, in: old, from: offset) else { return nil }
            let tab = Self.index(of: 0x09, in: old, from: offset).map { min($0, end) } ?? end
            let lineName = String(decoding: old[offset..<tab], as: UTF8.self)
            if lineName > name { return nil }
            let start = offset
            offset = end + 1
            if lineName == name { return Self.parse(old[start..<end]).map { ($0, start..<end + 1) } }
        }
        return nil
    }

    /// `memchr(3)`: where `byte` next occurs in `bytes` from `start`.
    private static func index(of byte: UInt8, in bytes: [UInt8], from start: Int) -> Int? {
        bytes.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress, start < buffer.count,
                let found = memchr(base + start, Int32(byte), buffer.count - start)
            else { return nil }
            return base.distance(to: found.assumingMemoryBound(to: UInt8.self))
        }
    }

    /// Keeps `line` (an entry read and still valid) as it was.
    mutating func keep(_ line: Range<Int>) {
        if written == nil && line.lowerBound == keptUpTo {
            keptUpTo = line.upperBound
        } else {
            diverge()
            written?.append(contentsOf: old[line])
        }
    }

    mutating func write(_ name: String, _ e: Entry) {
        let s = e.summary
        let fields: [String] = [
            name, String(e.identity.inode), String(e.identity.size), String(e.identity.modified),
            String(e.identity.changed), String(e.quietUntilMs), s.missionID, s.status, s.missionType,
            s.spokeMs.map(String.init) ?? "-", String(s.pendingApprovals), s.oldestProposalMs.map(String.init) ?? "-",
            e.firing.map { $0.rule + "\u{1E}" + $0.key }.joined(separator: "\u{1F}"), s.tenant,
        ]
        diverge()
        written?.append(contentsOf: (fields.joined(separator: "\t") + "\n").utf8)
    }

    private static func parse(_ line: ArraySlice<UInt8>) -> Entry? {
        let fields = line.split(separator: 0x09, omittingEmptySubsequences: false)
        guard fields.count == 14 else { return nil }
        let f = fields.map { String(decoding: $0, as: UTF8.self) }
        guard f.count == 14, let inode = UInt64(f[1]), let size = Int64(f[2]), let modified = Int64(f[3]),
            let changed = Int64(f[4]), let quiet = Int64(f[5]), let pending = Int(f[10])
        else { return nil }
        return Entry(
            identity: Sys.FileIdentity(inode: inode, size: size, modified: modified, changed: changed),
            quietUntilMs: quiet,
            summary: Summary(
                missionID: f[6], status: f[7], missionType: f[8], spokeMs: Int64(f[9]), pendingApprovals: pending,
                oldestProposalMs: Int64(f[11]), tenant: f[13]),
            firing: fields[12].split(separator: 0x1F).compactMap {
                let pair = $0.split(separator: 0x1E, maxSplits: 1).map { String(decoding: $0, as: UTF8.self) }
                return pair.count == 2 ? Firing(rule: pair[0], key: pair[1]) : nil
            })
    }

    /// Whether `value` can stand in a field (no tab, no line break, no separator of a list).
    static func fits(_ value: String) -> Bool {
        !value.utf8.contains { $0 == 9 || $0 == 10 || $0 == 13 || $0 == 0x1E || $0 == 0x1F }
    }
}
