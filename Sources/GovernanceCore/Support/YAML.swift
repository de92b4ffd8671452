import Foundation

/// A node of the YAML subset rgov reads, with the line it came from (for file:line errors).
public indirect enum YAMLNode: Sendable, Equatable {
    case scalar(YAMLScalar)
    case mapping([YAMLEntry], line: Int)
    case sequence([YAMLNode], line: Int)

    public var line: Int {
        switch self {
        case .scalar(let s): return s.line
        case .mapping(_, let line), .sequence(_, let line): return line
        }
    }
}

public struct YAMLEntry: Sendable, Equatable {
    public var key: String
    public var line: Int
    public var value: YAMLNode
}

public struct YAMLScalar: Sendable, Equatable {
    public var text: String
    public var quoted: Bool
    public var line: Int

    /// The scalar resolved as PyYAML's safe loader would, for the forms this subset allows.
    public var resolved: JSONValue {
        if quoted { return .string(text) }
        switch text {
        case "", "~", "null", "Null", "NULL": return .null
        case "true", "True", "TRUE": return .bool(true)
        case "false", "False", "FALSE": return .bool(false)
        default: break
        }
        if let n = YAMLScalar.integer(text) { return .number(Double(n)) }
        if YAMLScalar.isFloat(text), let d = Double(text) { return .number(d) }
        return .string(text)
    }

    static func integer(_ text: String) -> Int64? {
        var body = Substring(text)
        var sign: Int64 = 1
        if let first = body.first, first == "-" || first == "+" {
            sign = first == "-" ? -1 : 1
            body = body.dropFirst()
        }
        guard !body.isEmpty, body.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == "_") }), body.first != "_" else {
            return nil
        }
        guard let v = Int64(body.filter { $0 != "_" }) else { return nil }
        return sign * v
    }

    static func isFloat(_ text: String) -> Bool {
        // [-+]?[0-9]*.[0-9]+ : the one float form both readers resolve identically.
        var body = Substring(text)
        if body.first == "-" || body.first == "+" { body = body.dropFirst() }
        let parts = body.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 2 && !parts[1].isEmpty && (parts[0] + parts[1]).allSatisfy { $0.isASCII && $0.isNumber }
    }
}

/// A YAML error: the file, the line and what is wrong there.
public struct YAMLError: OperatorFacingError, Sendable {
    public var file: String
    public var line: Int
    public var message: String
    public var exitCode: ExitCode { .configuration }
    public var description: String { "\(file):\(line): \(message)" }
}

/// A strict reader for the YAML subset rgov's configuration uses: block mappings, block and flow
/// sequences, plain and quoted scalars, comments.
///
/// Anchors, aliases, tags, block scalars, flow
/// mappings with content, multi-line scalars, tabs in indentation and duplicate keys are errors
/// with file:line, as are plain scalars YAML 1.1 would silently turn into something else
/// (`yes`, `off`, `0755`, dates): quote those.
public struct YAMLReader {
    private struct Line {
        var number: Int
        var indent: Int
        var text: String
        /// `-` or `- ...`: a sequence item.
        var isItem: Bool { text == "-" || text.hasPrefix("- ") }
    }

    private let file: String
    private var lines: [Line] = []
    private var index = 0

    public static func parse(_ text: String, file: String) throws -> YAMLNode {
        var reader = YAMLReader(file: file)
        try reader.load(text)
        guard !reader.lines.isEmpty else { throw YAMLError(file: file, line: 1, message: "the document is empty") }
        let node = try reader.parseBlock(indent: reader.lines[0].indent)
        if reader.index < reader.lines.count {
            let line = reader.lines[reader.index]
            throw YAMLError(file: file, line: line.number, message: "unexpected content at indentation \(line.indent)")
        }
        return node
    }

    private init(file: String) { self.file = file }

    private func fail(_ line: Int, _ message: String) -> YAMLError {
        YAMLError(file: file, line: line, message: message)
    }

    private mutating func load(_ text: String) throws {
        var number = 0
        var sawContent = false
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            number += 1
            var line = String(raw)
            if line.hasSuffix("\r") { line.removeLast() }
            let indent = line.prefix { $0 == " " }.count
            let rest = line.dropFirst(indent)
            if rest.first == "\t" { throw fail(number, "tab in indentation; use spaces") }
            let content = try stripComment(String(rest), line: number)
            if content.isEmpty { continue }
            if content == "---" && !sawContent && indent == 0 { continue }
            if content == "---" || content == "..." { throw fail(number, "multiple documents are not supported") }
            if content.hasPrefix("%") { throw fail(number, "directives are not supported") }
            sawContent = true
            lines.append(Line(number: number, indent: indent, text: content))
        }
    }

    /// Removes a `#` comment (at the start, or after a space, outside quotes) and trailing spaces.
    ///
    /// Scans UTF-8 bytes: every character it looks for is ASCII.
    private func stripComment(_ text: String, line: Int) throws -> String {
        let bytes = Array(text.utf8)
        var quote: UInt8? = nil
        var previous: UInt8 = 0x20
        var i = 0
        scan: while i < bytes.count {
            let c = bytes[i]
            if let q = quote {
                if q == 0x22 && c == 0x5C {
                    i += 2
                    previous = 0x78
                    continue
                }
                if c == q { quote = nil }
            } else {
                if c == 0x23 && (previous == 0x20 || previous == 0x09) { break scan }
                if (c == 0x22 || c == 0x27) && (i == 0 || [0x20, 0x5B, 0x2C, 0x3A, 0x2D].contains(previous)) {
                    quote = c
                }
            }
            previous = c
            i += 1
        }
        var end = min(i, bytes.count)
        while end > 0, bytes[end - 1] == 0x20 || bytes[end - 1] == 0x09 { end -= 1 }
        return String(decoding: bytes[0..<end], as: UTF8.self)
    }

    private mutating func parseBlock(indent: Int) throws -> YAMLNode {
        try lines[index].isItem ? parseSequence(indent: indent) : parseMapping(indent: indent)
    }

    private mutating func parseSequence(indent: Int) throws -> YAMLNode {
        var items: [YAMLNode] = []
        let startLine = lines[index].number
        while index < lines.count, lines[index].indent == indent, lines[index].isItem {
            let line = lines[index]
            let rest = line.text.dropFirst(1).drop { $0 == " " }
            if rest.isEmpty {
                index += 1
                guard index < lines.count, lines[index].indent > indent else {
                    items.append(.scalar(YAMLScalar(text: "", quoted: false, line: line.number)))
                    continue
                }
                items.append(try parseBlock(indent: lines[index].indent))
            } else if try splitKey(String(rest), line: line.number) != nil {
                // "- key: value": a mapping whose first key sits on the dash's line.
                let offset = line.text.count - rest.count
                lines[index] = Line(number: line.number, indent: indent + offset, text: String(rest))
                items.append(try parseMapping(indent: indent + offset))
            } else {
                index += 1
                items.append(try parseInline(String(rest), line: line.number))
            }
        }
        if index < lines.count, lines[index].indent > indent {
            throw fail(lines[index].number, "unexpected indentation inside a sequence")
        }
        return .sequence(items, line: startLine)
    }

    private mutating func parseMapping(indent: Int) throws -> YAMLNode {
        var entries: [YAMLEntry] = []
        var seen: [String: Int] = [:]
        let startLine = lines[index].number
        while index < lines.count, lines[index].indent == indent {
            let line = lines[index]
            if line.isItem { throw fail(line.number, "a sequence item where a mapping key was expected") }
            guard let (key, rest) = try splitKey(line.text, line: line.number) else {
                throw fail(line.number, "expected `key: value`, found \(Identifier.quoted(line.text))")
            }
            if let first = seen[key] { throw fail(line.number, "duplicate key \"\(key)\" (first at line \(first))") }
            seen[key] = line.number
            index += 1
            let value: YAMLNode
            if rest.isEmpty {
                if index < lines.count, lines[index].indent > indent {
                    value = try parseBlock(indent: lines[index].indent)
                } else if index < lines.count, lines[index].indent == indent, lines[index].isItem {
                    value = try parseSequence(indent: indent)
                } else {
                    value = .scalar(YAMLScalar(text: "", quoted: false, line: line.number))
                }
            } else {
                value = try parseInline(rest, line: line.number)
            }
            entries.append(YAMLEntry(key: key, line: line.number, value: value))
        }
        if index < lines.count, lines[index].indent > indent {
            throw fail(lines[index].number, "unexpected indentation (a multi-line value is not supported)")
        }
        return .mapping(entries, line: startLine)
    }

    /// Splits `key: rest` at the first `:` followed by a space or the end, outside quotes.
    ///
    /// Scans UTF-8 bytes: `:`, spaces and quotes are ASCII, which no multi-byte character contains.
    private func splitKey(_ text: String, line: Int) throws -> (String, String)? {
        let bytes = Array(text.utf8)
        func separator(at i: Int) -> Bool { bytes[i] == 0x3A && (i + 1 == bytes.count || bytes[i + 1] == 0x20) }
        var i = 0
        var key: String
        if bytes.first == 0x22 || bytes.first == 0x27 {
            let chars = Array(text)
            let (value, end) = try readQuoted(chars, from: 0, line: line)
            guard end < chars.count, chars[end] == ":", end + 1 == chars.count || chars[end + 1] == " " else {
                return nil
            }
            i = String(chars[...end]).utf8.count - 1
            key = value
        } else {
            while i < bytes.count, !separator(at: i) { i += 1 }
            guard i < bytes.count else { return nil }
            key = String(decoding: bytes[0..<i], as: UTF8.self)
            if key.isEmpty { throw fail(line, "empty mapping key") }
            if let bad = key.first, "[]{}&*!|>%@`?".contains(bad) {
                throw fail(line, "unsupported YAML syntax in key \(Identifier.quoted(key))")
            }
        }
        return (key, YAMLReader.trimmed(bytes[(i + 1)...]))
    }

    /// The bytes as text without leading or trailing spaces and tabs.
    static func trimmed(_ bytes: ArraySlice<UInt8>) -> String {
        var slice = bytes
        while let first = slice.first, first == 0x20 || first == 0x09 { slice = slice.dropFirst() }
        while let last = slice.last, last == 0x20 || last == 0x09 { slice = slice.dropLast() }
        return String(decoding: slice, as: UTF8.self)
    }

    private func parseInline(_ text: String, line: Int) throws -> YAMLNode {
        let chars = Array(text)
        switch chars.first {
        case "[": return try parseFlowSequence(chars, line: line)
        case "{":
            guard text == "{}" else { throw fail(line, "flow mappings are not supported; use a block mapping") }
            return .mapping([], line: line)
        case "\"", "'":
            let (value, end) = try readQuoted(chars, from: 0, line: line)
            guard end == chars.count else { throw fail(line, "unexpected text after a quoted scalar") }
            return .scalar(YAMLScalar(text: value, quoted: true, line: line))
        default:
            return .scalar(try plainScalar(text, line: line))
        }
    }

    private func parseFlowSequence(_ chars: [Character], line: Int) throws -> YAMLNode {
        guard chars.last == "]" else { throw fail(line, "a flow sequence must open and close on one line") }
        var items: [YAMLNode] = []
        var i = 1
        let end = chars.count - 1
        while i < end {
            while i < end && chars[i] == " " { i += 1 }
            if i >= end { break }
            if chars[i] == "\"" || chars[i] == "'" {
                let (value, next) = try readQuoted(chars, from: i, line: line)
                items.append(.scalar(YAMLScalar(text: value, quoted: true, line: line)))
                i = next
            } else {
                let start = i
                while i < end && chars[i] != "," { i += 1 }
                let text = YAMLReader.trimmed(ArraySlice(String(chars[start..<i]).utf8))
                if text.contains("[") || text.contains("{") || text.contains("]") {
                    throw fail(line, "nested flow collections are not supported")
                }
                items.append(.scalar(try plainScalar(text, line: line)))
            }
            while i < end && chars[i] == " " { i += 1 }
            if i < end {
                guard chars[i] == "," else { throw fail(line, "expected `,` in flow sequence") }
                i += 1
                while i < end && chars[i] == " " { i += 1 }
                if i >= end { throw fail(line, "trailing `,` in flow sequence") }
            }
        }
        return .sequence(items, line: line)
    }

    private func plainScalar(_ text: String, line: Int) throws -> YAMLScalar {
        if let first = text.first, "&*!|>%@`{}[]".contains(first) {
            throw fail(
                line, "unsupported YAML syntax \(Identifier.quoted(text)) (anchors, aliases, tags, block scalars)")
        }
        if text.hasPrefix("- ") || text.contains(": ") || text.hasSuffix(":") {
            throw fail(line, "ambiguous plain scalar \(Identifier.quoted(text)); quote it")
        }
        let lower = text.lowercased()
        if ["yes", "no", "on", "off", "y", "n"].contains(lower) {
            throw fail(
                line,
                "\(Identifier.quoted(text)) means a boolean in YAML 1.1 and a string in 1.2; quote it or use true/false"
            )
        }
        if text.count > 1, text.first == "0", text.allSatisfy({ $0.isNumber }) {
            throw fail(line, "\(Identifier.quoted(text)) would be read as octal by some YAML readers; quote it")
        }
        if text.count >= 10,
            text.prefix(10).enumerated().allSatisfy({ i, c in [4, 7].contains(i) ? c == "-" : c.isNumber })
        {
            throw fail(line, "\(Identifier.quoted(text)) would be read as a date by some YAML readers; quote it")
        }
        if text.contains(":"), text.split(separator: ":").allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isNumber) }) {
            throw fail(line, "\(Identifier.quoted(text)) would be read as a base-60 number by YAML 1.1; quote it")
        }
        if ["inf", ".inf", "-.inf", "+.inf", ".nan"].contains(lower)
            || lower.contains("e") && Double(text) != nil && !lower.hasPrefix("e")
        {
            throw fail(
                line,
                "\(Identifier.quoted(text)) is read differently by YAML readers; quote it or write a plain decimal")
        }
        return YAMLScalar(text: text, quoted: false, line: line)
    }

    /// What each one-character escape of a double-quoted scalar stands for.
    private static let escapes: [Character: Character] = [
        "\\": "\\", "\"": "\"", "/": "/", "n": "\n", "t": "\t", "r": "\r", "0": "\0",
    ]

    private func readQuoted(_ chars: [Character], from start: Int, line: Int) throws -> (String, Int) {
        let quote = chars[start]
        var i = start + 1
        var out = ""
        while i < chars.count {
            let c = chars[i]
            if quote == "'" {
                if c == "'" {
                    if i + 1 < chars.count && chars[i + 1] == "'" {
                        out.append("'")
                        i += 2
                        continue
                    }
                    return (out, i + 1)
                }
                out.append(c)
                i += 1
                continue
            }
            if c == "\"" { return (out, i + 1) }
            if c == "\\" {
                guard i + 1 < chars.count else { break }
                let e = chars[i + 1]
                i += 2
                switch e {
                case "u":
                    guard i + 4 <= chars.count, let v = UInt32(String(chars[i..<i + 4]), radix: 16),
                        let scalar = Unicode.Scalar(v)
                    else { throw fail(line, "bad \\u escape") }
                    out.unicodeScalars.append(scalar)
                    i += 4
                default:
                    guard let plain = Self.escapes[e] else { throw fail(line, "unsupported escape \\\(e)") }
                    out.append(plain)
                }
                continue
            }
            out.append(c)
            i += 1
        }
        throw fail(line, "unterminated quoted scalar")
    }
}

extension YAMLNode {
    /// The node as plain JSON values, for comparison with an independent reader.
    public var json: JSONValue {
        switch self {
        case .scalar(let s): return s.resolved
        case .sequence(let items, _): return .array(items.map(\.json))
        case .mapping(let entries, _): return .object(Dictionary(entries.map { ($0.key, $0.value.json) }) { $1 })
        }
    }
}
