import Foundation

extension Verb {
    static let evaluate = Verb(
        CommandSpec(
            "rgov evaluate",
            summary: "judge a candidate profile over the state's missions and a seeded simulation, and record it",
            discussion: """
                Two trials. The state's missions are judged under its active profile and under PROFILE (what
                rgov diff-profiles computes): PROFILE fails when it drops or weakens a block or critical finding the
                active profile raises. A seeded simulation (rgov simulate's missions, in memory; nothing is written
                to missions/) is judged under PROFILE against its manifest: PROFILE fails on a mission flagged
                with a rule not planted there, and on a planted condition of a rule it enables that it does not
                raise (an autonomy tier its own max_autonomy_tier admits is not a miss). Planted rules PROFILE
                does not enable are listed, not failed.
                The evaluation is recorded in the state (lifecycle-records/): who, when, PROFILE's and the active
                profile's sha256, the state's environment, what ran (missions, seed, simulation size), the result
                and its reasons, and the hashes of its inputs. rgov history lists it, rgov export carries it, and on
                a production state rgov activate asks for a passing one of exactly PROFILE's hash. Only an
                operator of the profile in force may evaluate.
                """,
            arguments: [ArgumentSpec("PROFILE", "the candidate: a profile id or file")],
            options: [
                .by("who evaluates; required"), OptionSpec("reason", value: "TEXT", "why (recorded)"),
                OptionSpec("seed", value: "S", "the simulation's random seed (a whole number)", default: "1"),
                OptionSpec("missions", value: "N", "how many missions to simulate (1 to 100000)", default: "1000"),
            ],
            shared: SharedOption.authority,
            exits: [
                (.failure, "the evaluation failed (recorded; its reasons printed)"),
                (.noPermission, "not an operator of the profile in force"), (.configuration, "PROFILE is refused"),
            ],
            example: "rgov evaluate strict-manager-mode --state /var/lib/rgov/staging --by alice")
    ) { options in
        let seed: UInt64
        if let text = options.value("seed") {
            guard let value = UInt64(text) else { throw UsageError("--seed S needs a whole number") }
            seed = value
        } else {
            seed = 1
        }
        let size = try options.integer("missions") ?? 1000
        guard size > 0, size <= 100_000 else { throw UsageError("--missions N must be 1 to 100000") }
        let desk = try OperatorDesk.forVerb(options)
        try desk.authorize("evaluate", target: options.argument, reason: options.value("reason"))
        let candidate = try Deployment.candidate(options, profile: options.argument)
        let lifecycle = ProfileLifecycle(layout: desk.layout, clock: try options.clock())
        let record = try ProfileEvaluation(
            active: desk.deployment, candidate: candidate, seed: seed, simulationSize: Int(size)
        ).recorded(by: desk.identity.by, lifecycle: lifecycle)
        try desk.record(
            "evaluate", target: candidate.profileReference, reason: options.value("reason"),
            result: "\(record.result.rawValue) as \(record.record_id) (sha256 \(candidate.profile.sha256))")
        options.emit(record, ProfileEvaluation.describe(record))
        return record.result == .passed ? 0 : ExitCode.failure.rawValue
    }
}
