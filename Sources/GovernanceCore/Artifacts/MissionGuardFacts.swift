import Foundation

/// What the guard plane records of a mission: the data it read, the network calls it made, the
/// autonomy it ran with and the review it had.
extension MissionSnapshot {
    /// One read of data of a scope (`crm.accounts`, `finance.ledger`, ...).
    public struct DataAccess: Codable, Sendable, Equatable {
        public var scope: String
        public var at: Date?
    }

    /// How far a mission may reach on the network, narrowest first.
    public enum EgressClass: String, Codable, Sendable, DeclarationOrdered {
        case none
        case `internal`
        case allowlisted
        case open
    }

    /// One network call, with the class its host falls in.
    public struct NetworkCall: Codable, Sendable, Equatable {
        public var host: String
        public var egress_class: EgressClass
        public var at: Date?
    }

    /// How much a mission does without a person, least first.
    public enum AutonomyTier: String, Codable, Sendable, DeclarationOrdered {
        case assisted, supervised, autonomous
    }

    /// A person's review of the mission's result.
    public struct Review: Codable, Sendable, Equatable {
        public enum Verdict: String, Codable, Sendable { case approved, changes_requested }

        public var reviewed_by: String
        public var reviewed_at: Date?
        public var verdict: Verdict
    }
}

/// An enum ordered as its cases are declared (a narrower class or tier first).
public protocol DeclarationOrdered: CaseIterable, Comparable {}

extension DeclarationOrdered {
    public static func < (a: Self, b: Self) -> Bool {
        let order = Array(allCases)
        return (order.firstIndex(of: a) ?? 0) < (order.firstIndex(of: b) ?? 0)
    }
}
