import Foundation

/// Removes secrets from text before it is written anywhere (receipts, attempts, logs).
///
/// Secrets are the values of environment variables whose names end in `_TOKEN`, `_SECRET`,
/// `_KEY` or `_PASSWORD` (at least 4 characters long, so short values do not erase ordinary text).
public struct Redactor: Sendable {
    public static let secretSuffixes = ["_TOKEN", "_SECRET", "_KEY", "_PASSWORD"]
    private let secrets: [String]

    public init(environment: [String: String], extra: [String] = []) {
        let named = environment.filter { entry in Self.secretSuffixes.contains { entry.key.uppercased().hasSuffix($0) }
        }.map(\.value)
        secrets = Array(Set(named + extra)).filter { $0.count >= 4 }.sorted { $0.count > $1.count }
    }

    public func redact(_ text: String) -> String {
        var out = text
        for secret in secrets where out.contains(secret) {
            out = out.replacingOccurrences(of: secret, with: "[redacted]")
        }
        return out
    }

    /// The first `count` characters of `text`, redacted whole before the cut.
    public func head(_ text: String, _ count: Int) -> String { String(redact(text).prefix(count)) }

    /// The last `count` characters of `text`, redacted whole before the cut.
    public func tail(_ text: String, _ count: Int) -> String { String(redact(text).suffix(count)) }
}
