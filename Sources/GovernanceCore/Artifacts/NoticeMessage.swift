import Foundation

/// The operator-facing message a notice carries.
public struct NoticeMessage: Codable, Sendable, Equatable {
    public var title: String
    public var text: String
}

/// How urgent a finding is.
public enum Severity: String, Codable, Sendable, CaseIterable, Comparable {
    case info, warning, critical

    private var rank: Int { Self.allCases.firstIndex(of: self) ?? 0 }
    public static func < (a: Severity, b: Severity) -> Bool { a.rank < b.rank }
}
