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
}
