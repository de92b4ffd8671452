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
    public enum EgressClass: String, Codable, Sendable, CaseIterable, Comparable {
        case none
        case `internal`
        case allowlisted
        case open

        public static func < (a: Self, b: Self) -> Bool {
            allCases.firstIndex(of: a) ?? 0 < allCases.firstIndex(of: b) ?? 0
        }
    }

    /// One network call, with the class its host falls in.
    public struct NetworkCall: Codable, Sendable, Equatable {
        public var host: String
        public var egress_class: EgressClass
        public var at: Date?
    }

    /// How much a mission does without a person, least first.
    public enum AutonomyTier: String, Codable, Sendable, CaseIterable, Comparable {
        case assisted, supervised, autonomous

        public static func < (a: Self, b: Self) -> Bool {
            allCases.firstIndex(of: a) ?? 0 < allCases.firstIndex(of: b) ?? 0
        }
    }

    /// A person's review of the mission's result.
    public struct Review: Codable, Sendable, Equatable {
        public enum Verdict: String, Codable, Sendable { case approved, changes_requested }

        public var reviewed_by: String
        public var reviewed_at: Date?
        public var verdict: Verdict
    }
}
