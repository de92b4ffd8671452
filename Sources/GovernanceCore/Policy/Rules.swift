import Foundation

/// A rule's code: the parameters it reads (each must be declared by its pack) and its judgement.
public struct RuleImplementation: Sendable {
    public var id: String
    public var parameters: [String]
    public var evaluate: @Sendable (MissionSnapshot, RuleParameters, Date) -> [Finding]
}

/// The rules rgov knows, keyed by rule id.
///
/// Packs and profiles only set their parameters.
///
/// Every rule judges what is recorded: a missing fact (no `model_tier`, no `tool_calls`, no
/// budget) raises nothing.
public enum RuleBook {
    public static let all: [RuleImplementation] = [
        silentTask, missedCheckpoint, stageTimeout, timeExceeded, tokensExceeded, unverifiedCompletion,
        unlabeledPlaceholder, unapprovedWriteback, approvalPending, missionFailed, unauthorizedTool, tierViolation,
        unauthorizedDataAccess, egressViolation, autonomyExceeded, reviewMissing,
    ]

    public static let byID: [String: RuleImplementation] = Dictionary(uniqueKeysWithValues: all.map { ($0.id, $0) })

    static let completionRuleID = "completion-evidence/unverified-completion"

    static let silentTask = RuleImplementation(id: "anti-blackhole/silent-task", parameters: ["acceptance_sla_ms"]) {
        m, p, now in
        guard m.status == .queued || m.status == .running, (m.reports ?? []).isEmpty, m.last_checkpoint_at == nil else {
            return []
        }
        let sla = p.integer("acceptance_sla_ms")
        let age = now.milliseconds(since: m.created_at)
        guard age > sla else { return [] }
        return [
            p.finding(
                "accepted \(DurationText.describe(ms: age)) ago and silent since: no report and no checkpoint "
                    + "(acceptance SLA \(DurationText.describe(ms: sla)))", occurredAt: m.created_at.adding(ms: sla),
                facts: [
                    "status": .string(m.status.rawValue), "created_at": time(m.created_at), "silent_ms": number(age),
                ])
        ]
    }

    static let missedCheckpoint = RuleImplementation(
        id: "checkpoint-cadence/missed-checkpoint",
        parameters: ["default_interval_ms", "grace_ms", "critical_after_intervals"]
    ) { m, p, now in
        guard m.status == .running else { return [] }
        let interval = m.checkpoint_interval_ms ?? p.integer("default_interval_ms")
        let grace = p.integer("grace_ms")
        let last = m.lastCheckpointOrStart
        let silent = now.milliseconds(since: last)
        guard silent > interval.saturatingAdd(grace) else { return [] }
        let missed = silent / interval
        let since = m.last_checkpoint_at == nil ? "start" : "last checkpoint"
        return [
            p.finding(
                "no checkpoint for \(DurationText.describe(ms: silent)) since \(since) (interval "
                    + "\(DurationText.describe(ms: interval)), grace \(DurationText.describe(ms: grace)), \(missed) "
                    + "interval\(missed == 1 ? "" : "s") missed)", occurredAt: last.adding(ms: interval),
                severity: missed >= p.integer("critical_after_intervals") ? .critical : nil,
                facts: [
                    "stage": m.stage.map { .string($0) } ?? .null, "last_checkpoint_at": time(m.last_checkpoint_at),
                    "started_at": time(m.started_at), "checkpoint_interval_ms": number(interval),
                    "grace_ms": number(grace), "silent_ms": number(silent), "intervals_missed": number(missed),
                ])
        ]
    }

    static let stageTimeout = RuleImplementation(
        id: "stuck-state/stage-timeout",
        parameters: ["stage_timeout_ms", "queued_timeout_ms", "review_timeout_ms", "approval_timeout_ms"]
    ) { m, p, now in
        let since: Date
        let limit: Int64
        let place: String
        switch m.status {
        case .running:
            since = m.stage_entered_at ?? m.started_at ?? m.created_at
            limit = p.integer("stage_timeout_ms")
            place = "stage " + (m.stage ?? "unknown")
        case .queued:
            // A replayed mission is queued anew: measured from the replay, not its first creation.
            since = max(m.created_at, m.replayRequestedAt ?? m.created_at)
            limit = p.integer("queued_timeout_ms")
            place = "queued"
        case .awaiting_review, .awaiting_approval:
            since = m.stage_entered_at ?? m.updated_at ?? m.created_at
            limit = p.integer(m.status == .awaiting_review ? "review_timeout_ms" : "approval_timeout_ms")
            place = m.status.rawValue
        case .completed, .failed, .cancelled:
            return []
        }
        let stuck = now.milliseconds(since: since)
        guard stuck > limit else { return [] }
        return [
            p.finding(
                "stuck in \(place) for \(DurationText.describe(ms: stuck)) (timeout \(DurationText.describe(ms: limit))); "
                    + "mark it failed or replay it", occurredAt: since.adding(ms: limit), subject: place,
                facts: [
                    "status": .string(m.status.rawValue), "since": time(since), "stuck_ms": number(stuck),
                    "timeout_ms": number(limit),
                ])
        ]
    }

    static let timeExceeded = RuleImplementation(id: "budget/time-exceeded", parameters: []) { m, p, now in
        guard !m.status.isTerminal, let budget = m.time_budget_ms, budget > 0 else { return [] }
        let start = m.started_at ?? m.created_at
        let elapsed = now.milliseconds(since: start)
        guard elapsed > budget else { return [] }
        return [
            p.finding(
                "running \(DurationText.describe(ms: elapsed)), past its time budget of \(DurationText.describe(ms: budget))",
                occurredAt: start.adding(ms: budget),
                facts: ["elapsed_ms": number(elapsed), "time_budget_ms": number(budget)])
        ]
    }

    static let tokensExceeded = RuleImplementation(id: "budget/tokens-exceeded", parameters: []) { m, p, now in
        guard !m.status.isTerminal, let budget = m.token_budget, let used = m.tokens_used, used > budget else {
            return []
        }
        return [
            p.finding(
                "used \(used) tokens, past its budget of \(budget)", occurredAt: m.updated_at ?? now,
                facts: ["tokens_used": number(used), "token_budget": number(budget)])
        ]
    }

    static let unverifiedCompletion = RuleImplementation(id: completionRuleID, parameters: ["required_strength"]) {
        m, p, now in
        guard m.status == .completed || m.completion?.claimed_at != nil else { return [] }
        let evidence = m.completion?.evidence ?? []
        let strength = p.choice("required_strength")
        let missing = CompletionEvidence.missing(for: m, strength: strength)
        guard !missing.isEmpty else { return [] }
        let claimed = m.completion?.claimed_at ?? m.updated_at ?? now
        let label = strength == "claim" ? " (accepted as a claim under this profile, labelled unverified)" : ""
        return [
            p.finding(
                "claimed complete, not verified: \(missing.joined(separator: "; "))\(label)", occurredAt: claimed,
                facts: [
                    "required_strength": .string(strength), "evidence_count": number(Int64(evidence.count)),
                    "requested_outputs": .array((m.requested_outputs ?? []).map { .string($0) }),
                ])
        ]
    }

    static let unlabeledPlaceholder = RuleImplementation(
        id: "placeholder-labeling/unlabeled-placeholder", parameters: ["markers", "require_completion_labeling"]
    ) { m, p, now in
        var problems: [String] = []
        var first: Date? = nil
        let markers = p.list("markers")
        for report in m.reports ?? [] where report.placeholder != true {
            if let marker = PlaceholderMarkers.firstMatch(in: report.text ?? "", markers: markers) {
                problems.append(
                    "\(report.kind) report at \(Timestamp.format(report.at)) contains \"\(marker)\" but is not labelled a placeholder"
                )
                first = min(first ?? report.at, report.at)
            }
        }
        if p.flag("require_completion_labeling"), m.status == .completed, let placeholders = m.completion?.placeholders,
            !placeholders.isEmpty
        {
            problems.append(
                "reported complete while listing \(placeholders.count) placeholder(s): \(placeholders.prefix(5).joined(separator: ", "))"
            )
            first = min(first ?? (m.completion?.claimed_at ?? now), m.completion?.claimed_at ?? now)
        }
        guard let first else { return [] }
        return [
            p.finding(
                problems.joined(separator: "; "), occurredAt: first, facts: ["problems": number(Int64(problems.count))])
        ]
    }

    static let unapprovedWriteback = RuleImplementation(id: "writeback-approval/unapproved-writeback", parameters: []) {
        m, p, now in
        (m.writebacks ?? []).filter { $0.status == "applied" && ($0.approved_by ?? "").isEmpty }.map { w in
            p.finding(
                "writeback \(w.writeback_id) to \(w.target ?? "an unnamed target") was applied without an approval record",
                occurredAt: w.decided_at ?? m.updated_at ?? now, subject: w.writeback_id,
                facts: ["writeback_id": .string(w.writeback_id), "target": w.target.map { .string($0) } ?? .null])
        }
    }

    static let approvalPending = RuleImplementation(
        id: "writeback-approval/approval-pending", parameters: ["approval_sla_ms"]
    ) { m, p, now in
        let sla = p.integer("approval_sla_ms")
        return (m.writebacks ?? []).compactMap { w in
            guard w.status == "proposed" else { return nil }
            let since = w.proposed_at ?? m.updated_at ?? m.created_at
            let waiting = now.milliseconds(since: since)
            guard waiting > sla else { return nil }
            return p.finding(
                "writeback \(w.writeback_id) to \(w.target ?? "an unnamed target") has waited \(DurationText.describe(ms: waiting)) "
                    + "for approval (SLA \(DurationText.describe(ms: sla)))", occurredAt: since.adding(ms: sla),
                subject: w.writeback_id,
                facts: ["writeback_id": .string(w.writeback_id), "waiting_ms": number(waiting)])
        }
    }

    static let missionFailed = RuleImplementation(id: "mission-failure/failed", parameters: []) { m, p, now in
        guard m.status == .failed else { return [] }
        let recorded = m.failure_reason ?? ""
        let reason = recorded.isEmpty ? "no failure reason was recorded" : "reason: " + recorded
        return [
            p.finding(
                "failed in stage \(m.stage ?? "unknown"); \(reason)", occurredAt: m.updated_at ?? now,
                facts: ["failure_reason": m.failure_reason.map { .string($0) } ?? .null])
        ]
    }

    static let unauthorizedTool = RuleImplementation(id: "tool-scope/unauthorized-tool", parameters: []) { m, p, now in
        guard let allowed = m.allowed_tools, let calls = m.tool_calls else { return [] }
        let denied = calls.filter { !allowed.contains($0.tool) }
        guard !denied.isEmpty else { return [] }
        let names = Array(Set(denied.map(\.tool))).sorted()
        return [
            p.finding(
                "called tool\(names.count == 1 ? "" : "s") outside its allowed scope: \(names.joined(separator: ", ")) "
                    + "(allowed: \(allowed.joined(separator: ", ")))",
                occurredAt: denied.compactMap(\.at).min() ?? m.updated_at ?? now,
                facts: ["tools": .array(names.map { .string($0) }), "calls": number(Int64(denied.count))])
        ]
    }

    static let tierViolation = RuleImplementation(
        id: "model-routing/tier-violation", parameters: ["restricted_classes", "cloud_tiers"]
    ) { m, p, now in
        guard let sensitivity = m.sensitivity_class, let tier = m.model_tier,
            p.list("restricted_classes").contains(sensitivity),
            p.list("cloud_tiers").contains(tier)
        else { return [] }
        return [
            p.finding(
                "\(sensitivity) mission routed to cloud tier \(tier)", occurredAt: m.started_at ?? m.created_at,
                facts: ["sensitivity_class": .string(sensitivity), "model_tier": .string(tier)])
        ]
    }
}

/// What counts as evidence for a completion, at each strength a profile can require.
public enum CompletionEvidence {
    /// What is missing for `strength`; empty when the completion is backed well enough.
    ///
    /// - `every_output`: each requested output has an evidence item naming it (kind or ref) with a SHA-256.
    /// - `at_least_one`: at least one evidence item with a ref.
    /// - `claim`: a claim stands, but without any evidence it is labelled unverified.
    public static func missing(for mission: MissionSnapshot, strength: String) -> [String] {
        let evidence = (mission.completion?.evidence ?? []).filter { !$0.ref.isEmpty }
        switch strength {
        case "every_output":
            let outputs = mission.requested_outputs ?? []
            let hashed = evidence.filter { isSHA256($0.sha256) }
            if outputs.isEmpty { return hashed.isEmpty ? ["no evidence with a sha256"] : [] }
            let unbacked = outputs.filter { output in !hashed.contains { $0.kind == output || $0.ref.contains(output) }
            }
            return unbacked.isEmpty ? [] : ["no hashed evidence for " + unbacked.joined(separator: ", ")]
        default:
            return evidence.isEmpty ? ["no evidence attached"] : []
        }
    }

    static func isSHA256(_ text: String?) -> Bool {
        guard let text, text.utf8.count == 64 else { return false }
        return text.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) || ($0 >= 65 && $0 <= 70) }
    }
}

/// Placeholder markers matched as whole words, case-insensitively (`TODO` is found in "TODO:",
/// not in "mastodon").
public enum PlaceholderMarkers {
    public static func firstMatch(in text: String, markers: [String]) -> String? {
        let lower = text.lowercased()
        let bytes = Array(lower.utf8)
        for marker in markers {
            let needle = marker.lowercased()
            // Most texts hold no marker: a byte search says so without Foundation's string search,
            // for a needle no other character is canonically equivalent to (ASCII, but for `;` and
            // `` ` ``, which U+037E and U+1FEF decompose to).
            if needle.utf8.allSatisfy({ $0 < 0x80 && $0 != UInt8(ascii: ";") && $0 != UInt8(ascii: "`") }),
                !Bytes.contains(bytes, Array(needle.utf8))
            {
                continue
            }
            var searchRange = lower.startIndex..<lower.endIndex
            while let range = lower.range(of: needle, range: searchRange) {
                let before = range.lowerBound == lower.startIndex ? nil : lower[lower.index(before: range.lowerBound)]
                let after = range.upperBound == lower.endIndex ? nil : lower[range.upperBound]
                let isWordChar: (Character?) -> Bool = { c in c.map { $0.isLetter || $0.isNumber } ?? false }
                if !(isWordChar(before) && isWordChar(needle.first)) && !(isWordChar(after) && isWordChar(needle.last))
                {
                    return marker
                }
                searchRange = range.upperBound..<lower.endIndex
            }
        }
        return nil
    }
}
