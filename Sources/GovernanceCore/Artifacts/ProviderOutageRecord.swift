import Foundation

/// The primary sender's health as the bridge last saw it (`STATE/provider-outage.json`): its
/// consecutive failed sends, the outage in force and the last one that ended.
///
/// Kept only by a profile that names a fallback binding; written by `ProviderOutage` alone.
public struct ProviderOutageRecord: Codable, Sendable, Equatable {
    public var schema = "rgov.provider-outage/v1"
    /// Primary sends in a row that failed (retryable failures, unknown outcomes, an unavailable
    /// program); one that sent resets it.
    public var consecutive_failures: Int = 0
    /// The last failure: its reason (`temporary_failure`, `sender_unavailable: …`) and when.
    public var last_failure: String? = nil
    public var last_failure_at: Date? = nil
    /// When the primary last sent.
    public var last_sent_at: Date? = nil
    /// How many outages this state has had; each one is its own episode.
    public var outages: Int = 0
    /// The outage in force: escalations, delivery alerts and its own notice go through the fallback.
    public var open: Outage? = nil
    /// The last outage that ended, with its resolution notice.
    public var last_resolved: Outage? = nil
    public var updated_at: Date? = nil

    /// One outage: an episode from the first failure that opened it to the send that ended it.
    public struct Outage: Codable, Sendable, Equatable {
        public var episode_id: String
        /// The `provider/outage` notice that tells the operator, through the fallback.
        public var notice_id: String
        public var began_at: Date
        /// Why it opened: `3 consecutive failed sends (last: temporary_failure)`, `sender_unavailable: …`.
        public var cause: String
        /// Whether its notice is opened (a crash between this record and the notice is finished at the next run).
        public var notified: Bool = false
        public var resolved_at: Date? = nil
        /// The notice that tells the primary sends again.
        public var resolution_notice_id: String? = nil
        public var resolution_notified: Bool = false
    }
}
