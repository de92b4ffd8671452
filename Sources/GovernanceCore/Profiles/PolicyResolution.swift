import Foundation

/// Layers rule parameters: pack defaults, then the profile.
///
/// A profile may strengthen anything; it
/// may relax only inside the range a pack declares tunable. Anything else is refused (exit 78)
/// with the profile's file:line, the pack, the rule and the allowed range.
enum PolicyResolution {
    static func resolve(profile: DeploymentProfile, available: [String: PolicyPack]) throws -> (
        [PolicyPack], [RuleParameters]
    ) {
        var packs: [PolicyPack] = []
        for id in profile.enabledPacks {
            guard let pack = available[id] else {
                let guess =
                    ConfigMap.closest(to: id, in: Array(available.keys)).map { "; did you mean \"\($0)\"?" } ?? ""
                throw ConfigurationError(
                    "\(profile.source): spec.policies.enabled: unknown policy pack \"\(id)\"\(guess) "
                        + "(shipped: \(available.keys.sorted().joined(separator: ", ")))")
            }
            packs.append(pack)
        }
        var rules: [String: (RuleDefinition, PolicyPack)] = [:]
        var order: [String] = []
        for pack in packs {
            for rule in pack.rules {
                rules[rule.id] = (rule, pack)
                order.append(rule.id)
            }
        }
        var resolved = rules.mapValues { rule, _ in
            RuleParameters(
                ruleID: rule.id, severity: rule.severity, outcome: rule.outcome,
                values: Dictionary(rule.parameters.map { ($0.name, $0.defaultValue) }) { $1 },
                origins: Dictionary(rule.parameters.map { ($0.name, "pack") }) { $1 })
        }
        for setting in profile.thresholds {
            let at = "\(setting.file):\(setting.line): spec.policies.thresholds.\(setting.rule).\(setting.parameter)"
            guard let (rule, pack) = rules[setting.rule] else {
                let all = available.values.flatMap { $0.rules.map(\.id) }
                let hint =
                    all.contains(setting.rule)
                    ? " (its pack is not enabled)"
                    : ConfigMap.closest(to: setting.rule, in: all).map { "; did you mean \"\($0)\"?" } ?? ""
                throw ConfigurationError("\(at): unknown rule \"\(setting.rule)\"\(hint)")
            }
            guard let spec = rule.parameters.first(where: { $0.name == setting.parameter }) else {
                let names = rule.parameters.map(\.name)
                let guess =
                    ConfigMap.closest(to: setting.parameter, in: names).map { "; did you mean \"\($0)\"?" } ?? ""
                throw ConfigurationError(
                    "\(at): rule \(rule.id) has no parameter \"\(setting.parameter)\"\(guess) (parameters: \(names.joined(separator: ", ")))"
                )
            }
            guard let value = setting.value(for: spec) else {
                throw ConfigurationError("\(at): wrong type for this parameter (allowed: \(spec.rangeDescription))")
            }
            if let refusal = spec.refusal(of: value) {
                throw ConfigurationError(
                    "\(at): \(value.text) \(refusal) declared by pack \(pack.reference) for rule \(rule.id) "
                        + "(allowed: \(spec.rangeDescription))")
            }
            resolved[setting.rule]?.values[setting.parameter] = value
            resolved[setting.rule]?.origins[setting.parameter] = "profile"
        }
        for override in profile.severityOverrides {
            let at = "\(override.file):\(override.line): spec.policies.overrides.\(override.rule).severity"
            guard let (rule, pack) = rules[override.rule] else {
                throw ConfigurationError("\(at): unknown or disabled rule \"\(override.rule)\"")
            }
            guard override.severity >= rule.severity else {
                throw ConfigurationError(
                    "\(at): \(override.severity.rawValue) weakens the severity \(rule.severity.rawValue) declared by pack "
                        + "\(pack.reference) for rule \(rule.id); a profile may only raise it")
            }
            resolved[override.rule]?.severity = override.severity
        }
        return (packs, order.compactMap { resolved[$0] })
    }
}
