import Foundation

/// The evidence chain of each mission: every record rgov writes about it (events, decisions,
/// notices, spool handoffs, attempts, receipts, operator actions), linked in the order written,
/// each link carrying the hash of the one before.
///
/// The one owner of `chains/`. A record is published first (durable, never overwritten), then
/// linked, so a link never names a record that is not there; a crash between the two leaves a
/// record unlinked, which a rerun of the same step links (linking is idempotent by kind and id)
/// and `reconcile` (at export) links late, saying so.
public struct MissionChain: Sendable {
    public let layout: StateLayout
    /// Staged: records and links are published at the transaction's commit, links last.
    let writes: Writes

    public init(layout: StateLayout, writes: Writes = .immediate) { (self.layout, self.writes) = (layout, writes) }

    /// A chain file holds at most this much; a mission's history is far smaller.
    static let sizeLimit = 64 << 20

    /// What the first link of `mission`'s chain points back to.
    public static func genesis(_ mission: String) -> String { SHA256.hex(of: "rgov-chain:" + mission) }

    /// Publishes an immutable record at `path` (no-clobber) and links it.
    ///
    /// Returns whether it is new and the bytes stored (an earlier run's, when it was not new).
    @discardableResult
    public func publish<T: Encodable>(
        _ record: T, kind: ChainLink.Kind, id: String, mission: String, at path: String, time: Date
    ) throws -> (created: Bool, stored: Data) {
        try Sys.makeDirectory(DurableFile.directory(of: path))
        var stored = try CanonicalJSON.encodeFile(record)
        let created = try writes.create(stored, at: path)
        if !created { stored = try Sys.readFile(path, limit: 8 << 20) }
        try link(kind, id: id, sha256: SHA256.hex(of: [UInt8](stored)), ref: path, mission: mission, at: time)
        return (created, stored)
    }

    /// Publishes a receipt in its day partition and links it; returns the receipt stored (an
    /// earlier run's, which the notice's chain must continue from, when one was there).
    @discardableResult
    public func publish(_ receipt: Receipt, at path: String) throws -> Receipt {
        let (created, stored) = try publish(
            receipt, kind: .receipt, id: receipt.receipt_id, mission: receipt.mission_id, at: path,
            time: receipt.recorded_at)
        return created ? receipt : try CanonicalJSON.decode(Receipt.self, from: stored)
    }

    /// Appends a link for a record already durable at `ref`, unless `mission`'s chain has one for
    /// this kind and id.
    public func link(
        _ kind: ChainLink.Kind, id: String, sha256: String, ref: String, mission: String, at: Date, late: Bool = false
    ) throws {
        let relative = layout.relative(ref)
        // An identifier needs no escaping in JSON; anything else is encoded as the link will be.
        let pair =
            Identifier.isValid(id)
            ? "\"id\":\"\(id)\",\"kind\":\"\(kind.rawValue)\""
            : String(CanonicalJSON.line(["id": id, "kind": kind.rawValue]).dropFirst().dropLast())
        let needle = Array(pair.utf8)
        let body: (Data) throws -> Data? = { existing in
            let (count, last) = Self.tail(existing)
            if let last, (try? CanonicalJSON.decode(ChainLink.self, from: last)) == nil {
                throw RgovError.data("\(layout.chain(mission)): its last line is not a chain link")
            }
            // A link names its id and kind side by side in its canonical bytes: only a chain that
            // holds them can hold the link, so a first link for this record is found without
            // decoding every line.
            if Bytes.contains(existing, needle) {
                for line in Self.lines(existing) {
                    if let l = try? CanonicalJSON.decode(ChainLink.self, from: line), l.kind == kind, l.id == id {
                        return nil
                    }
                }
            }
            let next = ChainLink(
                mission_id: mission, seq: count + 1, kind: kind, id: id, sha256: sha256, ref: relative, at: at,
                prev_sha256: last.map { SHA256.hex(of: $0) } ?? Self.genesis(mission), late: late ? true : nil)
            var data = try CanonicalJSON.encode(next)
            data.append(0x0a)
            return data
        }
        // Linked once the record is durable: staged, after every other phase of the commit.
        try writes.append(layout.chain(mission), limit: Self.sizeLimit, body)
    }

    /// `mission`'s chain as it stands under its lock, whole lines only (a torn last line is cut off
    /// first, as the next append would): what export copies, never a line half-appended.
    public func snapshot(of mission: String) throws -> Data {
        var bytes = Data()
        try Sys.appendExclusively(layout.chain(mission), limit: Self.sizeLimit) {
            bytes = $0
            return nil
        }
        return bytes
    }

    /// The chain's links as stored, oldest first (a torn last line is left out).
    public func links(of mission: String) throws -> [ChainLink] {
        let path = layout.chain(mission)
        guard Sys.kind(path) == .regular else { return [] }
        return try Self.lines(try Sys.readFile(path, limit: Self.sizeLimit)).map {
            try CanonicalJSON.decode(ChainLink.self, from: $0)
        }
    }

    /// Whole lines of a chain file; bytes after the last newline (a torn append) are not a line.
    static func lines(_ data: Data) -> [Data] {
        guard let end = data.lastIndex(of: 0x0a) else { return [] }
        return data[..<end].split(separator: 0x0a, omittingEmptySubsequences: false).map { Data($0) }
    }

    /// How many whole lines a chain file holds, and its last whole line, without splitting it.
    static func tail(_ data: Data) -> (count: Int, last: Data?) {
        guard let end = data.lastIndex(of: 0x0a) else { return (0, nil) }
        let count = data.withUnsafeBytes { bytes in bytes.reduce(0) { $0 + ($1 == 0x0a ? 1 : 0) } }
        let start = data[..<end].lastIndex(of: 0x0a).map { $0 + 1 } ?? data.startIndex
        return (count, Data(data[start..<end]))
    }

    /// Recomputes a chain from its file's bytes: the head (the last line's hash) and every place
    /// where it does not continue.
    ///
    /// In a live state (`live`), a torn last line is an append a power cut interrupted, which the
    /// next append cuts off, not a break; in a bundle it is one.
    public static func check(_ data: Data, mission: String, label: String, live: Bool = false) -> (
        links: [ChainLink], head: String, problems: [String]
    ) {
        var problems: [String] = []
        if !live, let last = data.last, last != 0x0a { problems.append("\(label): the last line is not whole") }
        var links: [ChainLink] = []
        var head = genesis(mission)
        for (index, line) in lines(data).enumerated() {
            guard let link = try? CanonicalJSON.decode(ChainLink.self, from: line) else {
                problems.append("\(label): line \(index + 1) is not a chain link")
                head = SHA256.hex(of: [UInt8](line))
                continue
            }
            if link.mission_id != mission || link.seq != index + 1 || link.prev_sha256 != head {
                problems.append(
                    "\(label): line \(index + 1) (\(link.kind.rawValue) \(link.id)) does not continue the chain "
                        + "(a link before it was removed, edited or reordered)")
            }
            links.append(link)
            head = SHA256.hex(of: [UInt8](line))
        }
        return (links, head, problems)
    }
}
