import Foundation

/// The guard plane's rules: what a mission may read, where it may call, and how far it may act on
/// its own (colony blueprint §3.3, §9.2, §9.3).
///
/// Like every rule, each judges what is recorded: a mission with no allowed list, no permitted
/// class or no tier raises nothing.
extension RuleBook {
    /// A data access outside the mission's allowed scopes: one finding per scope, so one episode
    /// per mission and scope.
    static let unauthorizedDataAccess = RuleImplementation(
        id: "data-scope/unauthorized-data-access", parameters: []
    ) { m, p, now in
        guard let allowed = m.allowed_data_scopes, let accesses = m.data_accesses else { return [] }
        let outside = Dictionary(grouping: accesses.filter { !allowed.contains($0.scope) }, by: \.scope)
        return outside.keys.sorted().map { scope in
            let hits = outside[scope] ?? []
            return p.finding(
                "read data of scope \(scope) outside its allowed scopes "
                    + "(allowed: \(allowed.isEmpty ? "none" : allowed.joined(separator: ", ")))",
                occurredAt: hits.compactMap(\.at).min() ?? m.updated_at ?? now, subject: scope,
                facts: [
                    "scope": .string(scope), "accesses": number(Int64(hits.count)),
                    "allowed_data_scopes": .array(allowed.map { .string($0) }),
                ])
        }
    }

    /// A network call of a class above the one the mission is permitted.
    static let egressViolation = RuleImplementation(id: "network-egress/egress-violation", parameters: []) {
        m, p, now in
        guard let permitted = m.egress_class, let calls = m.network_calls else { return [] }
        let above = calls.filter { $0.egress_class > permitted }
        guard !above.isEmpty else { return [] }
        let hosts = Array(Set(above.map(\.host))).sorted()
        let worst = above.map(\.egress_class).max() ?? permitted
        return [
            p.finding(
                "called \(hosts.joined(separator: ", ")) with egress class \(worst.rawValue), above its permitted "
                    + "class \(permitted.rawValue)", occurredAt: above.compactMap(\.at).min() ?? m.updated_at ?? now,
                facts: [
                    "hosts": .array(hosts.map { .string($0) }), "calls": number(Int64(above.count)),
                    "egress_class": .string(permitted.rawValue), "highest_class_called": .string(worst.rawValue),
                ])
        ]
    }

    /// A mission running at an autonomy tier above the one the profile admits.
    static let autonomyExceeded = RuleImplementation(
        id: "admission/autonomy-exceeded", parameters: ["max_autonomy_tier"]
    ) { m, p, now in
        guard let tier = m.autonomy_tier,
            let allowed = MissionSnapshot.AutonomyTier(rawValue: p.choice("max_autonomy_tier")),
            tier > allowed
        else { return [] }
        return [
            p.finding(
                "runs at autonomy tier \(tier.rawValue), above the profile's \(allowed.rawValue)",
                occurredAt: m.started_at ?? m.created_at,
                facts: ["autonomy_tier": .string(tier.rawValue), "max_autonomy_tier": .string(allowed.rawValue)])
        ]
    }

    /// The review levels in order: a mission at or above `review_required_from` needs a review.
    static let riskLevels = ["low", "medium", "high", "critical"]

    /// A mission that needed a review (its risk, or its sensitivity class) reported completed
    /// without an approved one.
    static let reviewMissing = RuleImplementation(
        id: "admission/review-missing", parameters: ["review_required_from", "review_required_classes"]
    ) { m, p, now in
        guard m.status == .completed, m.review?.verdict != .approved else { return [] }
        let from = riskLevels.firstIndex(of: p.choice("review_required_from")) ?? riskLevels.count
        let risky = m.risk_level.flatMap { riskLevels.firstIndex(of: $0) }.map { $0 >= from } ?? false
        let sensitive = m.sensitivity_class.map { p.list("review_required_classes").contains($0) } ?? false
        guard risky || sensitive else { return [] }
        let why = [
            risky ? "risk \(m.risk_level ?? "")" : nil, sensitive ? "sensitivity \(m.sensitivity_class ?? "")" : nil,
        ]
        .compactMap { $0 }.joined(separator: " and ")
        return [
            p.finding(
                "reported completed without an approved review, which its \(why) requires"
                    + (m.review.map { " (the review by \($0.reviewed_by) asked for changes)" } ?? ""),
                occurredAt: m.completion?.claimed_at ?? m.updated_at ?? now,
                facts: [
                    "risk_level": m.risk_level.map { .string($0) } ?? .null,
                    "sensitivity_class": m.sensitivity_class.map { .string($0) } ?? .null,
                    "review_verdict": m.review.map { .string($0.verdict.rawValue) } ?? .null,
                ])
        ]
    }
}
