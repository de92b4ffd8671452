import Foundation

/// `rgov-bridge`: runs the sender for each `dispatched` notice and records what happened.
///
/// At-most-once by design: an attempt record (the intent) is durable before the sender starts.
/// A run that finds an attempt without a receipt cannot know whether the send happened, so the
/// notice goes to `pending_external_send` with reason `outcome_unknown`, never a blind resend.
public struct Bridge {
    public static let stage = "bridge"
    public static let actor = "rgov-bridge"

    public let deployment: Deployment
    /// The sender executable; by default `rgov-sender` beside this executable.
    public let senderExecutable: String
    public let environment: [String: String]

    public init(deployment: Deployment, senderExecutable: String, environment: [String: String]) {
        self.deployment = deployment
        self.senderExecutable = senderExecutable
        self.environment = environment
    }

    public struct Outcome: Codable, Sendable {
        public var notice_id: String
        public var state: DeliveryState
        public var reason: String
        public var receipt: String
    }

    public struct Report: Codable, Sendable {
        public var outcomes: [Outcome]
        public var recovered: [Outcome]
        public var skipped_held: Int
        public var deferred_by_cap: Int
        public var quarantined: [String]
        public var capability_gaps: [String]
        public var duration_ms: Int
    }

    public func run() throws -> Report {
        let started = Sys.monotonicSeconds()
        let now = deployment.clock.now()
        let store = NoticeStore(layout: deployment.layout)
        let recovered = try recoverInterruptedAttempts(store: store, now: now)
        let (waiting, quarantined) = try store.waiting(in: .dispatched, stage: Self.stage, at: now)
        var outcomes: [Outcome] = []
        var held = 0
        var deferred = 0
        for (path, notice) in waiting {
            if notice.hold != nil {
                held += 1
                continue
            }
            if outcomes.count >= Int(deployment.profile.maxSendsPerTick) {
                deferred += 1
                continue
            }
            outcomes.append(try deliver(notice, at: path, store: store, now: now))
        }
        return Report(
            outcomes: outcomes, recovered: recovered, skipped_held: held, deferred_by_cap: deferred,
            quarantined: quarantined, capability_gaps: deployment.capabilityGaps,
            duration_ms: Int(((Sys.monotonicSeconds() - started) * 1000).rounded()))
    }

    private func deliver(_ notice: Notice, at path: String, store: NoticeStore, now: Date) throws -> Outcome {
        let layout = deployment.layout
        let mode = deployment.profile.senderMode
        guard deployment.profile.sendingEnabled else {
            return try conclude(
                notice, at: path, store: store, attempt: nil,
                verdict: SendVerdict(state: .blocked, reason: "sending_disabled_by_profile"),
                child: nil, now: now)
        }
        guard deployment.descriptor.has("bridge") else {
            return try conclude(
                notice, at: path, store: store, attempt: nil,
                verdict: SendVerdict(state: .pending_external_send, reason: "bridge_capability_missing"), child: nil,
                now: now)
        }
        let spoolPath = layout.spool + "/" + notice.notice_id + ".json"
        guard let spoolBytes = try? Sys.readFile(spoolPath, limit: 8 << 20),
            let handoff = try? CanonicalJSON.decode(SpoolHandoff.self, from: spoolBytes),
            handoff.notice_id == notice.notice_id
        else {
            return try conclude(
                notice, at: path, store: store, attempt: nil,
                verdict: SendVerdict(state: .blocked, reason: "spool_handoff_missing"), child: nil, now: now)
        }
        let number = notice.attempts + 1
        let attempt = SenderAttempt(
            attempt_id: notice.notice_id + ".a" + String(number), notice_id: notice.notice_id, attempt_number: number,
            idempotency_key: handoff.idempotency_key, sender_mode: mode.rawValue, started_at: now,
            deadline_ms: Int(deployment.profile.senderTimeoutMs), bridge_pid: Sys.processID(), host: Sys.hostName())
        guard try DurableFile.create(try CanonicalJSON.encodeFile(attempt), at: inflightPath(attempt.attempt_id)) else {
            throw RgovError.data("attempt \(attempt.attempt_id) already recorded; refusing to send twice")
        }
        FaultInjection.point("bridge.after_intent")
        var childEnvironment = environment
        childEnvironment["RGOV_NOTICE_ID"] = notice.notice_id
        childEnvironment["RGOV_IDEMPOTENCY_KEY"] = handoff.idempotency_key
        let child = try ChildProcess.run(
            ChildSpec(
                executable: senderExecutable,
                arguments: ["--mode", mode.rawValue, "--state", layout.root],
                environment: childEnvironment,
                standardInput: Array(CanonicalJSON.line(handoff).utf8) + [0x0a],
                deadline: Double(deployment.profile.senderTimeoutMs) / 1000))
        FaultInjection.point("bridge.after_send")
        let verdict = SendVerdict.judge(
            child, noticeID: notice.notice_id, mode: mode,
            runtimeHasAckReceipts: deployment.descriptor.has("ack_receipts"),
            at: now)
        return try conclude(notice, at: path, store: store, attempt: attempt, verdict: verdict, child: child, now: now)
    }

    /// Writes the receipt, then moves the notice, then files the attempt: each step durable, and
    /// each one found and finished by `recoverInterruptedAttempts` if a crash stops the sequence.
    private func conclude(
        _ notice: Notice, at path: String, store: NoticeStore, attempt: SenderAttempt?, verdict: SendVerdict,
        child: ChildResult?, now: Date
    ) throws -> Outcome {
        let redactor = Redactor(environment: environment)
        let receiptID = "rcp-" + (attempt?.attempt_id ?? notice.notice_id + ".r" + String(notice.transitions.count))
        var receipt = Receipt(
            receipt_id: receiptID, attempt_id: attempt?.attempt_id, notice_id: notice.notice_id,
            mission_id: notice.mission_id, task_id: notice.task_id, correlation_id: notice.correlation_id,
            delivery_state: verdict.state, sender_mode: deployment.profile.senderMode.rawValue, reason: verdict.reason,
            ack_evidence: verdict.evidence, sha256: child?.stdoutSHA256 ?? SHA256.hex(of: ""),
            sender_exit_status: child?.status, sender_message_id: verdict.messageID,
            sender_stderr_tail: child.map { redactor.redact(String($0.stderrText.suffix(2000))) },
            duration_ms: child.map { Int(($0.durationSeconds * 1000).rounded()) }, recorded_at: now,
            recorded_by: Self.actor, prev_sha256: try notice.lastTransitionSHA256(),
            profile: deployment.profileReference,
            capability_descriptor: deployment.descriptorReference,
            capability_gaps: deployment.capabilityGaps.isEmpty ? nil : deployment.capabilityGaps)
        if var evidence = receipt.ack_evidence {
            evidence.receipt_id = receiptID
            receipt.ack_evidence = evidence
        }
        let receiptPath = receiptPath(receiptID, day: Timestamp.day(attempt?.started_at ?? now))
        try Sys.makeDirectory((receiptPath as NSString).deletingLastPathComponent)
        if !(try DurableFile.create(try CanonicalJSON.encodeFile(receipt), at: receiptPath)) {
            // A crashed run wrote this receipt already; the chain must continue from the one on disk.
            receipt = try CanonicalJSON.decode(Receipt.self, from: try Sys.readFile(receiptPath, limit: 8 << 20))
        }
        FaultInjection.point("bridge.after_receipt")
        try apply(receipt, to: notice, at: path, store: store, now: now)
        if let attempt { try fileAttempt(attempt) }
        return Outcome(
            notice_id: notice.notice_id, state: receipt.delivery_state, reason: receipt.reason, receipt: receiptPath)
    }

    private func apply(_ receipt: Receipt, to notice: Notice, at path: String, store: NoticeStore, now: Date) throws {
        let next = try notice.transitioned(
            to: receipt.delivery_state, at: now, by: Self.actor, reason: receipt.reason, evidence: receipt.ack_evidence,
            receipt: receipt)
        try store.save(next, from: path)
    }

    /// Finishes what a crashed run left in `inflight/`.
    private func recoverInterruptedAttempts(store: NoticeStore, now: Date) throws -> [Outcome] {
        let layout = deployment.layout
        var outcomes: [Outcome] = []
        for name in try layout.artifactNames(in: layout.inflightAttempts) {
            let path = layout.inflightAttempts + "/" + name
            guard
                let attempt = try? CanonicalJSON.decode(
                    SenderAttempt.self, from: try Sys.readFile(path, limit: 1 << 20))
            else {
                try Quarantine(layout: layout).isolate(
                    path, reason: "unreadable attempt record", stage: Self.stage, at: now)
                continue
            }
            let receiptID = "rcp-" + attempt.attempt_id
            let receiptFile = receiptPath(receiptID, day: Timestamp.day(attempt.started_at))
            guard let noticePath = store.locate(attempt.notice_id) else {
                throw RgovError.data(
                    "attempt \(attempt.attempt_id) names notice \(attempt.notice_id), which is missing")
            }
            var notice = try store.read(noticePath)
            if notice.state != .dispatched {
                // The transition happened; only the filing of the attempt was interrupted.
                try store.repair(notice, at: noticePath)
                try fileAttempt(attempt)
                continue
            }
            if Sys.kind(receiptFile) == .regular {
                let receipt = try CanonicalJSON.decode(
                    Receipt.self, from: try Sys.readFile(receiptFile, limit: 8 << 20))
                try apply(receipt, to: notice, at: noticePath, store: store, now: now)
                try fileAttempt(attempt)
                outcomes.append(
                    Outcome(
                        notice_id: notice.notice_id, state: receipt.delivery_state, reason: receipt.reason,
                        receipt: receiptFile))
                continue
            }
            notice = try store.read(noticePath)
            outcomes.append(
                try conclude(
                    notice, at: noticePath, store: store, attempt: attempt,
                    verdict: SendVerdict(state: .pending_external_send, reason: "outcome_unknown"), child: nil, now: now
                ))
        }
        return outcomes
    }

    private func inflightPath(_ attemptID: String) -> String {
        deployment.layout.inflightAttempts + "/" + attemptID + ".json"
    }

    private func receiptPath(_ receiptID: String, day: String) -> String {
        deployment.layout.receipts + "/" + day + "/" + receiptID + ".json"
    }

    /// Moves a concluded attempt out of `inflight/` into its day partition.
    private func fileAttempt(_ attempt: SenderAttempt) throws {
        let folder = deployment.layout.attempts + "/" + Timestamp.day(attempt.started_at)
        try Sys.makeDirectory(folder)
        try DurableFile.move(inflightPath(attempt.attempt_id), to: folder + "/" + attempt.attempt_id + ".json")
    }
}
