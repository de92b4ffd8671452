import Foundation

/// Why a file was moved aside, written beside it as `reason.json`.
public struct QuarantineRecord: Codable, Sendable, Equatable {
    public var schema = "rgov.quarantine/v1"
    public var quarantine_id: String
    public var original_path: String
    public var file_name: String
    public var reason: String
    public var stage: String
    public var quarantined_at: Date
    public var size_bytes: Int?
    public var sha256: String?
}

/// Moves unreadable or invalid files aside into `quarantine/<id>/`, never deleting them.
///
/// Each entry is a folder holding the original file under its own name and `reason.json`,
/// so the file can be inspected or restored byte for byte.
public struct Quarantine: Sendable {
    public let layout: StateLayout
    let writes: Writes

    public init(layout: StateLayout, writes: Writes = .immediate) { (self.layout, self.writes) = (layout, writes) }

    /// Records that `path`, outside the state folder (an import source), could not be taken in:
    /// the reason only, since the file is not rgov's to move.
    @discardableResult
    public func note(_ path: String, reason: String, stage: String, at: Date) throws -> QuarantineRecord {
        let (id, entry, name) = try newEntry(for: path, at: at)
        let record = QuarantineRecord(
            quarantine_id: id, original_path: path, file_name: name, reason: reason + " (left where it was)",
            stage: stage, quarantined_at: at, size_bytes: nil, sha256: nil)
        try writes.write(try CanonicalJSON.encodeFile(record), to: entry + "/reason.json")
        return record
    }

    private func newEntry(for path: String, at: Date) throws -> (id: String, folder: String, name: String) {
        let name = (path as NSString).lastPathComponent
        let folderName = ((path as NSString).deletingLastPathComponent as NSString).lastPathComponent
        let base = "q-" + Timestamp.compact(at) + "-" + sanitize(folderName + "-" + name)
        var id = String(base.prefix(120))
        var suffix = 1
        while !(try Sys.makeDirectory(layout.quarantine + "/" + id)) {
            suffix += 1
            id = String(base.prefix(112)) + "-" + String(suffix)
        }
        return (id, layout.quarantine + "/" + id, name)
    }

    /// Moves `path` into quarantine with `reason`; returns the record written.
    @discardableResult
    public func isolate(_ path: String, reason: String, stage: String, at: Date) throws -> QuarantineRecord {
        let (id, entry, name) = try newEntry(for: path, at: at)
        let bytes = Sys.kind(path) == .regular ? try? Sys.readFile(path, limit: 256 << 20) : nil
        let record = QuarantineRecord(
            quarantine_id: id, original_path: path, file_name: name, reason: reason, stage: stage, quarantined_at: at,
            size_bytes: bytes?.count, sha256: bytes.map { SHA256.hex(of: [UInt8]($0)) })
        // The reason goes first: a crash between the two steps leaves the file where it was
        // (it is quarantined again next run), never a quarantined file without its reason.
        try writes.write(try CanonicalJSON.encodeFile(record), to: entry + "/reason.json")
        try writes.move(path, to: layout.quarantinedFile(id, fileName: name))
        return record
    }

    private func sanitize(_ text: String) -> String {
        String(
            text.unicodeScalars.map { scalar -> Character in
                let c = Character(scalar)
                return (c.isASCII && (c.isLetter || c.isNumber || c == "." || c == "-" || c == "_")) ? c : "_"
            })
    }
}
