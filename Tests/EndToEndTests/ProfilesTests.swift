import Foundation
import Testing

@testable import GovernanceCore

/// Deployment profiles and capabilities: strict validation before anything acts, honest
/// degradation, the three stances, previews, the manifest, snapshots and the lifecycle.
@Suite struct ProfilesTests {
    // MARK: refusals, each with its exit code and message

    @Test func aRelaxationOutsideThePacksRangeIsRefused() throws {
        let h = try Harness()
        try h.importExamples()
        let loose = try h.profile(
            named: "loose", replacing: [("        grace_ms: 120000               # 2 min", "        grace_ms: 1800000")]
        )
        let run = try h.run("rgov-watchdog", ["--profile", loose])
        #expect(run.status == 78)
        #expect(run.stderr.contains("loose.yaml:"))
        #expect(
            run.stderr.contains(
                "spec.policies.thresholds.checkpoint-cadence/missed-checkpoint.grace_ms: 1800000 relaxes beyond"))
        #expect(run.stderr.contains("pack checkpoint-cadence@1.0.0") && run.stderr.contains("0...900000"))
        #expect(try h.notices().isEmpty)
    }

    @Test func aStateDirectoryThatCannotBeCreatedIsRefused() throws {
        let h = try Harness()
        try Data().write(to: URL(fileURLWithPath: h.dir + "/a-file"))
        let run = try h.run("rgov-watchdog", ["--state", h.dir + "/a-file/state"])
        #expect(run.status == 66 && run.stderr.contains("rgov init --state \(h.dir)/a-file/state"), "\(run.stderr)")
        let made = try h.run("rgov", ["init", "--state", h.dir + "/a-file/state"])
        #expect(made.status == 73, "\(made.stderr)")
        #expect(made.stderr.contains("\(h.dir)/a-file/state"), "\(made.stderr)")
    }

    @Test func aSenderModeTheRuntimeCannotDoIsRefused() throws {
        let h = try Harness()
        let profile = try h.profile(named: "shim-ci", replacing: [("required: [queue, bridge]", "required: [queue]")])
        let run = try h.run("rgov", ["tick", "--profile", profile, "--capabilities", "ci-queue-only"])
        #expect(run.status == 78)
        #expect(
            run.stderr.contains("sends with shim, which needs direct_send; runtime ci-queue-only@1.0.0 cannot send"))
    }

    @Test func bindingKeysAreCheckedPerMode() throws {
        let h = try Harness()
        let wrong = try h.profile(
            named: "wrong-binding",
            replacing: [("      mode: shim", "      mode: shim\n      binding:\n        url: http://x")])
        let run = try h.run("rgov-watchdog", ["--profile", wrong])
        #expect(run.status == 78 && run.stderr.contains("unknown key \"url\" in spec.adapters.sender.binding"))
        let env = try h.run(
            "rgov-watchdog", ["--profile", Harness.teamTrial], env: ["RGOV_BINDING_URL": "http://x"])
        #expect(
            env.status == 78 && env.stderr.contains("RGOV_BINDING_URL: sender mode shim has no binding key \"url\""))
    }

    // MARK: the safe-fallback table

    @Test func noInlineBlockMeansTheWatchdogDowngradesInstead() throws {
        let h = try Harness()
        let args = ["--profile", "standard-team-mode", "--capabilities", "openclaw-basic"]
        #expect(
            try h.run("rgov", ["report", "--mission", "m-f1", "--kind", "started", "--type", "oracle_advisory"] + args)
                .status == 0)
        #expect(
            try h.run("rgov", ["report", "--mission", "m-f1", "--kind", "completion"] + args).status == 0,
            "not refused inline")
        let run = try h.run("rgov-watchdog", args + ["--json"])
        #expect(run.status == 0)
        let notice = try #require(try h.notices().first)
        #expect(notice.rule_id == "completion-evidence/unverified-completion")
        let decision = try CanonicalJSON.decode(
            DecisionRecord.self,
            from: try Sys.readFile(h.layout.decisions + "/2026-11-20/" + notice.decision_id + ".json"))
        #expect(decision.outcome == .downgrade_status)
        let artifact = try CanonicalJSON.decode(
            WatchdogRun.self, from: try Sys.readFile(run.json!["run_artifact"]!.stringValue!))
        #expect(artifact.capability_gaps.contains("inline_block") && artifact.capability_gaps.contains("scheduler"))
    }

    @Test func noSchedulerIsNotedOnEveryTick() throws {
        let h = try Harness()
        try h.importExamples()
        let run = try h.run("rgov", ["tick", "--profile", "standard-team-mode", "--capabilities", "openclaw-basic"])
        #expect(run.status == 0)
        #expect(run.stdout.contains("capability gap scheduler: no scheduler: run `rgov tick` by hand or from cron"))
    }

    @Test func noEscalationChannelBecomesAForcedCheckpointForTheOperator() throws {
        let h = try Harness()
        let profile = try h.profile(
            named: "no-channel",
            replacing: [
                ("mode: shim", "mode: dry-run"), ("required: [queue, bridge]", "required: [queue]"),
                WatchdogTests.longStages,
            ])
        try WatchdogTests().writeMission(h, lastCheckpoint: WatchdogTests.at(minutes: -20))
        for minutes in [0, 61] {
            let run = try h.run(
                "rgov",
                [
                    "tick", "--profile", profile, "--capabilities", "ci-queue-only", "--now",
                    WatchdogTests.at(minutes: minutes),
                ])
            #expect(run.status == 0, "\(run.stderr)")
        }
        let escalation = try #require(try h.notices().first { $0.notice_kind == .escalation })
        #expect(escalation.target == "team-ops", "the operator, not the unreachable escalation target")
        #expect(escalation.state_reason.contains("escalation") || escalation.state == .pending_external_send)
        let decision = try CanonicalJSON.decode(
            DecisionRecord.self,
            from: try Sys.readFile(h.layout.decisions + "/2026-11-20/" + escalation.decision_id + ".json"))
        #expect(decision.outcome == .force_checkpoint && decision.reason.contains("no escalation channel"))
    }

    // MARK: stances

    @Test func strictEscalatesSoonerThanStandard() throws {
        var escalated: [String: Bool] = [:]
        for base in ["standard-team-trial", "strict-manager-trial"] {
            let h = try Harness()
            let profile = try h.profile(
                from: base, named: base + "-dry",
                replacing: [("mode: shim", "mode: dry-run")]
                    + (base == "standard-team-trial"
                        ? [WatchdogTests.longStages]
                        : [
                            (
                                "        required_strength: every_output",
                                "        required_strength: every_output\n      stuck-state/stage-timeout:\n        stage_timeout_ms: 86400000"
                            )
                        ]))
            try WatchdogTests().writeMission(h, lastCheckpoint: WatchdogTests.at(minutes: -20))
            for minutes in [0, 16] {
                #expect(
                    try h.run("rgov", ["tick", "--profile", profile, "--now", WatchdogTests.at(minutes: minutes)])
                        .status == 0)
            }
            escalated[base] = try h.notices().contains { $0.notice_kind == .escalation }
        }
        #expect(escalated == ["standard-team-trial": false, "strict-manager-trial": true])
    }

    // MARK: previews, explain, manifest

    @Test func diffProfilesPreviewsASwitchWithoutTouchingState() throws {
        let h = try Harness()
        try h.importExamples()
        let before = try h.snapshot()
        let run = try h.run("rgov", ["diff-profiles", "standard-team-mode", "strict-manager-mode", "--json"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try h.snapshot() == before, "a preview writes nothing")
        let missions = run.json?["missions"]?.array ?? []
        let completed = missions.first { $0["mission_id"] == .string("oracle-completed-04") }
        #expect(
            completed?["only_b"]?.array.first?.stringValue?.hasPrefix(
                "completion-evidence/unverified-completion (critical, downgrade_status)") == true)
        let failed = missions.first { $0["mission_id"] == .string("crm-failed-07") }
        #expect(failed?["changed"]?.array == [.string("mission-failure/failed: warning, notify -> critical, notify")])
        #expect(missions.count == 2)
        let settings = run.json?["settings"]?.array ?? []
        #expect(
            settings.contains {
                $0["path"] == .string("notifications.escalation.window_ms") && $0["a"] == .string("3600000")
                    && $0["b"] == .string("900000")
            })
        let text = try h.run("rgov", ["diff-profiles", "standard-team-mode", "strict-manager-mode"])
        #expect(text.stdout.contains("8 missions, 2 judged differently"))
        #expect(try h.notices().isEmpty)
    }

    @Test func explainShowsEachLayerAndRedactsSecrets() throws {
        let h = try Harness()
        try h.layout.prepare()
        try "sender:\n  binding:\n    target: \"#ops-file\"\n    token: file-secret-value\n".write(
            toFile: h.state + "/bindings.local.yaml", atomically: true, encoding: .utf8)
        let run = try h.run(
            "rgov", ["validate", "--profile", "standard-team-mode", "--explain", "--json"],
            env: ["RGOV_BINDING_TARGET": "#ops-env", "RGOV_ESCALATION_TARGET": "oncall-lead"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(!run.stdout.contains("file-secret-value"))
        let settings = run.json?["settings"]?.array ?? []
        func entry(_ path: String) -> JSONValue? { settings.first { $0["path"] == .string(path) } }
        #expect(
            entry("adapters.sender.binding.target")?["value"] == .string("#ops-env"),
            "the environment wins over the file")
        #expect(entry("adapters.sender.binding.target")?["layer"] == .string("local"))
        #expect(entry("adapters.sender.binding.token")?["value"] == .string("[redacted]"))
        #expect(entry("notifications.escalation.target")?["value"] == .string("oncall-lead"))
        #expect(entry("adapters.sender.mode")?["layer"] == .string("profile"))
        #expect(entry("adapters.sender.enabled")?["layer"] == .string("package"))
        let parameters = run.json?["parameters"]?.array ?? []
        #expect(
            parameters.contains {
                $0["path"] == .string("policies.checkpoint-cadence/missed-checkpoint.grace_ms")
                    && $0["layer"] == .string("profile")
            })
        #expect(
            parameters.contains {
                $0["path"] == .string("policies.anti-blackhole/silent-task.acceptance_sla_ms")
                    && $0["layer"] == .string("pack")
            })
        // A tick with the secret in force writes it nowhere.
        try h.importExamples()
        #expect(
            try h.run(
                "rgov", ["tick", "--profile", "standard-team-mode"], env: ["RGOV_BINDING_TOKEN": "env-secret-value"]
            ).status == 0)
        for (path, bytes) in try h.snapshot(excluding: []) where path != "bindings.local.yaml" {
            let text = String(decoding: bytes, as: UTF8.self)
            #expect(!text.contains("env-secret-value") && !text.contains("file-secret-value"), "\(path)")
        }
    }

    @Test func thePackageManifestMatchesAndCatchesTampering() throws {
        let h = try Harness()
        #expect(try h.run("rgov", ["validate", "--package"], pinned: false).status == 0)
        let copy = h.dir + "/pkg"
        for folder in ["schemas", "policy-packs", "profiles", "capabilities"] {
            try FileManager.default.copyItem(atPath: Harness.repoRoot + "/" + folder, toPath: copy + "/" + folder)
        }
        try FileManager.default.copyItem(
            atPath: Harness.repoRoot + "/package-manifest.json", toPath: copy + "/package-manifest.json")
        #expect(try h.run("rgov", ["validate", "--package"], env: ["RGOV_HOME": copy], pinned: false).status == 0)
        try (try String(contentsOfFile: copy + "/policy-packs/budget.yaml", encoding: .utf8) + "# edited\n")
            .write(toFile: copy + "/policy-packs/budget.yaml", atomically: true, encoding: .utf8)
        try FileManager.default.removeItem(atPath: copy + "/capabilities/ci-queue-only.json")
        let run = try h.run("rgov", ["validate", "--package"], env: ["RGOV_HOME": copy], pinned: false)
        #expect(run.status == 65)
        #expect(run.stdout.contains("MISMATCH policy-packs/budget.yaml: sha256"))
        #expect(run.stdout.contains("MISMATCH capabilities/ci-queue-only.json: listed but missing"))
    }

    @Test func shippedProfilesValidateAgainstTheProfileSchema() throws {
        for profile in ["minimal-solo-mode", "standard-team-mode", "strict-manager-mode"] {
            let script =
                "import json,sys,yaml,jsonschema; jsonschema.validate(yaml.safe_load(open(sys.argv[1])), json.load(open(sys.argv[2])))"
            let result = try ChildProcess.run(
                ChildSpec(
                    executable: "/usr/bin/env",
                    arguments: [
                        "python3", "-c", script, Harness.repoRoot + "/profiles/\(profile).yaml",
                        Harness.repoRoot + "/schemas/profile.schema.json",
                    ],
                    deadline: 30))
            #expect(result.status == 0, "\(profile): \(result.stderrText)")
        }
    }

    // MARK: snapshots and lifecycle

    @Test func everyRunStoresTheProfileInForceOncePerHash() throws {
        let h = try Harness()
        try h.importExamples()
        #expect(try h.tick(profile: "standard-team-mode").status == 0)
        #expect(try h.tick(profile: "standard-team-mode").status == 0)
        let bytes = try Sys.readFile(Harness.repoRoot + "/profiles/standard-team-mode.yaml")
        let sha = SHA256.hex(of: [UInt8](bytes))
        #expect(try Sys.listDirectory(h.layout.profileSnapshots) == [sha + ".yaml"])
        #expect(try Sys.readFile(h.layout.profileSnapshots + "/" + sha + ".yaml") == bytes)
    }

    @Test(
        .enabled(
            if: Sys.kind("/usr/bin/setpriv") == .regular && Harness.canRunAsNobody,
            "needs root, setpriv, the nobody user and a temporary folder every user can enter"))
    func activateRollbackAndHistory() throws {
        let h = try Harness(reachable: true)
        try h.importExamples()
        let missing = try h.run("rgov", ["activate", "standard-team-mode"])
        #expect(missing.status == 64 && missing.stderr.contains("--by NAME is required"))
        let bad = try h.profile(named: "bad", replacing: [("    queue:\n", "    queu:\n")])
        #expect(try h.run("rgov", ["activate", bad, "--by", "alice", "--reason", "try"]).status == 78)
        #expect(try h.run("rgov", ["history"]).stdout.contains("no profile activations"))

        #expect(
            try h.run("rgov", ["activate", "standard-team-mode", "--by", "alice", "--reason", "team launch"]).status
                == 0)
        #expect(try h.run("rgov", ["tick"]).status == 0)
        #expect(
            try h.notices().allSatisfy { $0.profile == "standard-team-mode@1.0.0" }, "stages use the active profile")
        // strict-manager-mode requires a second operator: the activation waits, nothing changes.
        let requested = try h.run(
            "rgov", ["activate", "strict-manager-mode", "--by", "root", "--reason", "audit week", "--json"])
        #expect(requested.status == 0, "\(requested.stderr)")
        let pendingID = try #require(
            requested.json?["activation_id"].flatMap { v -> String? in
                if case .string(let s) = v { s } else { nil }
            })
        #expect(try h.run("rgov", ["validate", "--json"]).json?["profile"] == .string("standard-team-mode@1.0.0"))
        let self_ = try h.run("rgov", ["approve", "activation", pendingID, "--by", "root", "--reason", "me"])
        #expect(self_.status == 77 && self_.stderr.contains("a different operator must approve it"))
        // A different operating-system user approves (root ignores modes; nobody needs the state).
        chmod(h.dir, 0o755)
        _ = try ChildProcess.run(
            ChildSpec(executable: "/bin/chown", arguments: ["-R", "nobody:nogroup", h.state], deadline: 30))
        func asNobody(_ arguments: [String]) throws -> ChildResult {
            try ChildProcess.run(
                ChildSpec(
                    executable: "/usr/bin/setpriv",
                    arguments: ["--reuid=nobody", "--regid=nogroup", "--clear-groups", "--", h.binaries + "/rgov"]
                        + arguments + ["--state", h.state, "--now", Harness.now],
                    environment: ["PATH": "/usr/bin:/bin"], deadline: 60))
        }
        let approved = try asNobody(["approve", "activation", pendingID, "--by", "nobody", "--reason", "checked"])
        #expect(approved.status == 0, "\(approved.stderrText)")
        let validate = try h.run("rgov", ["validate", "--json"])
        #expect(validate.json?["profile"] == .string("strict-manager-mode@1.0.0"))
        // Rolling back from a profile that requires approval is gated the same way.
        let rollback = try h.run("rgov", ["rollback", "--by", "root", "--reason", "too noisy", "--json"])
        let rollbackID = try #require(
            rollback.json?["activation_id"].flatMap { v -> String? in
                if case .string(let s) = v { s } else { nil }
            })
        _ = try ChildProcess.run(
            ChildSpec(executable: "/bin/chown", arguments: ["-R", "nobody:nogroup", h.state], deadline: 30))
        #expect(
            try asNobody(["approve", "activation", rollbackID, "--by", "nobody", "--reason", "agreed"]).status == 0)
        #expect(try h.run("rgov", ["validate", "--json"]).json?["profile"] == .string("standard-team-mode@1.0.0"))
        let history = try h.run("rgov", ["history", "--json"])
        let events = history.stdout.split(separator: "\n").compactMap {
            try? CanonicalJSON.decode(ProfileLifecycleEvent.self, from: Data($0.utf8))
        }
        #expect(events.map(\.action) == [.activate, .activate, .rollback])
        #expect(events.map(\.by) == ["alice", "root", "root"])
        #expect(
            events[1].approved_by == "nobody" && events[1].approved_os_user == "nobody" && events[1].os_user == "root")
        #expect(events[2].reason == "too noisy" && events[2].snapshot_sha256 == events[0].snapshot_sha256)
        #expect(events[2].previous_sha256 == events[1].snapshot_sha256)
        #expect(events.allSatisfy { !$0.os_user.isEmpty })
        // The activation history, with both identities, travels in every export.
        #expect(try h.tick().status == 0)
        let export = try h.run("rgov", ["export", "--since", "2026-11-20T00:00:00Z", "--json"])
        let bundle = try #require(
            export.json?["bundle"].flatMap { v -> String? in if case .string(let s) = v { s } else { nil } })
        let manifest = try CanonicalJSON.decode(BundleManifest.self, from: try Sys.readFile(bundle + "/manifest.json"))
        #expect(manifest.artifacts.filter { $0.kind == "profile_history" }.count == 3)
        #expect(manifest.artifacts.contains { $0.kind == "active_profile" })
        #expect(try h.run("rgov", ["history"]).stdout.contains("* 2026-11-20T12:00:00.000Z  rollback"))
    }

    @Test func quietBehaviourKeepsLowSeverityNoticesPrepared() throws {
        let h = try Harness()
        try h.importExamples()
        let quiet = try h.profile(
            named: "quiet",
            replacing: [
                ("    notify_resolved: true\n", "    notify_resolved: true\n    quiet:\n      min_severity: critical\n")
            ])
        #expect(try h.tick(profile: quiet).status == 0)
        let notices = try h.notices()
        #expect(notices.count == Harness.exampleNotices)
        for notice in notices {
            if notice.severity == .critical {
                #expect(notice.state != .prepared)
            } else {
                #expect(notice.state == .prepared && notice.state_reason == "below_min_severity")
            }
        }
        #expect(notices.contains { $0.state == .prepared } && notices.contains { $0.state != .prepared })
    }
}

extension JSONValue {
    var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }
}
