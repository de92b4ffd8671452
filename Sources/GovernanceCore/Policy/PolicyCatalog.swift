import Foundation

/// Evaluates the enabled rules on one mission.
public enum PolicyCatalog {
    /// The rules that judge a completion itself: a completed mission that satisfies them is done.
    static let completionRules: Set<String> = [
        RuleBook.completionRuleID, "placeholder-labeling/unlabeled-placeholder", "admission/review-missing",
    ]

    /// Findings for `mission`.
    ///
    /// Cancelled missions, and completed ones whose evidence and labelling
    /// satisfy the profile, raise nothing. A silent task is not also reported as a missed checkpoint.
    public static func evaluate(_ mission: MissionSnapshot, rules: [RuleParameters], now: Date) -> [Finding] {
        if mission.status == .cancelled { return [] }
        func run(_ parameters: RuleParameters) -> [Finding] {
            // Packs are checked against the rule book when loaded: every resolved rule has one.
            RuleBook.byID[parameters.ruleID]?.evaluate(mission, parameters, now) ?? []
        }
        var findings = rules.filter { completionRules.contains($0.ruleID) }.flatMap(run)
        if mission.status == .completed && findings.isEmpty { return [] }
        findings += rules.filter { !completionRules.contains($0.ruleID) }.flatMap(run)
        if findings.contains(where: { $0.rule_id == "anti-blackhole/silent-task" }) {
            findings.removeAll { $0.rule_id == "checkpoint-cadence/missed-checkpoint" }
        }
        return findings
    }
}
