import Foundation

/// A finding or a recovery, as the watchdog observed it: the canonical event.
public struct CanonicalEvent: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable { case finding, resolved }

    public var schema = "rgov.event/v1"
    public var event_id: String
    public var kind: Kind
    public var rule_id: String
    public var severity: Severity
    public var mission_id: String
    public var task_id: String
    public var correlation_id: String
    public var dedup_key: String
    public var episode_id: String
    /// When the condition began (for a missed checkpoint: when the checkpoint fell due).
    public var occurred_at: Date
    /// When the watchdog saw it.
    public var observed_at: Date
    public var summary: String
    public var facts: [String: JSONValue]
    public var watchdog_run_id: String
    public var profile: String
    public var capability_descriptor: String
    /// The SHA-256 of the profile in force (its snapshot in `profile-snapshots/`).
    public var profile_sha256: String? = nil
    /// The canonical SHA-256 of the mission snapshot the watchdog judged.
    public var snapshot_sha256: String? = nil
    /// The mission's tenant and actor, from its snapshot (`null` when it had none).
    @MissionParty public var tenant_id: String? = nil
    @MissionParty public var actor_id: String? = nil
    /// Where the state that wrote it runs (`local`, `staging`, `production`).
    public var environment: StateEnvironment? = nil
}

/// What rgov decided to do about an event, and why.
public struct DecisionRecord: Codable, Sendable, Equatable {
    public enum Outcome: String, Codable, Sendable, CaseIterable {
        case notify, force_checkpoint, downgrade_status, block, escalate, require_approval
        /// An operator's answer to `require_approval` (`rgov approve` / `rgov reject`).
        case approve, reject
    }

    public var schema = "rgov.decision/v1"
    public var decision_id: String
    /// The event the decision answers; nil for decisions an operator or an inline block made.
    public var event_id: String?
    public var rule_id: String
    public var mission_id: String
    public var task_id: String
    public var correlation_id: String
    public var outcome: Outcome
    public var reason: String
    public var decided_at: Date
    public var decided_by: String
    public var notice_id: String?
    public var profile: String
    public var capability_descriptor: String
    /// The SHA-256 of the profile in force (its snapshot in `profile-snapshots/`).
    public var profile_sha256: String? = nil
    /// The mission's tenant and actor, from its snapshot (`null` when it had none).
    @MissionParty public var tenant_id: String? = nil
    @MissionParty public var actor_id: String? = nil
    /// Where the state that wrote it runs (`local`, `staging`, `production`).
    public var environment: StateEnvironment? = nil
}

/// A piece of evidence attached to a mission (a file or reference, with its hash).
public struct EvidenceRecord: Codable, Sendable, Equatable {
    public var schema = "rgov.evidence/v1"
    public var evidence_id: String
    public var mission_id: String
    public var task_id: String
    public var correlation_id: String
    public var kind: String
    public var ref: String
    public var sha256: String?
    public var size_bytes: Int?
    public var recorded_at: Date
    public var recorded_by: String
}

/// Proof of dispatch: the rendered message handed to the spool, with its binding and idempotency key.
public struct SpoolHandoff: Codable, Sendable, Equatable {
    public var schema = "rgov.spool/v1"
    public var spool_id: String
    public var notice_id: String
    public var mission_id: String
    public var task_id: String
    public var correlation_id: String
    public var rule_id: String
    public var severity: Severity
    public var target: String
    /// Stable across retries of this notice, so receivers that honour it deduplicate; random, made
    /// once per handoff, so only the message's receiver knows it (a late ack presents it).
    ///
    /// Kept apart from the record (`spool/keys/`, never exported): the record holds its SHA-256,
    /// and the bridge puts the key back (`NoticeLedger.handoff(of:)`) in what it hands a sender.
    public var idempotency_key: String? = nil
    public var idempotency_key_sha256: String? = nil
    public var message: NoticeMessage
    public var sender_mode: SenderMode
    public var dispatched_at: Date
    public var dispatched_by: String
    public var profile: String
    public var capability_descriptor: String
    /// The SHA-256 of the profile in force (its snapshot in `profile-snapshots/`).
    public var profile_sha256: String? = nil
    /// The mission's tenant and actor, from its snapshot (`null` when it had none).
    @MissionParty public var tenant_id: String? = nil
    @MissionParty public var actor_id: String? = nil
    /// Where the state that wrote it runs (`local`, `staging`, `production`).
    public var environment: StateEnvironment? = nil

    /// The key a sender uses (empty where the record was read without it).
    public var key: String { idempotency_key ?? "" }

    /// The SHA-256 of the key, from the record (or from a key an older rgov kept in it).
    public var keySHA256: String { idempotency_key_sha256 ?? SHA256.hex(of: key) }
}

/// The bridge's intent, made durable before a sender runs: the basis of at-most-once sending.
public struct SenderAttempt: Codable, Sendable, Equatable {
    public var schema = "rgov.attempt/v1"
    public var attempt_id: String
    public var notice_id: String
    public var attempt_number: Int
    /// The SHA-256 of the idempotency key the send used (the key itself stays out of records).
    public var idempotency_key_sha256: String
    public var sender_mode: SenderMode
    public var started_at: Date
    public var deadline_ms: Int
    public var bridge_pid: Int32
    public var host: String
    /// Which binding sends it, when the profile names a fallback.
    public var binding: SenderRole? = nil
}

/// What the bridge concluded about one attempt (or an operator attested), chained to the notice.
public struct Receipt: Codable, Sendable, Equatable {
    public var schema = "rgov.receipt/v1"
    public var receipt_id: String
    public var attempt_id: String?
    public var notice_id: String
    public var mission_id: String
    public var task_id: String
    public var correlation_id: String
    public var delivery_state: DeliveryState
    public var sender_mode: ReceiptMode
    public var reason: DeliveryReason
    public var ack_evidence: AckEvidence?
    /// SHA-256 of everything the sender printed on stdout (of the empty string when nothing ran).
    public var sha256: String
    public var sender_exit_status: Int32?
    public var sender_message_id: String?
    public var sender_stderr_tail: String?
    public var duration_ms: Int?
    public var recorded_at: Date
    public var recorded_by: String
    public var prev_sha256: String
    public var profile: String
    public var capability_descriptor: String
    public var capability_gaps: [String]?
    /// When the bridge will try again, for a retryable failure.
    public var next_attempt_at: Date?
    /// The SHA-256 of the profile in force when this was recorded.
    public var profile_sha256: String? = nil
    /// What the sender said about this send (`reason: detail`, at most 500 characters, secrets
    /// redacted), such as `temporary_failure: HTTP 503`.
    public var sender_detail: String? = nil
    /// Which binding carried the notice (`primary` or `fallback`; its mode is `sender_mode`), when
    /// the profile names a fallback; absent otherwise (the one binding).
    public var binding: SenderRole? = nil
    /// The mission's tenant and actor, from its snapshot (`null` when it had none).
    @MissionParty public var tenant_id: String? = nil
    @MissionParty public var actor_id: String? = nil
    /// Where the state that wrote it runs (`local`, `staging`, `production`).
    public var environment: StateEnvironment? = nil
}

/// One watchdog run: what it scanned, found and wrote, under which profile and runtime.
public struct WatchdogRun: Codable, Sendable, Equatable {
    public var schema = "rgov.watchdog-run/v1"
    public var run_id: String
    /// The tick that ran this watchdog run, when one did.
    public var parent_run_id: String?
    /// The SHA-256 of the profile in force (its snapshot in `profile-snapshots/`).
    public var profile_sha256: String?
    public var started_at: Date
    public var finished_at: Date
    public var duration_ms: Int
    public var profile: String
    public var capability_descriptor: String
    public var scanned: Int
    public var findings: Int
    public var findings_by_rule: [String: Int]
    public var notices_created: [String]
    public var notices_by_state: [String: Int]
    public var episodes_open: Int
    public var episodes_resolved: Int
    public var reminders: Int
    public var escalations: Int
    public var quarantined: [String]
    public var capability_gaps: [String]
    public var previous_run_at: Date?
    /// How much later than expected this run came after the previous one (host down, cron stopped).
    public var late_by_ms: Int?
    public var expected_interval_ms: Int
    /// How far the clock was behind the latest time a run had seen (it went back); no episode
    /// was closed in such a run.
    public var clock_behind_ms: Int? = nil
    /// Where the state that wrote it runs (`local`, `staging`, `production`).
    public var environment: StateEnvironment? = nil
}

/// The watchdog's memory of one condition on one mission while it holds (one notice per episode).
public struct Episode: Codable, Sendable, Equatable {
    public var schema = "rgov.episode/v1"
    public var episode_id: String
    public var dedup_key: String
    public var mission_id: String
    public var rule_id: String
    public var subject: String?
    public var opened_at: Date
    public var event_id: String
    /// The first notice of the episode; reminders and the escalation follow it.
    public var notice_id: String?
    public var last_seen_at: Date
    public var last_notified_at: Date?
    public var reminders: Int?
    public var escalated_at: Date?
    public var escalation_notice_id: String?
}

/// One operator verb, allowed or refused: the audit trail of what people did.
public struct OperatorAction: Codable, Sendable, Equatable {
    public var schema = "rgov.operator-action/v1"
    public var action_id: String
    public var action: String
    public var target: String
    public var by: String
    public var os_user: String
    public var os_groups: [String]
    public var at: Date
    public var reason: String?
    public var allowed: Bool
    public var result: String
    public var profile: String
    /// The user who ran rgov through sudo (`SUDO_USER`), when it was.
    public var sudo_user: String? = nil
    /// The missions the verb acted on (directly or through their notices), whose evidence chains
    /// link this record; none for a verb on the deployment (activate, rollback, prune).
    public var missions: [String]? = nil
    /// The SHA-256 of the profile in force, whose operator list decided `allowed`.
    public var profile_sha256: String? = nil
    /// Where the state that wrote it runs (`local`, `staging`, `production`).
    public var environment: StateEnvironment? = nil
}

/// One link of a mission's evidence chain (`chains/<mission>.jsonl`, one line each): a record
/// about the mission, by kind, id and hash, chained to the link before it.
public struct ChainLink: Codable, Sendable, Equatable {
    /// What a link can name: the records about a mission, as audit bundles file them.
    public enum Kind: String, Codable, Sendable, CaseIterable {
        case event, decision, evidence, notice, spool, attempt, receipt, operator_action
    }

    public var schema = "rgov.chain-link/v1"
    public var mission_id: String
    /// 1 for the first link, then one more per link.
    public var seq: Int
    public var kind: Kind
    public var id: String
    /// SHA-256 of the record's bytes as stored; for a notice, of its header (its own chain
    /// carries its transitions and receipts).
    public var sha256: String
    /// Where the record was published, relative to the state folder.
    public var ref: String
    public var at: Date
    /// SHA-256 of the previous link's line; the first link carries `MissionChain.genesis`.
    public var prev_sha256: String
    /// Linked when the chain was reconciled (at export), not when it was written: a crash fell
    /// between publishing the record and linking it.
    public var late: Bool? = nil
}
