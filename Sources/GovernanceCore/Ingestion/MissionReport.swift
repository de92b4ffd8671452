import Foundation

/// `rgov report`: the colony-side hook.
///
/// Creates or updates one mission snapshot atomically.
///
/// One writer at a time per mission (a per-mission flock); input is validated before anything is
/// written, so a refused report leaves the snapshot byte for byte as it was. Under a runtime with
/// the inline-block capability, a completion lacking the evidence the profile requires is refused
/// (the seed's "inline completion block") and the refusal is recorded as a decision.
public struct MissionReport {
    public enum Kind: String, CaseIterable, Sendable {
        case started, checkpoint, progress, stage, blocker, completion, failed
    }

    public static let stages = [
        "normalizer", "planner", "prompt_master", "librarian", "researcher", "worker", "aggregator", "reviewer",
    ]
    /// How far ahead of the clock a reported time may be (clock skew between hosts).
    public static let allowedSkewMs: Int64 = 5_000

    public struct Request: Sendable {
        public var missionID: String
        public var kind: Kind
        public var at: Date?
        public var missionType: String?
        public var stage: String?
        public var text: String?
        public var placeholder: Bool
        public var reason: String?
        public var tokensUsed: Int64?
        public var goal: String?
        public var intervalMs: Int64?
        /// `OUTPUT=FILE` or `FILE`: files hashed and attached as completion evidence.
        public var evidence: [String]
        public var placeholders: [String]
    }

    public struct Outcome: Codable, Sendable {
        public var mission_id: String
        public var kind: String
        public var created: Bool
        public var status: String
        public var stage: String?
        public var updated_at: Date
        public var evidence: [EvidenceRecord]
    }

    public let deployment: Deployment
    public let actor: String

    public func apply(_ request: Request) throws -> Outcome {
        let id = try Identifier.validate(request.missionID, what: "mission id")
        let now = deployment.clock.now()
        let at = request.at ?? now
        if at.milliseconds(since: now) > Self.allowedSkewMs {
            throw RgovError.data("--at \(Timestamp.format(at)) is in the future (now \(Timestamp.format(now)))")
        }
        let layout = deployment.layout
        try Sys.makeDirectory(layout.missionLocks)
        let lock = try waitForLock(layout.missionLock(id))
        defer { withExtendedLifetime(lock) {} }

        let path = layout.mission(id)
        var mission: MissionSnapshot
        let created: Bool
        if Sys.exists(path) {
            do {
                mission = try MissionStore(layout: layout).read(id)
            } catch {
                throw RgovError.data("\(path): the existing snapshot is not valid, refusing to update it: \(error)")
            }
            created = false
            if mission.status.isTerminal {
                throw RgovError.data(
                    "mission \(id) is \(mission.status.rawValue); a terminal mission takes no further reports")
            }
        } else {
            guard let type = request.missionType else {
                throw RgovError.data("no snapshot for mission \(id); --type is required to create one")
            }
            guard MissionSnapshot.missionTypes.contains(type) else {
                throw RgovError.data(
                    "unknown mission type \(Identifier.quoted(type)) (\(MissionSnapshot.missionTypes.sorted().joined(separator: ", ")))"
                )
            }
            mission = MissionSnapshot(mission_id: id, mission_type: type, status: .queued, created_at: at)
            created = true
        }
        let evidence = try request.evidence.map { try hashEvidence($0, mission: id, at: at) }
        try update(&mission, with: request, at: at, evidence: evidence)
        if request.kind == .completion { try inlineBlock(mission, at: at) }
        let chain = MissionChain(layout: layout)
        for record in evidence {
            try chain.publish(
                record, kind: .evidence, id: record.evidence_id, mission: id,
                at: layout.evidenceRecord(record.evidence_id, day: Timestamp.day(at)), time: at)
        }
        try DurableFile.write(try CanonicalJSON.encodeFile(mission), to: path)
        return Outcome(
            mission_id: id, kind: request.kind.rawValue, created: created, status: mission.status.rawValue,
            stage: mission.stage, updated_at: mission.updated_at ?? at, evidence: evidence)
    }

    private func update(_ m: inout MissionSnapshot, with r: Request, at: Date, evidence: [EvidenceRecord]) throws {
        if let stage = r.stage, !Self.stages.contains(stage) {
            throw RgovError.data("unknown stage \(Identifier.quoted(stage)) (\(Self.stages.joined(separator: ", ")))")
        }
        if !evidence.isEmpty && r.kind != .completion {
            throw UsageError("--evidence goes with --kind completion")
        }
        func appendReport(_ kind: String, _ text: String?) {
            m.reports =
                (m.reports ?? []) + [MissionSnapshot.Report(at: at, kind: kind, text: text, placeholder: r.placeholder)]
        }
        switch r.kind {
        case .started:
            if m.status == .queued { m.status = .running }
            m.started_at = m.started_at ?? at
            m.stage = r.stage ?? m.stage ?? "planner"
            m.stage_entered_at = at
            if let text = r.text { appendReport("progress", text) }
        case .checkpoint:
            m.last_checkpoint_at = at
            appendReport("checkpoint", r.text)
        case .progress:
            appendReport("progress", r.text)
        case .stage:
            guard let stage = r.stage else { throw UsageError("--kind stage needs --stage") }
            m.stage = stage
            m.stage_entered_at = at
            if m.status == .queued { m.status = .running }
            if let text = r.text { appendReport("progress", text) }
        case .blocker:
            guard let text = r.text, !text.isEmpty else { throw UsageError("--kind blocker needs --text") }
            appendReport("blocker", text)
        case .completion:
            m.status = .completed
            let existing = m.completion?.evidence ?? []
            m.completion = MissionSnapshot.Completion(
                claimed_at: at,
                evidence: existing
                    + evidence.map { MissionSnapshot.EvidenceRef(kind: $0.kind, ref: $0.ref, sha256: $0.sha256) },
                placeholders: r.placeholders)
            appendReport("completion", r.text)
        case .failed:
            guard let reason = r.reason, !reason.isEmpty else { throw UsageError("--kind failed needs --reason") }
            m.status = .failed
            m.failure_reason = reason
            if let text = r.text { appendReport("blocker", text) }
        }
        if let stage = r.stage, r.kind != .stage, r.kind != .started, stage != m.stage {
            m.stage = stage
            m.stage_entered_at = at
        }
        if let tokens = r.tokensUsed { m.tokens_used = tokens }
        if let goal = r.goal { m.user_goal = goal }
        if let interval = r.intervalMs {
            guard interval > 0 else { throw UsageError("--interval-ms must be positive") }
            m.checkpoint_interval_ms = interval
        }
        m.updated_at = max(m.updated_at ?? at, at)
    }

    /// Refuses a completion without the evidence the profile requires, where the runtime can block inline.
    private func inlineBlock(_ mission: MissionSnapshot, at: Date) throws {
        guard deployment.profile.hookInlineBlock, deployment.descriptor.has(.inline_block),
            let rule = deployment.rules.first(where: { $0.ruleID == RuleBook.completionRuleID })
        else { return }
        let strength = rule.choice("required_strength")
        let missing = CompletionEvidence.missing(for: mission, strength: strength)
        guard strength != "claim", !missing.isEmpty else { return }
        let reason = "inline completion block: \(missing.joined(separator: "; ")) (required strength \(strength))"
        let decisionID = Identifier.derived("dec", mission.mission_id, "inline-block", Timestamp.format(at))
        let decision = DecisionRecord(
            decision_id: decisionID, event_id: nil, rule_id: rule.ruleID, mission_id: mission.mission_id,
            task_id: mission.mission_id, correlation_id: mission.mission_id, outcome: .block, reason: reason,
            decided_at: deployment.clock.now(), decided_by: actor, notice_id: nil, profile: deployment.profileReference,
            capability_descriptor: deployment.descriptorReference, tenant_id: mission.tenant_id,
            actor_id: mission.actor_id)
        try deployment.ledger.decide(decision, day: Timestamp.day(at))
        throw InlineBlocked(
            ruleID: rule.ruleID,
            message: "completion of \(mission.mission_id) refused: \(reason); decision \(decisionID)")
    }

    private func hashEvidence(_ spec: String, mission: String, at: Date) throws -> EvidenceRecord {
        var kind = "file"
        var file = spec
        if let eq = spec.firstIndex(of: "="), !spec[..<eq].contains("/") {
            kind = String(spec[..<eq])
            file = String(spec[spec.index(after: eq)...])
        }
        guard Sys.kind(file) == .regular else {
            throw RgovError(.noInput, "evidence \(file): not a readable regular file")
        }
        let data = try Sys.readFile(file, limit: 1 << 30)
        let sha = SHA256.hex(of: [UInt8](data))
        let ref = Sys.absolute(file)
        return EvidenceRecord(
            evidence_id: Identifier.derived("evd", mission, sha, ref), mission_id: mission, task_id: mission,
            correlation_id: mission, kind: kind, ref: ref, sha256: sha, size_bytes: data.count, recorded_at: at,
            recorded_by: actor)
    }

    private func waitForLock(_ path: String) throws -> StageLock {
        let deadline = Sys.monotonicSeconds() + 10
        while true {
            if let lock = try StageLock.acquire(path, holder: "rgov report pid \(Sys.processID())") { return lock }
            if Sys.monotonicSeconds() > deadline {
                throw RgovError(.temporaryFailure, "another writer holds \(path) for more than 10 s; try again")
            }
            Sys.sleep(milliseconds: 10)
        }
    }
}

extension MissionSnapshot {
    /// A new snapshot as `rgov report` creates it.
    init(mission_id: String, mission_type: String, status: Status, created_at: Date) {
        fields = Fields(
            mission_id: mission_id, mission_type: mission_type, status: status, created_at: created_at,
            updated_at: created_at, reports: [], writebacks: [])
    }
}

/// A completion refused inline, its `block` decision recorded (exit 65): a policy block the
/// metrics count (`rgov_policy_blocks_total`).
public struct InlineBlocked: OperatorFacingError, Sendable {
    public var ruleID: String
    public var message: String
    public var exitCode: ExitCode { .dataError }
    public var description: String { message }
}
