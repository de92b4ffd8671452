import Foundation

extension Verb {
    static let report = Verb(
        CommandSpec(
            "rgov report",
            summary: "record what a colony mission did, in STATE/missions/ID.json (the colony-side hook)",
            discussion: """
                Atomic, one writer at a time per mission; a refused report (exit 65) leaves the snapshot unchanged.
                Kinds: started, checkpoint, progress, stage, blocker, completion, failed. Under a runtime with
                inline_block, a completion without the evidence the profile requires is refused and the refusal
                recorded as a decision.
                """,
            options: [
                OptionSpec("mission", value: "ID", "the mission; required"),
                OptionSpec("kind", value: "KIND", "what happened; required"),
                OptionSpec(
                    "type", value: "TYPE",
                    "mission type, to create a new mission (oracle_advisory, crm_lead_intelligence, catalyst_strategy_brief)"
                ),
                OptionSpec("at", value: "TIME", "when it happened (a time in the future is refused)", default: "now"),
                OptionSpec("stage", value: "STAGE", "the stage (required with --kind stage)"),
                OptionSpec("text", value: "TEXT", "the report's text"),
                OptionSpec("placeholder", "label the text a placeholder"),
                OptionSpec("reason", value: "TEXT", "the failure reason (required with --kind failed)"),
                OptionSpec(
                    "evidence", value: "[OUTPUT=]FILE", "with --kind completion: hash FILE and attach it as evidence",
                    repeatable: true),
                OptionSpec(
                    "placeholder-item", value: "X", "with --kind completion: a part still a placeholder",
                    repeatable: true),
                OptionSpec("tokens", value: "N", "tokens used so far"),
                OptionSpec("interval-ms", value: "N", "the checkpoint interval"),
                OptionSpec("goal", value: "TEXT", "the user's goal"),
            ],
            shared: SharedOption.deployment, exits: [(.dataError, "refused, snapshot unchanged")],
            example: "rgov report --mission M1 --kind checkpoint --text \"pricing history collected\" --tokens 120000")
    ) { options in
        guard let mission = options.value("mission") else {
            throw UsageError("--mission is required (see rgov report --help)")
        }
        guard let kindText = options.value("kind") else {
            throw UsageError("--kind is required (see rgov report --help)")
        }
        guard let kind = MissionReport.Kind(rawValue: kindText) else {
            throw RgovError.data(
                "unknown report kind \(Identifier.quoted(kindText)) (kinds: \(MissionReport.Kind.allCases.map(\.rawValue).joined(separator: ", ")))"
            )
        }
        let at = try options.time("at") { RgovError.data($0) }
        let deployment = try Deployment.inForce(options, run: "rgov report")
        try deployment.layout.prepare()
        let request = MissionReport.Request(
            missionID: mission, kind: kind, at: at, missionType: options.value("type"), stage: options.value("stage"),
            text: options.value("text"), placeholder: options.has("placeholder"), reason: options.value("reason"),
            tokensUsed: try options.integer("tokens"), goal: options.value("goal"),
            intervalMs: try options.integer("interval-ms"),
            evidence: options.all("evidence"), placeholders: options.all("placeholder-item"))
        let outcome: MissionReport.Outcome
        do {
            outcome = try MissionReport(deployment: deployment, actor: "rgov report (\(Sys.userName()))").apply(request)
        } catch let blocked as InlineBlocked {
            try? Metrics.record(deployment, now: deployment.clock.now()) { m in
                m.policy_blocks_total = m.policy_blocks_total ?? [:]
                m.policy_blocks_total?[blocked.ruleID, default: 0] += 1
            }
            throw blocked
        }
        let text =
            "mission \(outcome.mission_id): \(outcome.kind) recorded\(outcome.created ? " (new mission)" : ""); "
            + "status \(outcome.status), stage \(outcome.stage ?? "-")"
            + outcome.evidence.map { "\n  evidence \($0.kind): \($0.ref) sha256 \($0.sha256 ?? "")" }.joined()
        Sys.writeStandardOutput((options.json ? CanonicalJSON.line(outcome) : text) + "\n")
        return 0
    }
}
