import Foundation

/// Removes secrets from text before it is written anywhere (receipts, attempts, logs), piece by
/// piece.
///
/// Secrets are the values of environment variables whose names end in `_TOKEN`, `_SECRET`, `_KEY`
/// or `_PASSWORD`, and the binding's secret values (at least 4 characters long, so short values do
/// not erase ordinary text). What is redacted:
/// - every run of at least `piece` characters of a secret (the whole secret where it is shorter),
///   in any ASCII letter case;
/// - the same in its base64 (standard and URL alphabets, each of the 3 alignments a piece can
///   have in an encoded stream, padded or not), hex and percent-encoded forms (unreserved
///   characters kept, or every byte as `%XX`);
/// - across line breaks and other white space: a secret split over lines of a tail is found
///   whole and redacted with what lies between its pieces.
///
/// A URL's scheme and host are not secret: for a secret that is an `http(s)` URL, the whole URL
/// and the pieces of what follows its host (user, path, query) are.
public struct Redactor: Sendable {
    public static let secretSuffixes = ["_TOKEN", "_SECRET", "_KEY", "_PASSWORD"]
    /// The shortest run of a secret redacted on its own.
    public static let piece = 8
    /// A shorter value is not taken for a secret.
    public static let shortest = 4
    public static let marker = "[redacted]"

    /// For each window length, the hashes of every window of that length of every form of every
    /// secret (lowercased, white space removed).
    private let windows: [(width: Int, hashes: Set<UInt64>)]

    public init(environment: [String: String], extra: [String] = []) {
        let named = environment.filter { entry in Self.secretSuffixes.contains { entry.key.uppercased().hasSuffix($0) }
        }.map(\.value)
        self.init(secrets: named + extra)
    }

    private init(secrets: [String]) {
        var windows: [Int: Set<UInt64>] = [:]
        for part in Set(secrets.flatMap(Self.parts)) {
            for (form, length) in Self.forms(of: Array(part.text.utf8), whole: part.whole) {
                let bytes = Self.normalized(form).bytes
                let width = min(length, bytes.count)
                guard width > 0 else { continue }
                windows[width, default: []].formUnion((0...(bytes.count - width)).map { Self.hash(bytes, $0, width) })
            }
        }
        self.windows = windows.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    /// This redactor and `secrets` besides (a send's own idempotency key).
    public func adding(_ secrets: [String]) -> Redactor {
        Redactor(windows: windows + Redactor(secrets: secrets).windows)
    }

    private init(windows: [(width: Int, hashes: Set<UInt64>)]) { self.windows = windows }

    public func redact(_ text: String) -> String {
        guard !windows.isEmpty, !text.isEmpty else { return text }
        let original = Array(text.utf8)
        let (bytes, at) = Self.normalized(original)
        // Which original bytes a secret's window covers, interior white space included.
        var covered = [Bool](repeating: false, count: original.count)
        var any = false
        for (width, set) in windows where width <= bytes.count {
            // A rolling hash: one step per byte, whatever the width.
            let drop = Self.power(width - 1)
            var h = Self.hash(bytes, 0, width)
            var start = 0
            while true {
                if set.contains(h) {
                    for i in at[start]...at[start + width - 1] { covered[i] = true }
                    any = true
                }
                guard start + width < bytes.count else { break }
                h = (h &- (UInt64(bytes[start]) &+ 1) &* drop) &* Self.base &+ (UInt64(bytes[start + width]) &+ 1)
                start += 1
            }
        }
        guard any else { return text }
        var out: [UInt8] = []
        out.reserveCapacity(original.count)
        var i = 0
        while i < original.count {
            guard covered[i] else {
                out.append(original[i])
                i += 1
                continue
            }
            // A run widens to whole UTF-8 characters, so no character is left half.
            if original[i] & 0xC0 == 0x80 {
                while let last = out.popLast(), last & 0xC0 == 0x80 {}
            }
            while i < original.count && (covered[i] || original[i] & 0xC0 == 0x80) { i += 1 }
            out += Array(Self.marker.utf8)
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The first `count` characters of `text`, redacted whole before the cut.
    public func head(_ text: String, _ count: Int) -> String { String(redact(text).prefix(count)) }

    /// The last `count` characters of `text`, redacted whole before the cut.
    public func tail(_ text: String, _ count: Int) -> String { String(redact(text).suffix(count)) }

    struct Part: Hashable {
        var text: String
        var whole: Bool
    }

    /// What of a value is secret, and whether only as a whole: the value, and for an `http(s)` URL
    /// the URL whole and, piece by piece, what follows its host and the user before it.
    static func parts(_ value: String) -> [Part] {
        guard Array(value.utf8).filter({ !Self.isSpace($0) }).count >= shortest else { return [] }
        let lower = value.lowercased()
        for scheme in ["http://", "https://"] where lower.hasPrefix(scheme) {
            let rest = value.dropFirst(scheme.count)
            let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
            var parts = [Part(text: value, whole: true)]
            // The user and password before `@` are secret; the host is not.
            if let at = authority.lastIndex(of: "@") {
                parts.append(Part(text: String(authority[..<at]), whole: false))
            }
            parts.append(Part(text: String(rest.dropFirst(authority.count)), whole: false))
            return parts.filter { $0.text.utf8.count >= shortest }
        }
        return [Part(text: value, whole: false)]
    }

    /// Each form a secret may be written in, with the window length that stands for a piece of
    /// it: `piece` characters of the secret, or the whole of a shorter one (or of one redacted
    /// only whole).
    static func forms(of secret: [UInt8], whole asked: Bool = false) -> [(form: [UInt8], window: Int)] {
        let whole = asked || secret.count < piece
        var out: [(form: [UInt8], window: Int)] = [(secret, piece)]
        // A piece of 8 bytes encoded anywhere in a base64 stream shares at least 8 characters with
        // the encoding of the secret at one of its 3 alignments.
        for offset in whole ? [0] : [0, 1, 2] where offset < secret.count {
            let standard = Array(Data(secret[offset...]).base64EncodedString().utf8).filter { $0 != UInt8(ascii: "=") }
            let url = standard.map {
                $0 == UInt8(ascii: "+") ? UInt8(ascii: "-") : $0 == UInt8(ascii: "/") ? UInt8(ascii: "_") : $0
            }
            out += [(standard, piece), (url, piece)]
        }
        let hexDigits = Array("0123456789abcdef".utf8)
        let hex = { (b: UInt8) in [hexDigits[Int(b >> 4)], hexDigits[Int(b & 15)]] }
        let escaped = { (b: UInt8) in [UInt8(ascii: "%")] + hex(b) }
        out += [(secret.flatMap(hex), 2 * piece), (secret.flatMap(escaped), 3 * piece)]
        let unreserved = Set(Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~".utf8))
        let percent = secret.flatMap { unreserved.contains($0) ? [$0] : escaped($0) }
        if percent != secret { out.append((percent, piece)) }
        // A secret shorter than a piece is redacted whole, in each form.
        return whole ? out.map { ($0.form, $0.form.count) } : out
    }

    static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || (0x09...0x0D).contains(b) }

    /// `bytes` with white space removed and ASCII letters lowercased, and where each byte left was.
    static func normalized(_ bytes: [UInt8]) -> (bytes: [UInt8], at: [Int]) {
        var out: [UInt8] = []
        var at: [Int] = []
        out.reserveCapacity(bytes.count)
        at.reserveCapacity(bytes.count)
        for (i, b) in bytes.enumerated() where !isSpace(b) {
            out.append((0x41...0x5A).contains(b) ? b | 0x20 : b)
            at.append(i)
        }
        return (out, at)
    }

    /// A polynomial hash over `width` bytes from `start` (modulo 2^64), which `redact` rolls one
    /// byte at a time: a window's identity (a collision only redacts more).
    static func hash(_ bytes: [UInt8], _ start: Int, _ width: Int) -> UInt64 {
        var h: UInt64 = 0
        for i in start..<(start + width) { h = h &* base &+ (UInt64(bytes[i]) &+ 1) }
        return h
    }

    static let base: UInt64 = 0x100_0000_01b3

    /// `base` to the power `n`, modulo 2^64.
    static func power(_ n: Int) -> UInt64 {
        var p: UInt64 = 1
        for _ in 0..<n { p = p &* base }
        return p
    }
}
