import Foundation

/// Reads an audit bundle's `.tar` without `tar -x`: entry by entry, with limits, so a hostile
/// archive (a size bomb, a link out of the folder, `..`, absolute or very deep paths, a device
/// file) is refused before anything is written, and nothing outside the target folder is touched.
///
/// Only what `rgov export` writes is accepted: uncompressed ustar/GNU entries that are regular
/// files or folders, with GNU long names.
public struct TarReader {
    public struct Limits: Sendable {
        public var totalBytes = 512 << 20
        public var fileBytes = 64 << 20
        public var entries = 200_000
        public var depth = 8

        public init() {}
    }

    public struct Entry: Sendable {
        public var path: String
        public var isDirectory: Bool
        public var contents: Data
    }

    public struct Refusal: OperatorFacingError, Sendable {
        public var archive: String
        public var reason: String
        public var exitCode: ExitCode { .dataError }
        public var description: String { "\(archive): \(reason)" }
    }

    /// Every entry of the archive at `path`, checked against `limits`.
    public static func entries(of path: String, limits: Limits = Limits()) throws -> [Entry] {
        let data = try Sys.readFile(path, limit: limits.totalBytes + (1 << 20))
        func refuse(_ reason: String) -> Refusal { Refusal(archive: path, reason: reason) }
        let compressed: [[UInt8]] = [[0x1f, 0x8b], [0x42, 0x5a, 0x68], [0xfd, 0x37, 0x7a]]  // gzip, bzip2, xz
        if compressed.contains(where: { data.starts(with: $0) }) {
            throw refuse("a compressed archive; rgov bundles are plain tar files")
        }
        var entries: [Entry] = []
        var offset = 0
        var total = 0
        var longName: String? = nil
        while offset + 512 <= data.count {
            let header = data.subdata(in: offset..<offset + 512)
            if header.allSatisfy({ $0 == 0 }) { break }
            guard checksumMatches(header) else {
                throw refuse("entry at byte \(offset): header checksum does not match")
            }
            guard let size = octal(header, 124, 12) else { throw refuse("a size that is not octal") }
            let type = header[header.startIndex + 156]
            let bodyStart = offset + 512
            guard size >= 0, size <= limits.fileBytes, bodyStart + size <= data.count else {
                throw refuse("entry at byte \(offset): size \(size) is over the limit or past the end")
            }
            let body = data.subdata(in: bodyStart..<bodyStart + size)
            offset = bodyStart + (size + 511) / 512 * 512
            total += size
            guard total <= limits.totalBytes else { throw refuse("more than \(limits.totalBytes) bytes in all") }
            if type == UInt8(ascii: "L") {
                longName = String(decoding: body.prefix { $0 != 0 }, as: UTF8.self)
                continue
            }
            var name = longName ?? field(header, 0, 100)
            longName = nil
            let prefix = field(header, 345, 155)
            if !prefix.isEmpty && !name.contains("/") { name = prefix + "/" + name }
            switch type {
            case UInt8(ascii: "0"), 0, UInt8(ascii: "5"): break
            case UInt8(ascii: "1"): throw refuse("\(name): a hard link; bundles hold files and folders only")
            case UInt8(ascii: "2"): throw refuse("\(name): a symbolic link; bundles hold files and folders only")
            default: throw refuse("\(name): entry type \(Character(UnicodeScalar(type))) is not a file or a folder")
            }
            let parts = name.split(separator: "/", omittingEmptySubsequences: true)
            guard !name.hasPrefix("/"), !parts.contains(".."), !parts.isEmpty else {
                throw refuse("\(Identifier.quoted(name)): an absolute path or one that climbs out with ..")
            }
            guard parts.count <= limits.depth else { throw refuse("\(name): deeper than \(limits.depth) folders") }
            guard parts.allSatisfy({ !$0.contains("\0") }) else { throw refuse("\(name): a NUL in the name") }
            entries.append(
                Entry(path: parts.joined(separator: "/"), isDirectory: type == UInt8(ascii: "5"), contents: body))
            guard entries.count <= limits.entries else { throw refuse("more than \(limits.entries) entries") }
        }
        return entries
    }

    /// Writes `entries` under `folder` (private, 0700/0600), never following or making a link.
    ///
    /// A stop signal ends it between two entries (`StopRequested`); the caller removes the folder.
    public static func extract(_ entries: [Entry], into folder: String) throws {
        for entry in entries {
            try Shutdown.checkpoint()
            let target = StateLayout.bundleFile(entry.path, in: folder)
            if entry.isDirectory {
                try Sys.makeDirectory(target)
            } else {
                try Sys.makeDirectory((target as NSString).deletingLastPathComponent)
                guard try DurableFile.create(entry.contents, at: target) else {
                    throw Refusal(archive: folder, reason: "\(entry.path) appears twice")
                }
            }
        }
    }

    static func field(_ header: Data, _ start: Int, _ length: Int) -> String {
        let bytes = header[(header.startIndex + start)..<(header.startIndex + start + length)]
        return String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
    }

    /// An octal number field (blank: 0); nil when it is not one.
    static func octal(_ header: Data, _ start: Int, _ length: Int) -> Int? {
        let text = field(header, start, length).trimmingCharacters(in: CharacterSet(charactersIn: " \0"))
        return Int(text.isEmpty ? "0" : text, radix: 8)
    }

    static func checksumMatches(_ header: Data) -> Bool {
        var sum = 0
        for (i, byte) in header.enumerated() { sum += (148..<156).contains(i) ? 32 : Int(byte) }
        return octal(header, 148, 8) == sum
    }
}
