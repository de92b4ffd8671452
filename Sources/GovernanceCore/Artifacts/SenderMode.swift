import Foundation

/// Sender modes a profile may choose (DESIGN §5), as handoffs, attempts and sender results name them.
public enum SenderMode: String, Codable, Sendable, CaseIterable, CustomStringConvertible {
    case dryRun = "dry-run"
    case shim
    case openclawCLI = "openclaw-cli"
    case command
    case webhook
    public var description: String { rawValue }

    /// The adapter default for `timeout_ms`: local modes answer at once, network modes get longer.
    public var defaultTimeoutMs: Int64 {
        switch self {
        case .dryRun, .shim: 5_000
        case .command, .openclawCLI: 30_000
        case .webhook: 15_000
        }
    }
}

/// The `sender_mode` of a receipt and its ack evidence: the concluding sender's mode, else `operator`
/// (an attestation) or `external` (a relay's late evidence); an older record's word reads back as it is.
public struct ReceiptMode: RawRepresentable, Codable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }
    public init(_ mode: SenderMode) { rawValue = mode.rawValue }
    public static let attestation = Self(rawValue: "operator")
    public static let external = Self(rawValue: "external")
}

/// Which of a profile's bindings carried a send: its sender (`primary`), or its `fallback` while the
/// primary is in an outage (receipts and attempts of a profile that names a fallback).
public enum SenderRole: String, Codable, Sendable, CaseIterable {
    case primary, fallback
}
