import Foundation

/// The one JSON encoding rgov writes and hashes: sorted keys, unescaped slashes, RFC 3339 UTC
/// times with milliseconds.
///
/// Foundation's defaults (seconds since 2001, `\/`) are never used.
public enum CanonicalJSON {
    /// Compact bytes: what record hashes (`prev_sha256`) are computed over.
    public static func encode<T: Encodable>(_ value: T) throws -> Data {
        try makeEncoder(pretty: false).encode(value)
    }

    /// Indented bytes with a trailing newline: what artifact files hold, so `cat` reads well.
    public static func encodeFile<T: Encodable>(_ value: T) throws -> Data {
        var data = try makeEncoder(pretty: true).encode(value)
        data.append(0x0a)
        return data
    }

    /// One line, no trailing newline: for JSON-lines output.
    public static func line<T: Encodable>(_ value: T) -> String {
        guard let data = try? encode(value) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }

    public static func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        try makeDecoder().decode(type, from: data)
    }

    /// The lowercase hex SHA-256 of the compact canonical encoding of `value`.
    public static func sha256<T: Encodable>(_ value: T) throws -> String {
        SHA256.hex(of: [UInt8](try encode(value)))
    }

    static func makeEncoder(pretty: Bool) -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting =
            pretty ? [.sortedKeys, .withoutEscapingSlashes, .prettyPrinted] : [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(Timestamp.format(date))
        }
        return encoder
    }

    static func makeDecoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            guard let date = Timestamp.parse(text) else {
                throw DecodingError.dataCorruptedError(
                    in: container, debugDescription: "not an RFC 3339 time: \(text.prefix(64))")
            }
            return date
        }
        return decoder
    }
}

/// Any JSON value: for facts, and for the fields of a mission snapshot rgov does not model.
public enum JSONValue: Codable, Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            self = .null
        } else if let b = try? c.decode(Bool.self) {
            self = .bool(b)
        } else if let n = try? c.decode(Double.self) {
            self = .number(n)
        } else if let s = try? c.decode(String.self) {
            self = .string(s)
        } else if let a = try? c.decode([JSONValue].self) {
            self = .array(a)
        } else {
            self = .object(try c.decode([String: JSONValue].self))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .number(let n):
            if n.rounded() == n, abs(n) < 1e15 { try c.encode(Int64(n)) } else { try c.encode(n) }
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }

    public var boolValue: Bool? { if case .bool(let b) = self { b } else { nil } }
    public var stringValue: String? { if case .string(let s) = self { s } else { nil } }
}

extension DecodingError {
    /// What went wrong, for a person: the field path and the reason, not Swift's debug text.
    public var described: String {
        func path(_ context: DecodingError.Context) -> String {
            let p = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
            return p.isEmpty ? "" : " at \(p)"
        }
        switch self {
        case .keyNotFound(let key, let context): return "missing field \(key.stringValue)\(path(context))"
        case .typeMismatch(_, let context): return "wrong type\(path(context)): \(context.debugDescription)"
        case .valueNotFound(_, let context): return "null value\(path(context))"
        case .dataCorrupted(let context): return "invalid JSON\(path(context)): \(context.debugDescription)"
        @unknown default: return "\(self)"
        }
    }
}
