import Foundation

/// The one sanitiser for text that reaches a terminal or a log line.
///
/// Mission fields, sender output, writeback ids and file names come from outside: printed raw, an
/// escape sequence could repaint the operator's terminal and a newline could forge a line of
/// output. Control characters, DEL, C1 controls, the line and paragraph separators (U+2028,
/// U+2029), bidirectional marks, embeddings, overrides and isolates (U+061C, U+200E, U+200F,
/// U+202A–U+202E, U+2066–U+2069), zero-width characters (U+200B–U+200D, U+2060) and the byte order
/// mark (U+FEFF) are shown visibly (`\x1b`, `\n`, `\u{202e}`): none can forge a line, reorder what
/// is read or make two different values look alike. Long values are cut with a marker. `--json`
/// output is exact JSON and never passes through here.
public enum TerminalText {
    /// One untrusted value as one safe line, at most `limit` characters before the cut marker.
    public static func field(_ text: String, limit: Int = 300) -> String {
        let shown = text.unicodeScalars.prefix(limit).map { visible($0, keepNewline: false) }.joined()
        let rest = text.unicodeScalars.dropFirst(limit).count
        return rest == 0 ? shown : shown + "…[+\(rest) chars]"
    }

    /// Text whose line breaks are its own (a report rgov composed): each line made safe, the
    /// breaks kept.
    public static func lines(_ text: String) -> String {
        text.unicodeScalars.map { visible($0, keepNewline: true) }.joined()
    }

    static func visible(_ scalar: Unicode.Scalar, keepNewline: Bool) -> String {
        switch scalar.value {
        case 0x0a: return keepNewline ? "\n" : "\\n"
        case 0x0d: return "\\r"
        case 0x09: return "\\t"
        case 0x00..<0x20, 0x7f: return String(format: "\\x%02x", scalar.value)
        case 0x80..<0xa0, 0x061c, 0x200b...0x200f, 0x2028...0x202e, 0x2060, 0x2066...0x2069, 0xfeff:
            return String(format: "\\u{%x}", scalar.value)
        default: return String(Character(scalar))
        }
    }
}
