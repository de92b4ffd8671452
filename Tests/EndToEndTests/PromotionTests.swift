import Foundation
import Testing

@testable import GovernanceCore

/// Environments and gated promotion: `rgov evaluate`, the production gate of `rgov activate`, and
/// the lifecycle records `rgov history` lists and bundles carry.
@Suite struct PromotionTests {
    static func text(_ value: JSONValue?) -> String? {
        if case .string(let s)? = value { return s }
        return nil
    }

    /// A state made by `rgov init` in `environment` with `profile` in force.
    static func state(_ environment: String, profile: String = "standard-team-mode", tag: String = #function) throws
        -> Harness
    {
        let h = try Harness(tag)
        let made = try h.run(
            "rgov",
            ["init", "--environment", environment, "--profile", profile, "--by", "e2e", "--reason", "the test's state"])
        #expect(made.status == 0, "\(made.stderr)")
        return h
    }

    static func activeSHA(_ h: Harness) -> String? {
        ProfileLifecycle(layout: h.layout, clock: .system).active()?.snapshot_sha256
    }

    static func sha(of profile: String) throws -> String {
        try Deployment.loadProfile(profile, root: Harness.repoRoot).sha256
    }

    /// standard-team-trial admitting supervised missions (above assisted).
    static func supervised(_ h: Harness) throws -> String {
        try h.profile(
            named: "supervised",
            replacing: [
                (
                    "    thresholds:\n",
                    "    thresholds:\n      admission/autonomy-exceeded:\n        max_autonomy_tier: supervised\n"
                )
            ])
    }

    static func records(_ h: Harness) throws -> [LifecycleRecord] {
        try h.run("rgov", ["history", "--json"]).stdout.split(separator: "\n").compactMap {
            try? CanonicalJSON.decode(LifecycleRecord.self, from: Data($0.utf8))
        }
    }

    static func events(_ h: Harness) throws -> [ProfileLifecycleEvent] {
        try h.run("rgov", ["history", "--json"]).stdout.split(separator: "\n").compactMap {
            try? CanonicalJSON.decode(ProfileLifecycleEvent.self, from: Data($0.utf8))
        }
    }

    func activate(_ h: Harness, _ profile: String, _ extra: [String] = []) throws -> Harness.Run {
        try h.run("rgov", ["activate", profile, "--by", "e2e", "--reason", "promotion"] + extra)
    }

    @Test func productionActivationNeedsAPassingEvaluationOfExactlyThatHash() throws {
        let h = try Self.state("production")
        let before = try #require(Self.activeSHA(h))
        let minimal = try Self.sha(of: "minimal-solo-mode")

        let bare = try activate(h, "minimal-solo-mode")
        #expect(bare.status == 78, "\(bare.stderr)")
        #expect(bare.stderr.contains(minimal) && bare.stderr.contains("rgov evaluate minimal-solo-mode --state"))
        #expect(bare.stderr.contains("nothing was changed"))
        #expect(Self.activeSHA(h) == before, "a refused activation changes nothing")
        #expect(try Self.events(h).count == 1)
        #expect(try Self.records(h).map(\.result) == [.refused])

        // An evaluation of another hash does not count.
        #expect(try h.run("rgov", ["evaluate", Harness.teamTrial, "--by", "e2e", "--missions", "200"]).status == 0)
        #expect(try activate(h, "minimal-solo-mode").status == 78)
        #expect(Self.activeSHA(h) == before)

        // A failing evaluation does not count: a stage timeout of a day misses the planted stuck missions.
        let lax = try h.profile(named: "lax", replacing: [WatchdogTests.longStages])
        let failing = try h.run("rgov", ["evaluate", lax, "--by", "e2e", "--missions", "300", "--json"])
        #expect(failing.status == 1, "\(failing.stderr)")
        #expect(Self.text(failing.json?["result"]) == "failed")
        let reasons = failing.json?["reasons"]?.array.compactMap(Self.text) ?? []
        #expect(reasons.contains { $0.contains("stuck-state/stage-timeout") }, "\(reasons)")
        let refused = try activate(h, lax)
        #expect(refused.status == 78 && refused.stderr.contains("failed"), "\(refused.stderr)")
        #expect(Self.activeSHA(h) == before)

        let passed = try h.run("rgov", ["evaluate", "minimal-solo-mode", "--by", "e2e", "--seed", "7", "--json"])
        #expect(passed.status == 0, "\(passed.stdout)\(passed.stderr)")
        let evaluation = try #require(Self.records(h).last)
        #expect(evaluation.action == .evaluate && evaluation.result == .passed && evaluation.reasons.isEmpty)
        #expect(evaluation.profile_sha256 == minimal && evaluation.active_sha256 == before)
        #expect(evaluation.environment == .production && evaluation.by == "e2e" && !evaluation.os_user.isEmpty)
        #expect(evaluation.evaluation?.seed == 7 && evaluation.evaluation?.simulation_missions == 1000)
        #expect(evaluation.inputs["profile"] == minimal && evaluation.inputs["simulation_manifest"] != nil)
        #expect(Sys.kind(h.layout.lifecycleRecord(evaluation.record_id)) == .regular)

        let admitted = try activate(h, "minimal-solo-mode")
        #expect(admitted.status == 0, "\(admitted.stderr)")
        #expect(Self.activeSHA(h) == minimal)
        let event = try #require(Self.events(h).last)
        #expect(event.evaluation_id == evaluation.record_id && event.evaluation_environment == .production)
    }

    @Test func noWayRoundTheGateOfAProductionState() throws {
        let h = try Self.state("production")
        let loose = try h.profile(named: "nowriteback", replacing: [(" writeback-approval,", "")])
        // A production state that lost its active profile adopts none from a run.
        let active = try Sys.readFile(h.layout.activeProfile)
        try Sys.unlink(h.layout.activeProfile)
        let adopted = try h.run("rgov", ["tick", "--profile", loose])
        #expect(adopted.status == 78 && adopted.stderr.contains("production state with no active profile"))
        #expect(Sys.kind(h.layout.activeProfile) == .missing)
        try DurableFile.write(active, to: h.layout.activeProfile)
        // init does not turn a recorded state into another environment.
        let other = try h.run("rgov", ["init", "--environment", "local", "--profile", "standard-team-mode"])
        #expect(other.status == 65, "\(other.stderr)")
        // A bundle that cannot be read is a refusal like any other: 78, recorded.
        let typo = try activate(h, loose, ["--evaluation", h.dir + "/typo.tar"])
        #expect(typo.status == 78 && typo.stderr.contains("no evidence"), "\(typo.status) \(typo.stderr)")
        #expect(try Self.records(h).contains { $0.action == .activate && $0.result == .refused })
        // An unreadable state.json does not make the state local: the gate fails closed.
        try DurableFile.write(Data("{".utf8), to: h.layout.stateRecord)
        let unreadable = try activate(h, "minimal-solo-mode")
        #expect(unreadable.status == 78 && unreadable.stderr.contains("cannot be read"), "\(unreadable.stderr)")
        #expect(Self.activeSHA(h) == (try Self.sha(of: "standard-team-mode")))
    }

    @Test func localAndStagingStatesActivateWithoutAnEvaluation() throws {
        for environment in ["local", "staging"] {
            let h = try Self.state(environment, tag: "plain" + environment)
            #expect(try activate(h, "minimal-solo-mode").status == 0)
            #expect(Self.activeSHA(h) == (try Self.sha(of: "minimal-solo-mode")))
        }
    }

    @Test func autonomyAboveAssistedNeedsAnEvaluationFromStaging() throws {
        let production = try Self.state("production")
        let staging = try Self.state("staging", tag: "stagingForAutonomy")
        let profile = try Self.supervised(production)
        let sha = try Self.sha(of: profile)
        let before = try #require(Self.activeSHA(production))

        // Passing on production itself is not enough for a profile that admits supervised missions.
        #expect(try production.run("rgov", ["evaluate", profile, "--by", "e2e", "--missions", "300"]).status == 0)
        let local = try activate(production, profile)
        #expect(local.status == 78, "\(local.stderr)")
        #expect(local.stderr.contains("staging") && local.stderr.contains("max_autonomy_tier is supervised"))
        #expect(local.stderr.contains(sha) && local.stderr.contains("--evaluation BUNDLE"))
        #expect(Self.activeSHA(production) == before)

        // Evaluated on staging, exported: the bundle is the evidence.
        let evaluated = try staging.run("rgov", ["evaluate", profile, "--by", "e2e", "--missions", "300"])
        #expect(evaluated.status == 0, "\(evaluated.stdout)\(evaluated.stderr)")
        let export = try staging.run("rgov", ["export", "--since", "2026-11-20T00:00:00Z", "--json"])
        #expect(export.status == 0, "\(export.stderr)")
        let bundle = try #require(Self.text(export.json?["bundle"]))
        let tar = try #require(Self.text(export.json?["tar"]))
        let manifest = try CanonicalJSON.decode(BundleManifest.self, from: try Sys.readFile(bundle + "/manifest.json"))
        #expect(manifest.artifacts.contains { $0.kind == "lifecycle_record" })
        #expect(try staging.run("rgov", ["verify", tar]).status == 0)

        // A tampered copy is refused: the record's bytes no longer match the manifest.
        let tampered = production.dir + "/tampered"
        _ = try ChildProcess.run(ChildSpec(executable: "/bin/cp", arguments: ["-r", bundle, tampered], deadline: 30))
        let recordRef = try #require(manifest.artifacts.first { $0.kind == "lifecycle_record" }?.ref)
        let recordPath = tampered + "/" + recordRef
        var record = try CanonicalJSON.decode(LifecycleRecord.self, from: try Sys.readFile(recordPath))
        record.evaluation?.seed = 2
        try DurableFile.write(try CanonicalJSON.encodeFile(record), to: recordPath)
        #expect(try production.run("rgov", ["verify", tampered]).status == 65)
        let forged = try activate(production, profile, ["--evaluation", tampered])
        #expect(forged.status == 78 && forged.stderr.contains("does not verify"), "\(forged.stderr)")
        #expect(Self.activeSHA(production) == before)

        // A bundle of the production state's own evaluation is not from staging.
        let own = try production.run("rgov", ["export", "--since", "2026-11-20T00:00:00Z", "--json"])
        let ownTar = try #require(Self.text(own.json?["tar"]))
        let notStaging = try activate(production, profile, ["--evaluation", ownTar])
        #expect(notStaging.status == 78 && notStaging.stderr.contains("none passed on a staging state"))

        let promoted = try activate(production, profile, ["--evaluation", tar])
        #expect(promoted.status == 0, "\(promoted.stderr)")
        #expect(Self.activeSHA(production) == sha)
        let event = try #require(Self.events(production).last)
        #expect(event.evaluation_environment == .staging)
        #expect(event.evaluation_bundle_sha256 == SHA256.hex(of: [UInt8](try Sys.readFile(bundle + "/manifest.json"))))

        // A new production state starts on such a profile only with the staging evidence.
        let fresh = production.dir + "/fresh"
        let bare = try production.run(
            "rgov", ["init", "--state", fresh, "--environment", "production", "--profile", profile])
        #expect(bare.status == 78 && bare.stderr.contains("max_autonomy_tier is supervised"), "\(bare.stderr)")
        #expect(Sys.kind(fresh) == .missing, "nothing was made")
        let started = try production.run(
            "rgov",
            ["init", "--state", fresh, "--environment", "production", "--profile", profile, "--evaluation", tar])
        #expect(started.status == 0, "\(started.stderr)")
        #expect(ProfileLifecycle(layout: StateLayout(root: fresh), clock: .system).active()?.snapshot_sha256 == sha)
    }

    @Test func aProfileWithoutWritebackApprovalNeedsStagingToo() throws {
        let h = try Self.state("production")
        let profile = try h.profile(
            named: "nowriteback", replacing: [(" writeback-approval,", "")])
        #expect(try h.run("rgov", ["evaluate", profile, "--by", "e2e", "--missions", "200"]).status == 0)
        let refused = try activate(h, profile)
        #expect(refused.status == 78 && refused.stderr.contains("does not enable the writeback-approval pack"))
    }

    @Test func onlyAnOperatorMayEvaluate() throws {
        let h = try Harness()
        let guarded = try h.profile(named: "guarded", audit: ["operators: [somebody-else]"])
        #expect(
            try h.run("rgov", ["init", "--profile", guarded, "--by", "e2e", "--reason", "guarded state"]).status == 0)
        let refused = try h.run("rgov", ["evaluate", "minimal-solo-mode", "--by", Sys.userName()])
        #expect(refused.status == 77, "\(refused.stderr)")
        #expect(try Self.records(h).isEmpty, "a refused evaluation records no evaluation")
    }

    @Test func lifecycleRecordsBetweenActivationsDoNotChangeWhatRollbackReturnsTo() throws {
        let h = try Self.state("local")
        let standard = try Self.sha(of: "standard-team-mode")
        #expect(try activate(h, "minimal-solo-mode").status == 0)
        // Every step recorded between the two activations names another profile, the trial.
        let validated = try h.run("rgov", ["validate", "--profile", Harness.teamTrial, "--json"])
        #expect(validated.status == 0 && Self.text(validated.json?["lifecycle_record"]) != nil, "\(validated.stderr)")
        let bad = try h.profile(named: "bad", replacing: [("    queue:\n", "    queu:\n")])
        #expect(try h.run("rgov", ["validate", "--profile", bad]).status == 78)
        #expect(try h.run("rgov", ["evaluate", Harness.teamTrial, "--by", "e2e", "--missions", "100"]).status == 0)
        let simulated = try h.run("rgov", ["simulate", "--missions", "20", "--seed", "3", "--json"])
        #expect(simulated.status == 0 && Self.text(simulated.json?["lifecycle_record"]) != nil)
        let records = try Self.records(h)
        #expect(records.map(\.action) == [.validate, .validate, .evaluate, .simulate])
        #expect(records.map(\.result) == [.ok, .refused, .passed, .ok])
        #expect(records[0].profile_sha256 == (try Self.sha(of: Harness.teamTrial)))
        #expect(records[1].reasons.first?.contains("queu") == true)
        #expect(records[3].inputs["simulation_manifest"] != nil && records[3].detail?.contains("seed 3") == true)

        let rollback = try h.run("rgov", ["rollback", "--by", "e2e", "--reason", "back", "--json"])
        #expect(rollback.status == 0, "\(rollback.stderr)")
        #expect(Self.text(rollback.json?["snapshot_sha256"]) == standard)
        #expect(Self.activeSHA(h) == standard)

        let human = try h.run("rgov", ["history"]).stdout
        for word in ["validate", "evaluate", "simulate", "REFUSED", "PASSED", "rollback"] {
            #expect(human.contains(word), "history lists \(word)")
        }
        // Each record stands after the activation it was made after, then the rollback.
        let order = human.split(separator: "\n").map { line in
            ["rollback", "validate", "evaluate", "simulate", "activate"].first { line.contains("  " + $0 + " ") } ?? "?"
        }
        #expect(order == ["activate", "activate", "validate", "validate", "evaluate", "simulate", "rollback"])

        // The records travel in a bundle, and verify checks them.
        #expect(try h.tick().status == 0)
        let export = try h.run("rgov", ["export", "--since", "2026-11-20T00:00:00Z", "--json"])
        let bundle = try #require(Self.text(export.json?["bundle"]))
        let manifest = try CanonicalJSON.decode(BundleManifest.self, from: try Sys.readFile(bundle + "/manifest.json"))
        #expect(manifest.artifacts.filter { $0.kind == "lifecycle_record" }.count == 4)
        #expect(try h.run("rgov", ["verify", bundle]).status == 0)
    }

    @Test func verifyRefusesAnEvaluationThatContradictsItself() throws {
        let h = try Self.state("staging")
        #expect(try h.run("rgov", ["evaluate", "minimal-solo-mode", "--by", "e2e", "--missions", "50"]).status == 0)
        let export = try h.run("rgov", ["export", "--since", "2026-11-20T00:00:00Z", "--json"])
        let bundle = try #require(Self.text(export.json?["bundle"]))
        // Rewritten with its hash updated in the manifest: the bytes agree, the record does not.
        let manifestPath = bundle + "/manifest.json"
        var manifest = try CanonicalJSON.decode(BundleManifest.self, from: try Sys.readFile(manifestPath))
        let index = try #require(manifest.artifacts.firstIndex { $0.kind == "lifecycle_record" })
        let path = bundle + "/" + manifest.artifacts[index].ref
        var record = try CanonicalJSON.decode(LifecycleRecord.self, from: try Sys.readFile(path))
        record.reasons = ["planted"]
        let data = try CanonicalJSON.encodeFile(record)
        try DurableFile.write(data, to: path)
        manifest.artifacts[index].sha256 = SHA256.hex(of: [UInt8](data))
        try DurableFile.write(try CanonicalJSON.encodeFile(manifest), to: manifestPath)
        let verify = try h.run("rgov", ["verify", bundle])
        #expect(verify.status == 65 && verify.stdout.contains("says passed but names reasons"), "\(verify.stdout)")
    }

    @Test(
        .enabled(
            if: Sys.kind("/usr/bin/setpriv") == .regular && Harness.canRunAsNobody,
            "needs root, setpriv, the nobody user and a temporary folder every user can enter"))
    func anActivationWaitingForApprovalIsGatedWhenAskedAndWhenApproved() throws {
        let h = try Harness(reachable: true)
        let made = try h.run(
            "rgov",
            ["init", "--environment", "production", "--profile", "standard-team-mode", "--by", "e2e", "--reason", "s"])
        #expect(made.status == 0, "\(made.stderr)")
        let before = try #require(Self.activeSHA(h))
        // strict-manager-mode asks for a second operator; without an evaluation it is not even asked for.
        let unasked = try activate(h, "strict-manager-mode")
        #expect(unasked.status == 78, "\(unasked.stderr)")
        let pending =
            Sys.isDirectory(h.layout.pendingActivations)
            ? try h.layout.artifactNames(in: h.layout.pendingActivations) : []
        #expect(pending.isEmpty, "a refused request leaves no pending activation")
        #expect(try h.run("rgov", ["evaluate", "strict-manager-mode", "--by", "e2e", "--missions", "200"]).status == 0)
        let requested = try activate(h, "strict-manager-mode", ["--json"])
        #expect(requested.status == 0, "\(requested.stderr)")
        let id = try #require(Self.text(requested.json?["activation_id"]))
        #expect(Self.activeSHA(h) == before)
        #expect(try Self.records(h).last?.result == .requested)
        chmod(h.dir, 0o755)
        _ = try ChildProcess.run(
            ChildSpec(executable: "/bin/chown", arguments: ["-R", "nobody:nogroup", h.state], deadline: 30))
        let approved = try ChildProcess.run(
            ChildSpec(
                executable: "/usr/bin/setpriv",
                arguments: ["--reuid=nobody", "--regid=nogroup", "--clear-groups", "--", h.binaries + "/rgov"]
                    + ["approve", "activation", id, "--by", "nobody", "--reason", "checked"]
                    + ["--state", h.state, "--now", Harness.now],
                environment: ["PATH": "/usr/bin:/bin"], deadline: 60))
        #expect(approved.status == 0, "\(approved.stderrText)")
        #expect(Self.activeSHA(h) == (try Self.sha(of: "strict-manager-mode")))
        let event = try #require(Self.events(h).last)
        #expect(event.approved_by == "nobody" && event.evaluation_environment == .production)
        #expect(event.evaluation_id == (try Self.records(h).first { $0.action == .evaluate })?.record_id)
    }
}
