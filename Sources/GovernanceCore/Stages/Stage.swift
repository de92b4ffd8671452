import Foundation

/// The three stages of the chain, as their executables and run ids name them.
public enum Stage: String, Sendable, CaseIterable {
    case watchdog, dispatcher, bridge

    public var executable: String { "rgov-" + rawValue }

    /// The prefix of this stage's run ids (the watchdog's name its run artifacts).
    public var runPrefix: String {
        switch self {
        case .watchdog: return "wdr"
        case .dispatcher: return "dsp"
        case .bridge: return "brg"
        }
    }

    public var summary: String {
        switch self {
        case .watchdog: return "evaluate colony missions in STATE/missions and write events, decisions and notices"
        case .dispatcher: return "hand queued notices to the dispatch spool (queued -> dispatched)"
        case .bridge:
            return
                "run rgov-sender for dispatched notices and record receipts (-> acked | pending_external_send | blocked)"
        }
    }
}

/// What a stage prints instead of its report when another run holds its lock.
public struct StageLockHeld: Codable, Sendable {
    public var stage: String
    public var skipped = "lock_held"
}

/// The last run of a stage and how it ended, for `rgov status`.
public struct StageLastRun: Codable, Sendable {
    public var schema = "rgov.stage-run/v1"
    public var stage: String
    public var at: Date
    public var exit_status: Int32
    public var duration_ms: Int
    public var error: String?
}
