import Foundation

/// When a failed send is tried again, and when it stops: the profile's backoff, attempts and
/// lifetime, in one place.
///
/// The wait grows with the notice's age (between the minimal and maximal backoff), and is never
/// shorter than a receiver's `Retry-After`. Only an attempt that ran counts against the attempts;
/// a program that could not start is bounded by the lifetime alone.
public struct RetryPolicy: Sendable, Equatable {
    public var minimalBackoffMs: Int64
    public var maximalBackoffMs: Int64
    public var maxAttempts: Int64
    public var maxLifetimeMs: Int64

    /// The verdict to record and, for one to retry, when: a retry past the attempts or the
    /// lifetime becomes `blocked`, saying which.
    public func decide(_ proposed: SendVerdict, for notice: Notice, attempted: Bool, now: Date) -> (
        verdict: SendVerdict, nextAttemptAt: Date?
    ) {
        guard proposed.retry else { return (proposed, nil) }
        let age = now.milliseconds(since: notice.created_at)
        var wait = min(max(age, minimalBackoffMs), maximalBackoffMs)
        if let asked = proposed.retryAfterMs { wait = max(wait, asked) }
        let next = now.adding(ms: wait)
        if attempted && notice.attempts + 1 >= Int(maxAttempts) {
            return (SendVerdict(state: .blocked, reason: .attempts_exhausted.last(proposed.reason)), nil)
        }
        if next.milliseconds(since: notice.created_at) > maxLifetimeMs {
            return (SendVerdict(state: .blocked, reason: .lifetime_exhausted.last(proposed.reason)), nil)
        }
        return (proposed, next)
    }
}
