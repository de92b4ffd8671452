import Foundation
import Testing

@testable import GovernanceCore

/// The terminal sanitiser shows every invisible or reordering character as an escape: a line
/// separator could forge a line, a bidi mark could reorder what the operator reads, a zero-width
/// character could make two different ids look the same.
struct TerminalTextTests {
    static let invisible: [UInt32] =
        [0x2028, 0x2029, 0x061c, 0x200e, 0x200f] + Array(0x202a...0x202e) + Array(0x2066...0x2069)
        + [0x200b, 0x200c, 0x200d, 0x2060, 0xfeff]

    @Test(arguments: invisible)
    func anInvisibleCharacterIsShownAsItsEscape(value: UInt32) throws {
        let scalar = try #require(Unicode.Scalar(value))
        let text = "wb" + String(Character(scalar)) + "-1"
        let escape = String(format: "\\u{%x}", value)
        for shown in [TerminalText.field(text), TerminalText.lines(text)] {
            #expect(
                shown == "wb" + escape + "-1", "U+\(String(format: "%04X", value)) shown as \(shown.debugDescription)")
            #expect(!shown.unicodeScalars.contains(scalar))
        }
    }

    @Test func visibleTextIsKept() {
        #expect(TerminalText.field("naïve café — 東京 ✓") == "naïve café — 東京 ✓")
        #expect(TerminalText.lines("one\ntwo") == "one\ntwo")
        #expect(TerminalText.field("one\ntwo\u{1b}[2J") == "one\\ntwo\\x1b[2J")
    }
}
