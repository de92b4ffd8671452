import Foundation

/// Finds the first object key that appears twice in one JSON object.
///
/// Foundation's decoder keeps one of the two silently (Swift the first, Python the last), so a
/// snapshot could say one thing to rgov and another to an auditor's tools. Untrusted JSON is
/// refused instead. Keys are compared after unescaping (`"a\u0062"` is `"ab"`).
public enum DuplicateKeys {
    /// The first duplicated key and its byte offset, or nil.
    ///
    /// Malformed JSON yields nil: the decoder that runs next reports it better.
    public static func first(in data: Data) -> (key: String, offset: Int)? {
        let bytes = [UInt8](data)
        var i = 0
        // One entry per open container: the keys seen so far (nil for an array) and whether the
        // next string in it is a key.
        var stack: [(keys: Set<String>?, expectingKey: Bool)] = []
        while i < bytes.count {
            switch bytes[i] {
            case UInt8(ascii: "{"): stack.append((Set(), true))
            case UInt8(ascii: "["): stack.append((nil, false))
            case UInt8(ascii: "}"), UInt8(ascii: "]"): if !stack.isEmpty { stack.removeLast() }
            case UInt8(ascii: ","):
                if let top = stack.last, top.keys != nil { stack[stack.count - 1].expectingKey = true }
            case UInt8(ascii: "\""):
                // A value is only stepped over; a key is unescaped and compared.
                guard let top = stack.indices.last, stack[top].keys != nil, stack[top].expectingKey else {
                    guard let end = end(ofStringAt: i, in: bytes) else { return nil }
                    i = end
                    continue
                }
                let start = i
                guard let (text, end) = string(bytes, from: i) else { return nil }
                i = end
                // In place: a copy of the set would be copied again on insert.
                if stack[top].keys?.contains(text) == true { return (text, start) }
                stack[top].keys?.insert(text)
                stack[top].expectingKey = false
                continue
            default: break
            }
            i += 1
        }
        return nil
    }

    /// The index after the string starting at `start` (a quote), escapes stepped over.
    static func end(ofStringAt start: Int, in bytes: [UInt8]) -> Int? {
        var i = start + 1
        while i < bytes.count {
            switch bytes[i] {
            case UInt8(ascii: "\""): return i + 1
            case UInt8(ascii: "\\"): i += 2
            default: i += 1
            }
        }
        return nil
    }

    /// The unescaped text of the string starting at `start` (a quote) and the index after it.
    static func string(_ bytes: [UInt8], from start: Int) -> (String, Int)? {
        var i = start + 1
        // Most keys have no escape: their bytes are their text.
        while i < bytes.count, bytes[i] != UInt8(ascii: "\""), bytes[i] != UInt8(ascii: "\\") { i += 1 }
        if i < bytes.count, bytes[i] == UInt8(ascii: "\"") {
            return (String(decoding: bytes[(start + 1)..<i], as: UTF8.self), i + 1)
        }
        var out = Array(bytes[(start + 1)..<min(i, bytes.count)])
        var pendingHigh: UInt32? = nil
        func append(scalar value: UInt32) {
            if let scalar = Unicode.Scalar(value) { out.append(contentsOf: Array(String(scalar).utf8)) }
        }
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "\"") { return (String(decoding: out, as: UTF8.self), i + 1) }
            guard b == UInt8(ascii: "\\") else {
                out.append(b)
                i += 1
                continue
            }
            guard i + 1 < bytes.count else { return nil }
            let e = bytes[i + 1]
            i += 2
            switch e {
            case UInt8(ascii: "n"): out.append(0x0a)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "r"): out.append(0x0d)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0c)
            case UInt8(ascii: "u"):
                guard i + 4 <= bytes.count,
                    let value = UInt32(String(decoding: bytes[i..<i + 4], as: UTF8.self), radix: 16)
                else { return nil }
                i += 4
                if (0xD800...0xDBFF).contains(value) {
                    pendingHigh = value
                } else if (0xDC00...0xDFFF).contains(value), let high = pendingHigh {
                    append(scalar: 0x10000 + ((high - 0xD800) << 10) + (value - 0xDC00))
                    pendingHigh = nil
                } else {
                    append(scalar: value)
                }
            default: out.append(e)
            }
        }
        return nil
    }
}
