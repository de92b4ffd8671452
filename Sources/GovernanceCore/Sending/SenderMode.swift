import Foundation

/// Sender modes a profile may choose (DESIGN §5).
public enum SenderMode: String, Codable, Sendable, CaseIterable {
    case dryRun = "dry-run"
    case shim
    case openclawCLI = "openclaw-cli"
    case command
    case webhook
}

/// A value of the sender binding: text, a list (an argv template) or a map (headers).
public enum BindingValue: Sendable, Equatable, Codable {
    case text(String)
    case list([String])
    case map([String: String])

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .text(let v): try c.encode(v)
        case .list(let v): try c.encode(v)
        case .map(let v): try c.encode(v)
        }
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let v = try? c.decode(String.self) {
            self = .text(v)
        } else if let v = try? c.decode([String].self) {
            self = .list(v)
        } else {
            self = .map(try c.decode([String: String].self))
        }
    }

    public var text: String? {
        if case .text(let v) = self { return v }
        return nil
    }
}
