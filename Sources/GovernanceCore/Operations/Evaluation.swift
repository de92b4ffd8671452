import Foundation

/// `rgov evaluate PROFILE`: a candidate profile judged before it is put in force, and the record of it.
///
/// Two trials: the state's own missions under the active profile and the candidate (what
/// `diff-profiles` computes), where the candidate fails when it drops or weakens a `block` or
/// `critical` finding the active profile raises; and a seeded simulation judged under the
/// candidate against its manifest, where it fails on any mission flagged with a rule that was not
/// planted there, and on any planted condition of a rule it enables that it does not raise (an
/// autonomy tier its own `max_autonomy_tier` admits is not a miss: that is what production's
/// staging gate is for). Planted rules it does not enable are listed, not failed.
public struct ProfileEvaluation {
    public let active: Deployment
    public let candidate: Deployment
    public let seed: UInt64
    public let simulationSize: Int

    public init(active: Deployment, candidate: Deployment, seed: UInt64, simulationSize: Int) {
        (self.active, self.candidate, self.seed, self.simulationSize) = (active, candidate, seed, simulationSize)
    }

    /// What the two trials found: the record's evaluation summary, the reasons it fails, its input hashes.
    public struct Outcome: Sendable {
        public var evaluation: LifecycleRecord.Evaluation
        public var reasons: [String]
        public var inputs: [String: String]
        public var diff: ProfileDiff.Report
    }

    /// How many reasons of one kind a record names before it counts the rest.
    static let reasonsShown = 10

    public func run() throws -> Outcome {
        let now = candidate.clock.now()
        let layout = candidate.layout
        var reasons: [String] = []
        let hasMissions = Sys.isDirectory(layout.missions)
        let diff =
            hasMissions
            ? try ProfileDiff.compare(active, candidate, now: now)
            : ProfileDiff.Report(
                a: active.profileReference, b: candidate.profileReference, now: now, missions_evaluated: 0,
                missions_skipped: [], missions: [], settings: [])
        var weakened: [String] = []
        for difference in diff.missions {
            guard let mission = try? MissionStore(layout: layout).read(difference.mission_id) else { continue }
            weakened += Self.weakened(
                PolicyCatalog.evaluate(mission, rules: active.rules, now: now),
                PolicyCatalog.evaluate(mission, rules: candidate.rules, now: now)
            ).map { "mission \(mission.mission_id): \($0)" }
        }
        reasons += Self.capped(weakened)

        let simulation = Simulation(seed: seed, now: now).generate(count: simulationSize)
        let enabled = Set(candidate.rules.map(\.ruleID))
        let maxTier = candidate.rules.first { $0.ruleID == "admission/autonomy-exceeded" }
            .flatMap { MissionSnapshot.AutonomyTier(rawValue: $0.choice("max_autonomy_tier")) }
        var falsePositives: [String] = []
        var missed: [String] = []
        var notEnabled: Set<String> = []
        for (id, snapshot) in simulation.missions {
            let mission = try CanonicalJSON.decode(MissionSnapshot.self, from: try CanonicalJSON.encode(snapshot))
            let planted = Set(simulation.manifest.missions[id]?.expected_rules ?? [])
            notEnabled.formUnion(planted.subtracting(enabled))
            var expected = planted.intersection(enabled)
            if let tier = mission.autonomy_tier, let maxTier, !(maxTier < tier) {
                expected.remove("admission/autonomy-exceeded")
            }
            let found = Set(PolicyCatalog.evaluate(mission, rules: candidate.rules, now: now).map(\.rule_id))
            for rule in found.subtracting(planted).sorted() {
                falsePositives.append("simulated mission \(id): \(rule) raised, but the manifest planted none")
            }
            for rule in expected.subtracting(found).sorted() {
                missed.append("simulated mission \(id): planted \(rule) was not raised")
            }
        }
        reasons += Self.capped(falsePositives) + Self.capped(missed)
        let evaluation = LifecycleRecord.Evaluation(
            missions_evaluated: diff.missions_evaluated, missions_skipped: diff.missions_skipped.count,
            missions_judged_differently: diff.missions.count, findings_weakened: weakened.count, seed: seed,
            simulation_missions: simulationSize, simulation_false_positives: falsePositives.count,
            simulation_missed: missed.count, simulation_rules_not_enabled: notEnabled.sorted())
        let inputs = [
            "profile": candidate.profile.sha256, "active_profile": active.profile.sha256,
            "missions": try Self.missionsDigest(layout, present: hasMissions),
            "simulation_manifest": SHA256.hex(of: [UInt8](try CanonicalJSON.encode(simulation.manifest))),
        ]
        return Outcome(evaluation: evaluation, reasons: reasons, inputs: inputs, diff: diff)
    }

    /// The `block` or `critical` findings of `before` that `after` drops or weakens, one line each.
    static func weakened(_ before: [Finding], _ after: [Finding]) -> [String] {
        func key(_ f: Finding) -> String { f.rule_id + (f.subject.map { " [\($0)]" } ?? "") }
        let now = Dictionary(after.map { (key($0), $0) }, uniquingKeysWith: { a, _ in a })
        return before.filter { $0.outcome == .block || $0.severity == .critical }.compactMap { f in
            guard let other = now[key(f)] else {
                return "the candidate drops \(key(f)) (\(f.severity.rawValue), \(f.outcome.rawValue))"
            }
            if (f.outcome == .block && other.outcome != .block) || other.severity < f.severity {
                return "the candidate weakens \(key(f)): \(f.severity.rawValue), \(f.outcome.rawValue) -> "
                    + "\(other.severity.rawValue), \(other.outcome.rawValue)"
            }
            return nil
        }
    }

    static func capped(_ lines: [String]) -> [String] {
        lines.count <= reasonsShown
            ? lines : Array(lines.prefix(reasonsShown)) + ["... and \(lines.count - reasonsShown) more like these"]
    }

    /// SHA-256 over one line `<file name> <sha256 of its bytes>` per mission snapshot, sorted.
    static func missionsDigest(_ layout: StateLayout, present: Bool) throws -> String {
        guard present else { return SHA256.hex(of: "") }
        return SHA256.hex(
            of: try layout.artifactNames(in: layout.missions).map { name in
                let bytes = (try? MissionStore.bytes(layout.file(name, in: layout.missions))) ?? Data()
                return name + " " + SHA256.hex(of: [UInt8](bytes)) + "\n"
            }.joined())
    }

    /// The record of this evaluation: passed when no reason stands against the candidate.
    public func record(_ outcome: Outcome, by: String) -> LifecycleRecord {
        LifecycleRecord(
            action: .evaluate, profile: candidate.profileReference, profileSHA256: candidate.profile.sha256, by: by,
            result: outcome.reasons.isEmpty ? .passed : .failed, reasons: outcome.reasons, inputs: outcome.inputs,
            evaluation: outcome.evaluation)
    }

    /// Runs both trials and records the evaluation in the state, with the candidate's snapshot
    /// (by its hash, so a bundle carries the profile judged).
    public func recorded(by: String, lifecycle: ProfileLifecycle) throws -> LifecycleRecord {
        let outcome = try run()
        try lifecycle.storeSnapshot(candidate.profile)
        return try lifecycle.note(record(outcome, by: by))
    }

    public static func describe(_ record: LifecycleRecord) -> String {
        var lines = [
            "evaluation \(record.record_id) of \(record.profile ?? "-") (sha256 \((record.profile_sha256 ?? "-").prefix(12))) on a "
                + "\(record.environment.rawValue) state: \(record.result == .passed ? "PASSED" : "FAILED")"
        ]
        if let e = record.evaluation {
            lines.append(
                "  state missions: \(e.missions_evaluated) judged (\(e.missions_skipped) invalid), "
                    + "\(e.missions_judged_differently) judged differently from the active profile, "
                    + "\(e.findings_weakened) block or critical findings dropped or weakened")
            lines.append(
                "  simulation: \(e.simulation_missions) missions (seed \(e.seed)), \(e.simulation_false_positives) "
                    + "flagged wrongly, \(e.simulation_missed) planted conditions missed")
            if !e.simulation_rules_not_enabled.isEmpty {
                lines.append(
                    "  planted but not enabled by the candidate: \(e.simulation_rules_not_enabled.joined(separator: ", "))"
                )
            }
        }
        lines += record.reasons.map { "  FAIL " + $0 }
        return lines.joined(separator: "\n")
    }
}
