/// A metrics family labelled twice: `rgov_missions` (status, mission_type, as of the last
/// watchdog run), `rgov_notices` (delivery state, state reason), `rgov_send_attempts_total` (sender
/// mode, the outcome's reason); and the one way a pair of label values keys a count in a JSON
/// object (`metrics/counters.json`, a watchdog run's report, the notice history's summary).
///
/// A key is the two values joined by the set's separator, as those files have always held them:
/// `|` for missions and notices, a tab for sends. Only the second value may hold the separator.
public enum LabelSet: Sendable {
    case missions, notices, sendAttempts

    public var labels: (String, String) {
        switch self {
        case .missions: ("status", "mission_type")
        case .notices: ("state", "reason")
        case .sendAttempts: ("mode", "outcome")
        }
    }

    private var separator: Character { self == .sendAttempts ? "\t" : "|" }

    /// The key that counts the sample labelled `first`, `second`.
    public func key(_ first: String, _ second: String) -> String { first + String(separator) + second }

    /// The label values of `key`: split at its first separator (the second empty when it has none).
    public func values(of key: String) -> (String, String) {
        let parts = key.split(separator: separator, maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        return (parts[0], parts.count > 1 ? parts[1] : "")
    }
}
