/// Identifiers that become file names: `[A-Za-z0-9][A-Za-z0-9._-]{0,127}`.
///
/// Anything from outside (a mission id) passes through `validate` before it is used in a path,
/// so `../x`, `a/b`, an empty string or a name with a NUL can never choose where a file goes.
public enum Identifier {
    public static func isValid(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard let first = bytes.first, bytes.count <= 128, isAlnum(first) else { return false }
        return bytes.allSatisfy { isAlnum($0) || $0 == 46 || $0 == 95 || $0 == 45 }
    }

    public static func validate(_ text: String, what: String) throws -> String {
        guard isValid(text) else {
            throw RgovError.data("invalid \(what) \(quoted(text)): must match [A-Za-z0-9][A-Za-z0-9._-]{0,127}")
        }
        return text
    }

    /// A deterministic id: `prefix-` and the first 24 hex digits of SHA-256 over `parts`.
    public static func derived(_ prefix: String, _ parts: String...) -> String {
        prefix + "-" + String(SHA256.hex(of: parts.joined(separator: "\u{1f}")).prefix(24))
    }

    /// An id no one can compute from anything else: `prefix-` and 24 random hex digits.
    ///
    /// 96 bits from the system's generator: what only the receiver of a message can know.
    public static func random(_ prefix: String) -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<12).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return prefix + "-" + bytes.map { String(format: "%02x", $0) }.joined()
    }

    /// A short, printable rendering of untrusted text for error messages.
    public static func quoted(_ text: String, limit: Int = 80) -> String {
        "\"" + TerminalText.field(text, limit: limit) + "\""
    }

    private static func isAlnum(_ b: UInt8) -> Bool {
        (b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122)
    }
}
