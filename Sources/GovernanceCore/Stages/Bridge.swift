import Foundation

/// `rgov-bridge`: runs the sender for each `dispatched` notice, and for each deferred one whose
/// retry is due, and records what happened.
///
/// At-most-once by design: an attempt record (the intent) is durable before the sender starts.
/// A run that finds an attempt without a receipt cannot know whether the send happened, so the
/// notice goes to `pending_external_send` with reason `outcome_unknown`, never a blind resend;
/// only a binding that declares idempotency-key support is retried, with the same key.
public struct Bridge: Sendable {
    public static let stage = "bridge"
    public static let actor = "rgov-bridge"

    public let deployment: Deployment
    private var ledger: SendLedger
    private var senders: SenderRun
    /// The profile's fallback binding, and the record of the primary's outages; nil without one.
    private var fallbackSenders: SenderRun?
    private let outage: ProviderOutage?
    /// Hides secret values from the sender output a receipt keeps.
    private let redactor: Redactor

    /// `senderExecutable`: the `rgov-sender` executable, by default the one beside this executable.
    public init(deployment: Deployment, senderExecutable: String, environment: [String: String]) {
        self.deployment = deployment
        let profile = deployment.profile
        let (initial, why) = deployment.firstState(severity: max(.warning, profile.minSeverity))
        ledger = SendLedger(
            notices: deployment.ledger, actor: Self.actor,
            alerts: SendLedger.Alerts(
                target: profile.defaultTarget, initial: initial, why: why))
        senders = SenderRun(
            binding: deployment.binding, layout: deployment.layout, senderExecutable: senderExecutable,
            environment: environment,
            limits: SendLimits(
                timeout: Double(profile.senderTimeoutMs) / 1000, concurrency: Int(profile.maxConcurrentSends)),
            runtimeHasAckReceipts: deployment.descriptor.has(.ack_receipts))
        if let fallback = deployment.fallbackBinding {
            fallbackSenders = SenderRun(
                binding: fallback, layout: deployment.layout, senderExecutable: senderExecutable,
                environment: environment,
                limits: SendLimits(
                    timeout: Double(profile.fallbackTimeoutMs ?? fallback.mode.defaultTimeoutMs) / 1000,
                    concurrency: Int(profile.maxConcurrentSends)),
                runtimeHasAckReceipts: deployment.descriptor.has(.ack_receipts))
            let (first, why) = deployment.firstState(severity: max(.critical, profile.minSeverity))
            outage = ProviderOutage(
                ledger: deployment.ledger, fallbackAfter: Int(profile.fallbackAfter ?? 3), primary: profile.senderMode,
                fallback: fallback.mode, target: profile.defaultTarget, initial: first, why: why)
        } else {
            fallbackSenders = nil
            outage = nil
        }
        redactor = Redactor(
            environment: environment,
            extra: deployment.binding.secretValues + (deployment.fallbackBinding?.secretValues ?? []))
    }

    public struct Outcome: Codable, Sendable {
        public var notice_id: String
        public var state: DeliveryState
        public var reason: DeliveryReason
        public var receipt: String
        public var next_attempt_at: Date?
        /// A sender ran for this outcome (false for refusals decided without one).
        public var attempted: Bool = false
        /// The binding it went to, when the profile names a fallback.
        public var binding: SenderRole? = nil
    }

    public struct Report: Codable, Sendable {
        public var outcomes: [Outcome]
        public var recovered: [Outcome]
        /// Notices acked by late evidence from `operator-notify-bridge-acks/`.
        public var late_acks: [Outcome]
        public var skipped_held: Int
        public var deferred_by_cap: Int
        public var retries_not_due: Int
        public var quarantined: [String]
        public var capability_gaps: [String]
        public var duration_ms: Int
        /// The primary sender's health after this run, when the profile names a fallback.
        public var provider_outage: ProviderOutageRecord? = nil
    }

    private var profile: DeploymentProfile { deployment.profile }

    private func staged(in transaction: Transaction) -> Bridge {
        var bridge = self
        bridge.ledger = ledger.staged(in: transaction)
        bridge.senders.writes = .staged(transaction)
        bridge.fallbackSenders?.writes = .staged(transaction)
        return bridge
    }

    public func run() throws -> Report {
        let started = Sys.monotonicSeconds()
        let now = deployment.clock.now()
        let notices = ledger.notices
        // Group commit (`Transaction`): recovery and late acks are on disk before work is listed.
        let (recovered, lateAcks) = try Transaction.run(anchor: deployment.layout.root) {
            let bridge = staged(in: $0)
            return (
                try bridge.recoverInterruptedAttempts(now: now),
                try bridge.ledger.notices.acceptLateAcks(stage: Self.stage, by: Self.actor, now: now)
            )
        }
        let (dispatched, quarantinedA) = try notices.waiting(in: .dispatched, stage: Self.stage, at: now)
        let (deferred, quarantinedB) = try notices.waiting(
            inFolder: deployment.layout.deferredNotices, stage: Self.stage, at: now)
        let due = deferred.filter { $0.notice.isDueForRetry(at: now) }
        var held = 0
        var capped = 0
        var work: [(path: String, notice: Notice)] = []
        for item in dispatched + due {
            if item.notice.hold != nil {
                held += 1
            } else if work.count >= Int(profile.maxSendsPerTick) {
                capped += 1
            } else {
                work.append(item)
            }
        }
        // Looked for once per run: a program installed meanwhile is used from the next run.
        let missing = work.isEmpty ? nil : senders.unavailableProgram()
        var health = try outage?.current(now: now)
        if let outage, let record = health, let missing {
            // A primary that cannot run is an outage at once.
            health = try outage.observe([.failed("sender_unavailable: " + missing, atOnce: true)], in: record, now: now)
        }
        // While the primary is in an outage, escalations and delivery alerts go through the
        // fallback; everything else waits for the primary.
        let inOutage = health?.open != nil && fallbackSenders != nil
        let viaFallback = work.filter { inOutage && ProviderOutage.carried.contains($0.notice.notice_kind) }
        let viaPrimary = work.filter { !(inOutage && ProviderOutage.carried.contains($0.notice.notice_kind)) }
        var concluded = try deliver(viaPrimary, route: route(.primary), missing: missing, now: now)
        if let fallback = fallbackSenders, !viaFallback.isEmpty {
            concluded += try deliver(
                viaFallback, route: route(.fallback), missing: fallback.unavailableProgram(), now: now)
        }
        if let outage, let record = health {
            health = try outage.observe(concluded.compactMap(\.signal), in: record, now: now)
        }
        return Report(
            outcomes: concluded.map(\.outcome), recovered: recovered,
            late_acks: lateAcks.accepted.map {
                Outcome(notice_id: $0.notice.notice_id, state: .acked, reason: .external_ack, receipt: $0.receipt)
            }, skipped_held: held, deferred_by_cap: capped,
            retries_not_due: deferred.count - due.count, quarantined: quarantinedA + quarantinedB + lateAcks.refused,
            capability_gaps: deployment.capabilityGaps,
            duration_ms: Int(((Sys.monotonicSeconds() - started) * 1000).rounded()), provider_outage: health)
    }

    /// The binding a send goes through, and how it runs.
    struct Route: Sendable {
        var role: SenderRole
        var run: SenderRun
        var binding: SenderBinding { run.binding }
        /// Whether records name the role (the profile names a fallback).
        var named: Bool
    }

    /// The route of `role`; the primary's when the profile names no fallback (an attempt of an
    /// older profile's fallback is concluded by the primary's rules).
    private func route(_ role: SenderRole) -> Route {
        guard role == .fallback, let fallback = fallbackSenders else {
            return Route(role: .primary, run: senders, named: fallbackSenders != nil)
        }
        return Route(role: .fallback, run: fallback, named: true)
    }

    /// An outcome, and what it says about the primary sender (a primary send that ran).
    struct Concluded: Sendable {
        var outcome: Outcome
        var signal: ProviderOutage.Signal?
    }

    /// Per-notice programs run concurrently, each send's records durable on its own; a batch
    /// mode's sends are staged in one transaction, committed around each sender.
    private func deliver(
        _ work: [(path: String, notice: Notice)], route: Route, missing: String?, now: Date
    ) throws -> [Concluded] {
        guard !work.isEmpty else { return [] }
        if route.binding.kind.perNotice { return try send(work, route: route, missing: missing, now: now) }
        return try Transaction.run(anchor: deployment.layout.root) {
            let bridge = staged(in: $0)
            return try bridge.send(work, route: bridge.route(route.role), missing: missing, now: now)
        }
    }

    /// One send to make: the notice, its spool handoff and the attempt about to be recorded.
    struct Job: Sendable {
        var path: String
        var notice: Notice
        var handoff: SpoolHandoff
        var attempt: SenderAttempt
    }

    private func send(
        _ work: [(path: String, notice: Notice)], route: Route, missing: String?, now: Date
    ) throws -> [Concluded] {
        var outcomes: [Concluded] = []
        var jobs: [Job] = []
        for (path, notice) in work {
            switch try prepare(notice, at: path, route: route, missing: missing, now: now) {
            case .concluded(let outcome): outcomes.append(Concluded(outcome: outcome))
            case .send(let job): jobs.append(job)
            }
        }
        let sends = jobs
        return try outcomes
            + route.run.run(
                sends.map(\.handoff), now: now,
                claim: { try ledger.recordIntent(sends[$0].attempt, for: sends[$0].notice, at: sends[$0].path) },
                conclude: {
                    Concluded(
                        outcome: try conclude(
                            sends[$0].notice, at: sends[$0].path, attempt: sends[$0].attempt, verdict: $1, child: $2,
                            key: sends[$0].handoff.key, route: route, now: now),
                        signal: route.role == .primary ? ProviderOutage.signal(of: $1) : nil)
                })
    }

    private enum Preparation {
        case concluded(Outcome)
        case send(Job)
    }

    /// Checks what can be decided without sending (`missing`: why the sender program cannot run);
    /// otherwise the job to send.
    private func prepare(_ notice: Notice, at path: String, route: Route, missing: String?, now: Date) throws
        -> Preparation
    {
        func refuse(_ state: DeliveryState, _ reason: DeliveryReason, retry: Bool = false) throws -> Preparation {
            .concluded(
                try conclude(
                    notice, at: path, attempt: nil,
                    verdict: SendVerdict(state: state, reason: reason, retry: retry), child: nil, route: route,
                    now: now))
        }
        guard profile.sendingEnabled else { return try refuse(.blocked, .sending_disabled_by_profile) }
        guard deployment.descriptor.has(.bridge) else {
            return notice.state == .dispatched
                ? try refuse(.pending_external_send, .bridge_capability_missing)
                : .concluded(try park(notice, at: path))
        }
        if now.milliseconds(since: notice.created_at) > profile.maxLifetimeMs {
            return try refuse(.blocked, .lifetime_exhausted)
        }
        if notice.attempts >= Int(profile.maxAttempts) { return try refuse(.blocked, .attempts_exhausted) }
        guard let handoff = ledger.notices.handoff(of: notice) else {
            return try refuse(.blocked, .spool_handoff_missing)
        }
        // A sender program that is not installed (or lacks a variable its binding gives it) sends
        // nothing: no attempt is counted, the notice waits honestly (sender_unavailable) and goes
        // out once the sender can run.
        if let missing {
            Log.info(Self.actor, "\(notice.notice_id): \(missing); it waits and is sent once the sender can run")
            return try refuse(.pending_external_send, .sender_unavailable, retry: true)
        }
        let number = notice.attempts + 1
        let attempt = SenderAttempt(
            attempt_id: StateLayout.attemptID(notice: notice.notice_id, number: number), notice_id: notice.notice_id,
            attempt_number: number,
            idempotency_key_sha256: handoff.keySHA256, sender_mode: route.binding.mode, started_at: now,
            deadline_ms: Int((route.run.limits.timeout * 1000).rounded()), bridge_pid: Sys.processID(),
            host: Sys.hostName(), binding: route.named ? route.role : nil)
        return .send(Job(path: path, notice: notice, handoff: handoff, attempt: attempt))
    }

    /// A deferred notice that can no longer be sent here waits for an operator instead.
    private func park(_ notice: Notice, at path: String) throws -> Outcome {
        Outcome(
            notice_id: notice.notice_id, state: notice.state, reason: .bridge_capability_missing,
            receipt: try ledger.notices.park(notice, at: path))
    }

    /// Judges what the retry policy makes of `proposed`, then records it through the ledger:
    /// receipt, notice, the alert an unknown outcome calls for, the attempt filed.
    private func conclude(
        _ notice: Notice, at path: String, attempt: SenderAttempt?, verdict proposed: SendVerdict,
        child: ChildResult?, key: String? = nil, route: Route, now: Date
    ) throws -> Outcome {
        var verdict = proposed
        // What the sender said never carries a secret, nor the send's idempotency key (the proof
        // a late ack must show).
        let redactor = key.map { self.redactor.adding([$0]) } ?? self.redactor
        verdict.messageID = verdict.messageID.map(redactor.redact)
        if let id = verdict.evidence?.message_id { verdict.evidence?.message_id = redactor.redact(id) }
        if verdict.reason == .outcome_unknown && attempt != nil && route.binding.supportsIdempotency {
            // A resend with the same idempotency key cannot deliver twice: try again.
            verdict.retry = true
        }
        let (decided, nextAttemptAt) = profile.retryPolicy.decide(
            verdict, for: notice, attempted: attempt != nil, now: now)
        verdict = decided
        var receipt = ledger.notices.receipt(
            StateLayout.receiptID(attempt?.attempt_id ?? notice.notice_id + ".r" + String(notice.transitions.count)),
            for: notice, attempt: attempt?.attempt_id, state: verdict.state, mode: ReceiptMode(route.binding.mode),
            reason: verdict.reason, evidence: verdict.evidence, sha256: child?.stdoutSHA256 ?? SHA256.hex(of: ""),
            exitStatus: child?.status, messageID: verdict.messageID,
            // The child's capture keeps more than this tail, so no secret it cut reaches the receipt.
            stderrTail: child.map { redactor.tail($0.stderrText, 2000) },
            senderDetail: proposed.senderSaid.map { redactor.head($0, 500) },
            durationMs: child.map { Int(($0.durationSeconds * 1000).rounded()) }, at: now, by: Self.actor,
            nextAttemptAt: nextAttemptAt, withGaps: true)
        if route.named { receipt.binding = route.role }
        let (recorded, receiptPath) = try ledger.conclude(
            notice, at: path, attempt: attempt, receipt: receipt, now: now)
        return Outcome(recorded, at: receiptPath, attempted: attempt != nil)
    }

    /// Finishes what a crashed run left in `inflight/`; a send whose outcome is unknown is concluded
    /// as such: only a binding that makes a resend harmless (the same idempotency key) is tried
    /// again, otherwise an operator decides.
    private func recoverInterruptedAttempts(now: Date) throws -> [Outcome] {
        let (settled, unknown) = try ledger.recover(stage: Self.stage, now: now)
        var outcomes = settled.map { Outcome($0.receipt, at: $0.path, attempted: true) }
        for interrupted in unknown {
            let route = route(interrupted.attempt.binding ?? .primary)
            Log.info(
                Self.actor,
                "attempt \(interrupted.attempt.attempt_id) was interrupted; outcome unknown"
                    + (route.binding.supportsIdempotency
                        ? ", retrying with the same idempotency key"
                        : ", not resent: an operator must check the channel"))
            outcomes.append(
                try conclude(
                    interrupted.notice, at: interrupted.path, attempt: interrupted.attempt,
                    verdict: SendVerdict(state: .pending_external_send, reason: .outcome_unknown), child: nil,
                    route: route, now: now))
        }
        return outcomes
    }
}

extension Bridge.Outcome {
    init(_ receipt: Receipt, at path: String, attempted: Bool) {
        self.init(
            notice_id: receipt.notice_id, state: receipt.delivery_state, reason: receipt.reason, receipt: path,
            next_attempt_at: receipt.next_attempt_at, attempted: attempted, binding: receipt.binding)
    }
}
