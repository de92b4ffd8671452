import Foundation

/// The provider-outage record's one owner: counts the primary sender's consecutive failures,
/// opens an outage (an episode) when they reach `fallback_after` or the primary cannot run, and
/// closes it when the primary sends again, with one notice for each.
///
/// While an outage is open, the bridge sends the notices of `carried` kinds through the fallback
/// binding; ordinary findings keep waiting for the primary. Each change is durable in the record
/// before its notice is opened, and a notice's id follows from its episode, so a crash between the
/// two is finished at the next run and a notice is never opened twice.
struct ProviderOutage: Sendable {
    /// Who opens the notices.
    static let actor = Bridge.actor
    static let rule = "provider/outage"
    /// The mission id of the outage's notices and decisions (an outage belongs to no mission).
    static let mission = "rgov-provider"
    /// What goes through the fallback while an outage is open.
    static let carried: Set<NoticeKind> = [.escalation, .delivery_unknown, .provider_outage]

    /// Each write durable on its own: the record and its notices outlive the run's transactions.
    let ledger: NoticeLedger
    /// Consecutive failures that open an outage.
    let fallbackAfter: Int
    let primary: SenderMode
    let fallback: SenderMode
    /// The operator's target, and the first state of a notice (the deployment's rule, and why).
    let target: String
    let initial: DeliveryState
    let why: String?

    private var path: String { ledger.layout.providerOutage }

    /// What one primary send says about the provider.
    enum Signal: Sendable, Equatable {
        /// It sent (delivered or handed over).
        case sent
        /// It failed; `atOnce` opens an outage without waiting for `fallback_after`.
        case failed(String, atOnce: Bool)
    }

    /// The signal of a send the primary made, judged from what the sender said (before the retry
    /// policy): nil for a refusal of that one notice (the provider answered).
    static func signal(of verdict: SendVerdict) -> Signal? {
        if verdict.state == .acked || [.sent, .sent_unconfirmed, .partial_send, .dry_run].contains(verdict.reason) {
            return .sent
        }
        if verdict.retry || verdict.reason == .outcome_unknown || verdict.reason == .sender_configuration_refused {
            return .failed(verdict.reason.rawValue, atOnce: false)
        }
        return nil
    }

    /// The record as on disk, with what a crashed run left unfinished opened.
    ///
    /// A fresh one when there is none; an unreadable record is quarantined and counting starts again.
    func current(now: Date) throws -> ProviderOutageRecord {
        guard Sys.kind(path) == .regular else { return ProviderOutageRecord() }
        guard let data = try? Sys.readFile(path, limit: 1 << 20),
            var record = try? CanonicalJSON.decode(ProviderOutageRecord.self, from: data)
        else {
            try ledger.quarantine.isolate(
                path, reason: "unreadable provider-outage record", stage: Bridge.stage, at: now)
            return ProviderOutageRecord()
        }
        if record.open.map({ !$0.notified }) ?? false || record.last_resolved.map({ !$0.resolution_notified }) ?? false
        {
            try settle(&record, now: now)
        }
        return record
    }

    /// `record` after `signals`, in the order the sends concluded: each outage that opens or ends
    /// is durable, then told.
    func observe(_ signals: [Signal], in record: ProviderOutageRecord, now: Date) throws -> ProviderOutageRecord {
        var r = record
        for signal in signals {
            switch signal {
            case .sent:
                r.consecutive_failures = 0
                r.last_sent_at = now
                guard var outage = r.open else { continue }
                outage.resolved_at = now
                outage.resolution_notice_id = Identifier.derived("ntc", outage.episode_id, "resolved")
                r.open = nil
                r.last_resolved = outage
                try settle(&r, now: now)
            case .failed(let why, let atOnce):
                r.consecutive_failures += 1
                r.last_failure = why
                r.last_failure_at = now
                guard r.open == nil, atOnce || r.consecutive_failures >= fallbackAfter else { continue }
                r.outages += 1
                let episode = Identifier.derived("ep", Self.rule, String(r.outages), Timestamp.format(now))
                r.open = ProviderOutageRecord.Outage(
                    episode_id: episode, notice_id: Identifier.derived("ntc", episode), began_at: now,
                    cause: atOnce
                        ? why : "\(r.consecutive_failures) consecutive failed sends (last: \(why))")
                try settle(&r, now: now)
            }
        }
        if r != record { try write(&r, now: now) }
        return r
    }

    /// Writes `record` (the intent), opens the notices it owes, and writes it again.
    private func settle(_ record: inout ProviderOutageRecord, now: Date) throws {
        try write(&record, now: now)
        if var outage = record.open, !outage.notified {
            try ledger.open(try opening(outage, now: now), reason: "primary sender outage: " + outage.cause)
            outage.notified = true
            record.open = outage
        }
        if var outage = record.last_resolved, !outage.resolution_notified, let id = outage.resolution_notice_id {
            try ledger.open(try resolution(outage, id: id, now: now), reason: "the primary sender sends again")
            outage.resolution_notified = true
            record.last_resolved = outage
        }
        try write(&record, now: now)
    }

    private func write(_ record: inout ProviderOutageRecord, now: Date) throws {
        record.updated_at = now
        try DurableFile.write(try CanonicalJSON.encodeFile(record), to: path)
    }

    /// The `provider/outage` notice of `outage`, carried by the fallback.
    private func opening(_ outage: ProviderOutageRecord.Outage, now: Date) throws -> Notice {
        try notice(
            outage.notice_id, kind: .provider_outage, severity: .critical, outage: outage, event: "outage",
            follows: nil,
            message: NoticeMessage(
                title: "[provider outage] the \(primary.rawValue) sender is failing; this comes through the "
                    + "\(fallback.rawValue) fallback",
                text: "Since \(Timestamp.format(outage.began_at)) the primary \(primary.rawValue) sender fails "
                    + "(\(outage.cause)). Until it sends again, escalations, delivery_unknown alerts and this notice "
                    + "go through the fallback \(fallback.rawValue) binding; ordinary findings wait for the primary, "
                    + "retried with backoff. Each receipt names the binding that carried it (binding: primary or "
                    + "fallback). See docs/runbooks.md#provider-sender-outage."),
            now: now)
    }

    /// The notice that tells the primary sends again.
    private func resolution(_ outage: ProviderOutageRecord.Outage, id: String, now: Date) throws -> Notice {
        let lasted = DurationText.describe(ms: (outage.resolved_at ?? now).milliseconds(since: outage.began_at))
        return try notice(
            id, kind: .resolved, severity: .info, outage: outage, event: "resolved", follows: outage.notice_id,
            message: NoticeMessage(
                title: "[resolved] \(Self.rule): the \(primary.rawValue) sender sends again",
                text: "The primary \(primary.rawValue) sender sent again at "
                    + "\(Timestamp.format(outage.resolved_at ?? now)), after an outage of \(lasted) that began "
                    + "\(Timestamp.format(outage.began_at)) (\(outage.cause)), told by \(outage.notice_id). "
                    + "Escalations and delivery alerts go through it again."),
            now: now)
    }

    private func notice(
        _ id: String, kind: NoticeKind, severity: Severity, outage: ProviderOutageRecord.Outage, event: String,
        follows: String?, message: NoticeMessage, now: Date
    ) throws -> Notice {
        let stamp = ledger.stamp
        return try Notice(
            Notice.Header(
                notice_id: id, rule_id: Self.rule, severity: severity, mission_id: Self.mission,
                correlation_id: outage.episode_id, event_id: Identifier.derived("evt", outage.episode_id, event),
                decision_id: Identifier.derived("dec", id), dedup_key: Self.rule, episode_id: outage.episode_id,
                target: target, message: message, profile: stamp.profile, profile_sha256: stamp.profileSHA256,
                capability_descriptor: stamp.descriptor, created_at: now, notice_kind: kind, follows: follows,
                environment: stamp.environment),
            initial: initial, reason: kind.rawValue + (why.map { "; " + $0 } ?? ""), by: Self.actor)
    }
}
