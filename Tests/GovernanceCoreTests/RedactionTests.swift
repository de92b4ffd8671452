import Foundation
import Testing

@testable import GovernanceCore

struct RedactionTests {
    let redactor = Redactor(environment: ["HOOK_TOKEN": "tok-0123456789", "SHORT_KEY": "abc", "HOME": "/root"])
    static let token = "Zq7tP3vLm9Xw2KcR8bN4yHs6"
    let long = Redactor(environment: ["RELAY_TOKEN": RedactionTests.token])

    @Test func secretsAreReplacedWhereverTheyStand() {
        #expect(redactor.redact("a tok-0123456789 b tok-0123456789") == "a [redacted] b [redacted]")
        // Under four characters a value is not taken for a secret; nor is a variable not named as one.
        #expect(redactor.redact("abc /root") == "abc /root")
    }

    /// A cut never leaves part of a secret: the text is redacted whole first.
    @Test func aCutThroughASecretLeavesNoneOfIt() {
        let text = "xx tok-0123456789 yy"
        #expect(redactor.head(text, 10) == "xx [redact")
        #expect(redactor.tail(text, 9) == "acted] yy")
        for count in 0...text.count {
            #expect(!redactor.head(text, count).contains("0123"), "\(count)")
            #expect(!redactor.tail(text, count).contains("0123"), "\(count)")
        }
    }

    /// Every run of 8 characters or more of a secret is redacted; a shorter one is ordinary text.
    @Test(arguments: [8, 9, 14, 23, 24])
    func aPieceOfASecretIsRedacted(length: Int) {
        let t = Array(Self.token)
        for start in 0...(t.count - length) {
            let piece = String(t[start..<(start + length)])
            let out = long.redact("said: " + piece + " (done)")
            #expect(out == "said: [redacted] (done)", "\(piece) → \(out)")
        }
        #expect(long.redact("said: Zq7tP3v!") == "said: Zq7tP3v!", "7 characters stand")
    }

    @Test func anyLetterCaseIsTheSameSecret() {
        #expect(long.redact("X " + Self.token.uppercased() + " Y") == "X [redacted] Y")
        #expect(long.redact("X " + Self.token.lowercased().prefix(14) + " Y") == "X [redacted] Y")
    }

    /// A piece of the secret encoded on its own, or inside a longer encoded text at any offset.
    @Test(arguments: [0, 1, 2, 3, 4, 5])
    func base64OfAPieceIsRedacted(offset: Int) {
        let t = Array(Self.token.utf8)
        for length in [8, 14, 24] where offset + length <= t.count {
            let piece = Array(t[offset..<(offset + length)])
            for prefix in ["", "a", "ab", "token="] {
                let encoded = Data(Array(prefix.utf8) + piece + Array(" tail".utf8)).base64EncodedString()
                for form in [
                    encoded, encoded.replacingOccurrences(of: "=", with: ""),
                    encoded.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_"),
                ] {
                    let out = long.redact("body=" + form + ";")
                    #expect(out.contains("[redacted]"), "\(length) at \(offset) after \(prefix): \(form) → \(out)")
                    #expect(!Self.decodes(out, toContainPieceOf: Self.token), "\(form) → \(out)")
                }
            }
        }
    }

    @Test func hexAndPercentFormsAreRedacted() {
        let secret = "p@ss/w0rd+secret=42&x"
        let r = Redactor(environment: [:], extra: [secret])
        let bytes = Array(secret.utf8)
        let hex = bytes.map { String(format: "%02x", $0) }.joined()
        let percentAll = bytes.map { String(format: "%%%02X", $0) }.joined()
        let percent = secret.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
        for form in [hex, hex.uppercased(), percentAll, percentAll.lowercased(), percent] {
            #expect(r.redact("q=" + form + "&y") == "q=[redacted]&y", "\(form)")
        }
        // 8 characters of the secret, hex-encoded, are 16 digits.
        let piece = Array(bytes[3..<11]).map { String(format: "%02X", $0) }.joined()
        #expect(r.redact("id " + piece + " end") == "id [redacted] end")
    }

    /// A tail that wraps a secret over lines (or indents the rest) still shows none of it.
    @Test func aSecretSplitOverLinesIsRedactedWhole() {
        let t = Self.token
        for split in ["\n", "\r\n", "\n    ", "\n\t"] {
            let text = "error: " + t.prefix(10) + split + t.dropFirst(10) + "\nnext line"
            #expect(long.redact(text) == "error: [redacted]\nnext line", "\(split.debugDescription)")
        }
        // Ordinary words separated by spaces are not taken for a piece.
        #expect(long.redact("connect refused\nretry later") == "connect refused\nretry later")
    }

    @Test func aShortSecretIsRedactedWholeOnly() {
        let r = Redactor(environment: ["PIN_KEY": "k9#Qz"])
        #expect(r.redact("pin k9#Qz ok") == "pin [redacted] ok")
        #expect(r.redact("pin K9#QZ ok") == "pin [redacted] ok")
        #expect(r.redact("pin k9#Q ok") == "pin k9#Q ok")
        // The padding is no part of the secret.
        #expect(r.redact("b64 " + Data("k9#Qz".utf8).base64EncodedString()) == "b64 [redacted]=")
    }

    /// A URL's scheme and host are no secret; its path, query and user are, piece by piece.
    @Test func aURLIsSecretAfterItsHost() {
        let r = Redactor(
            environment: [:],
            extra: ["https://user:pa55w0rd-x@hooks.example.com/services/T0AB12CD/B0EF34GH/xoxb9Kq2Lm4Np6"])
        #expect(
            r.redact("POST https://hooks.example.com/other failed") == "POST https://hooks.example.com/other failed")
        #expect(r.redact("token xoxb9Kq2Lm4N leaked") == "token [redacted] leaked")
        #expect(r.redact("user pa55w0rd-x") == "user [redacted]")
        #expect(
            r.redact("Location: https://user:pa55w0rd-x@hooks.example.com/services/T0AB12CD/B0EF34GH/xoxb9Kq2Lm4Np6")
                == "Location: [redacted]")
        #expect(
            r.redact("Location: https://hooks.example.com/services/T0AB12CD/B0EF34GH/xoxb9Kq2Lm4Np6")
                == "Location: https://hooks.example.com[redacted]")
        #expect(
            r.redact("Location: https://hooks.example.com/services/T0AB12CD/B0EF34GH/")
                == "Location: https://hooks.example.com[redacted]")
    }

    /// A redacted run takes whole characters: the text stays valid UTF-8 and keeps none of the secret.
    @Test func aRunNeverCutsACharacter() {
        let secret = "pässwörd-ünïcode-1234"
        let r = Redactor(environment: ["X_PASSWORD": secret])
        let out = r.redact("é" + secret.dropFirst(1) + "é")
        #expect(out == "é[redacted]é" || out == "[redacted]é", "\(out)")
        #expect(String(decoding: Array(out.utf8), as: UTF8.self) == out)
        let tail = r.redact("x" + String(secret.dropFirst(2)) + "ü")
        #expect(!tail.contains("wörd") && tail.hasPrefix("x"), "\(tail)")
    }

    @Test func addingASecretKeepsTheOthers() {
        let key = "idem-9f2c4e1a7b3d5f60a1b2c3d4"
        let r = long.adding([key])
        #expect(r.redact("k=" + key + " t=" + Self.token) == "k=[redacted] t=[redacted]")
        #expect(long.redact("k=" + key) == "k=" + key)
    }

    /// Random secrets, random pieces, random forms, random surroundings: no piece survives.
    @Test func noRandomPieceSurvives() {
        var rng = SplitMix(seed: 0x5eed)
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_./+=:@")
        for _ in 0..<300 {
            let secret = String(
                (0..<(8 + Int(rng.next() % 40))).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] })
            let r = Redactor(environment: [:], extra: [secret])
            let s = Array(secret.utf8)
            let length = 8 + Int(rng.next() % UInt64(s.count - 7))
            let start = Int(rng.next() % UInt64(s.count - length + 1))
            let piece = Array(s[start..<(start + length)])
            let around = Array("the sender said ".utf8).prefix(Int(rng.next() % 17))
            let form: String
            switch rng.next() % 5 {
            case 0: form = String(decoding: piece, as: UTF8.self).uppercased()
            case 1: form = Data(Array(around) + piece).base64EncodedString()
            case 2: form = piece.map { String(format: "%02x", $0) }.joined()
            case 3: form = piece.map { String(format: "%%%02X", $0) }.joined()
            default: form = String(decoding: piece, as: UTF8.self)
            }
            let out = r.redact("[" + form + "]")
            #expect(out.contains("[redacted]"), "\(secret): \(form) → \(out)")
        }
    }

    static func decodes(_ text: String, toContainPieceOf secret: String) -> Bool {
        let s = Array(secret.utf8)
        for word in text.split(whereSeparator: { !$0.isLetter && !$0.isNumber && $0 != "+" && $0 != "/" }) {
            guard let data = Data(base64Encoded: String(word)) else { continue }
            let bytes = Array(data)
            for i in 0..<max(0, s.count - 7) where bytes.count >= 8 {
                if Bytes.contains(Data(bytes), Array(s[i..<(i + 8)])) { return true }
            }
        }
        return false
    }
}

/// A small seeded generator, so a failing case can be run again.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
