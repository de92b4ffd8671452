import Foundation
import Testing

@testable import GovernanceCore

/// Overlapping runs, bad input in every folder a stage reads, crashes at every step, and
/// configuration the runtime cannot honour.
@Suite struct RobustnessTests {
    @Test(arguments: Stage.allCases)
    func anOverlappingRunOfTheSameStageExitsZeroAtOnce(stage: Stage) throws {
        let h = try Harness()
        try h.importExamples()
        var lock = try StageLock.acquire(h.layout.locks + "/\(stage.rawValue).lock", holder: "test holder")
        #expect(lock != nil)
        let run = try h.run("rgov-\(stage.rawValue)", ["--json"])
        #expect(run.status == 0)
        #expect(run.stderr.contains("another run holds") && run.stderr.contains("test holder"))
        #expect(run.json?["skipped"] == .string("lock_held"))
        #expect(try h.notices().isEmpty, "the stage did nothing while the lock was held")
        lock = nil
        #expect(try h.run("rgov-watchdog", []).status == 0)
        if stage == .watchdog { #expect(try h.notices().count == Harness.exampleNotices) }
    }

    @Test func badMissionSnapshotsAreQuarantinedAndTheRestFlows() throws {
        let h = try Harness()
        try h.importExamples()
        let m = h.layout.missions
        try DurableFile.write(Data("{not json".utf8), to: m + "/garbage.json")
        try DurableFile.write(
            Data(
                #"{"mission_id":"../../etc/passwd","mission_type":"oracle_advisory","status":"running","created_at":"2026-11-20T10:00:00Z"}"#
                    .utf8), to: m + "/evil.json")
        try DurableFile.write(
            Data(
                #"{"mission_id":"wrong-name","mission_type":"oracle_advisory","status":"running","created_at":"2026-11-20T10:00:00Z"}"#
                    .utf8), to: m + "/other.json")
        try DurableFile.write(
            Data(
                #"{"mission_id":"bad-time","mission_type":"oracle_advisory","status":"running","created_at":"yesterday"}"#
                    .utf8), to: m + "/bad-time.json")
        try DurableFile.write(
            Data(
                #"{"mission_id":"bad-type","mission_type":"horoscope","status":"running","created_at":"2026-11-20T10:00:00Z"}"#
                    .utf8), to: m + "/bad-type.json")
        try DurableFile.write(Data(repeating: 0x20, count: MissionStore.sizeLimit + 1), to: m + "/huge.json")
        try FileManager.default.createSymbolicLink(atPath: m + "/link.json", withDestinationPath: "/etc/hostname")
        try DurableFile.write(Data("half".utf8), to: m + "/.crm-x.json.123.0.tmp")
        let run = try h.run("rgov-watchdog", ["--profile", Harness.teamTrial, "--json"])
        #expect(run.status == 0, "bad input is not a failure of the stage: \(run.stderr)")
        #expect(run.json?["scanned"]?.int == Harness.exampleMissions)
        #expect(run.json?["quarantined"]?.array.count == 7)
        // Each quarantined snapshot is a contract problem someone must hear of, once.
        let malformed = try h.notices().filter { $0.rule_id == "contract/malformed-snapshot" }
        #expect(try h.notices().count == Harness.exampleNotices + 7)
        #expect(malformed.count == 7 && malformed.allSatisfy { $0.message.text.contains("rgov quarantine restore q-") })
        #expect(
            malformed.contains { $0.message.title.contains("huge.json") && $0.message.text.contains("larger than") })
        #expect(try h.run("rgov-watchdog", ["--profile", Harness.teamTrial]).status == 0)
        #expect(try h.notices().count == Harness.exampleNotices + 7, "told once, not on every run")
        let reasons = try h.quarantineReasons()
        #expect(
            Set(reasons.map(\.file_name)) == [
                "garbage.json", "evil.json", "other.json", "bad-time.json", "bad-type.json", "huge.json", "link.json",
            ])
        #expect(reasons.first { $0.file_name == "evil.json" }?.reason.contains("invalid mission_id") == true)
        #expect(reasons.first { $0.file_name == "other.json" }?.reason.contains("does not match file name") == true)
        #expect(reasons.first { $0.file_name == "link.json" }?.reason.contains("symbolic link") == true)
        #expect(reasons.first { $0.file_name == "bad-time.json" }?.reason.contains("created_at") == true)
        #expect(Sys.exists(h.layout.missions + "/.crm-x.json.123.0.tmp"), "temporary files are skipped, not touched")
        #expect(Sys.kind("/etc/hostname") == .regular, "the symlink target is untouched")
        for r in reasons {
            let entry = h.layout.quarantine + "/" + r.quarantine_id
            #expect(Sys.exists(entry + "/" + r.file_name), "nothing is deleted: \(r.file_name)")
        }
    }

    @Test(arguments: [DeliveryState.queued, .dispatched])
    func corruptNoticesAreQuarantinedAndTheRestFlows(folder: DeliveryState) throws {
        let h = try Harness()
        try h.importExamples()
        #expect(try h.run("rgov-watchdog", ["--profile", Harness.teamTrial]).status == 0)
        if folder == .dispatched {
            #expect(try h.run("rgov-dispatcher", ["--profile", Harness.teamTrial]).status == 0)
        }
        try DurableFile.write(Data("\u{0}\u{1}garbage".utf8), to: h.layout.notices(folder) + "/ntc-corrupt.json")
        let run = try h.tick(profile: Harness.teamTrial)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try h.notices().filter { $0.state == .acked }.count == Harness.exampleNotices)
        #expect(try h.quarantineReasons().map(\.file_name) == ["ntc-corrupt.json"])
    }

    /// A run killed while replacing its last-run record or episode index leaves a temporary; the
    /// next run removes it (its process is gone), and leaves a live process's alone.
    @Test func theWatchdogSweepsTheTemporariesOfItsReplacedRecords() throws {
        let h = try Harness()
        try h.importExamples()
        #expect(try h.tick().status == 0)
        var dead: Int32 = 4_000_000
        while Sys.processExists(dead) { dead -= 1 }
        let left = h.layout.watchdogRuns + "/.open-episodes.tsv.\(dead).v.tmp"
        let live = h.layout.watchdogRuns + "/.last-run.json.\(getppid()).v.tmp"
        try DurableFile.write(Data("torn".utf8), to: left)
        try DurableFile.write(Data("being written".utf8), to: live)
        #expect(try h.tick().status == 0)
        #expect(Sys.kind(left) == .missing, "its writer is gone")
        #expect(Sys.kind(live) == .regular, "its writer may still be writing")
    }

    @Test func aCorruptAttemptRecordIsQuarantined() throws {
        let h = try Harness()
        try h.importExamples()
        try h.layout.prepare()
        try DurableFile.write(Data("nope".utf8), to: h.layout.inflightAttempts + "/x.a1.json")
        let run = try h.tick(profile: Harness.teamTrial)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try h.notices().filter { $0.state == .acked }.count == Harness.exampleNotices)
        #expect(try h.quarantineReasons().map(\.reason) == ["unreadable attempt record"])
    }

    // MARK: crashes

    /// SIGKILL after the batch's intents are durable, before the sender runs: the next run cannot
    /// know whether anything was sent, so each item is outcome_unknown; the shim binding declares
    /// idempotency-key support, so a later run resends with the same keys and nothing is doubled.
    @Test func crashAfterIntentIsOutcomeUnknownThenAnIdempotentRetry() throws {
        let h = try Harness()
        try h.importExamples()
        #expect(try h.run("rgov-watchdog", ["--profile", Harness.teamTrial]).status == 0)
        #expect(try h.run("rgov-dispatcher", ["--profile", Harness.teamTrial]).status == 0)
        let crashed = try h.run(
            "rgov-bridge", ["--profile", Harness.teamTrial], env: ["RGOV_FAULT": "bridge.after_intent"])
        #expect(crashed.status == 128 + 9)
        #expect(try h.layout.artifactNames(in: h.layout.inflightAttempts).count == Harness.exampleNotices)
        #expect(h.outboxLines().isEmpty)
        let rerun = try h.run("rgov-bridge", ["--profile", Harness.teamTrial, "--json"])
        #expect(rerun.status == 0, "\(rerun.stderr)")
        #expect(rerun.json?["recovered"]?.array.count == Harness.exampleNotices)
        var notices = try h.notices()
        #expect(
            notices.allSatisfy {
                $0.state == .pending_external_send && $0.state_reason == "outcome_unknown" && $0.attempts == 1
            })
        #expect(notices.allSatisfy { $0.next_attempt_at != nil }, "an idempotent binding is retried")
        #expect(try h.layout.artifactNames(in: h.layout.inflightAttempts).isEmpty)
        #expect(
            try h.run("rgov-bridge", ["--profile", Harness.teamTrial, "--now", "2026-11-20T12:02:00Z"]).status == 0)
        notices = try h.notices()
        #expect(notices.allSatisfy { $0.state == .acked && $0.attempts == 2 })
        #expect(h.outboxLines().count == Harness.exampleNotices)
    }

    /// SIGKILL at every later step: reruns converge to one delivery per notice, one receipt per
    /// attempt, nothing left in flight.
    @Test(
        arguments: [
            "bridge.after_send", "bridge.after_batch_result", "bridge.after_receipt", "notice.between_rewrite_and_move",
            "durable.before_rename", "sender.after_item",
        ])
    func crashAfterTheSendConvergesWithoutASecondDelivery(fault: String) throws {
        let h = try Harness()
        try h.importExamples()
        #expect(try h.run("rgov-watchdog", ["--profile", Harness.teamTrial]).status == 0)
        #expect(try h.run("rgov-dispatcher", ["--profile", Harness.teamTrial]).status == 0)
        let crashed = try h.run("rgov-bridge", ["--profile", Harness.teamTrial], env: ["RGOV_FAULT": fault])
        if fault == "sender.after_item" {
            #expect(crashed.status == 0, "the sender died, not the bridge: \(crashed.stderr)")
            let notices = try h.notices()
            #expect(notices.filter { $0.state == .acked }.count == 1, "the one result printed before the sender died")
            #expect(notices.filter { $0.state_reason == "outcome_unknown" }.count == Harness.exampleNotices - 1)
            let receipts = try h.receipts()
            #expect(
                receipts.count == Harness.exampleNotices,
                "every item: its result or outcome_unknown, never both, never neither")
            #expect(Set(receipts.map(\.notice_id)).count == Harness.exampleNotices)
        } else {
            #expect(crashed.status == 128 + 9)
        }
        for now in ["2026-11-20T12:00:00Z", "2026-11-20T12:02:00Z", "2026-11-20T12:04:00Z"] {
            #expect(try h.run("rgov-bridge", ["--profile", Harness.teamTrial, "--now", now]).status == 0)
        }
        let notices = try h.notices()
        #expect(notices.count == Harness.exampleNotices, "no notice lost or duplicated")
        #expect(notices.allSatisfy { $0.state == .acked }, "\(notices.map { "\($0.state) \($0.state_reason)" })")
        let delivered = h.outboxLines().compactMap { try? CanonicalJSON.decode(JSONValue.self, from: Data($0.utf8)) }
        #expect(delivered.count == Harness.exampleNotices, "each notice delivered exactly once")
        #expect(Set(delivered.compactMap { $0["idempotency_key"]?.stringValue }).count == Harness.exampleNotices)
        #expect(try h.receipts().count == notices.reduce(0) { $0 + $1.attempts }, "one receipt per attempt")
        #expect(try h.layout.artifactNames(in: h.layout.inflightAttempts).isEmpty)
        let leftovers = try h.snapshot().keys.filter { ($0 as NSString).lastPathComponent.hasPrefix(".") }
        #expect(leftovers.isEmpty || fault == "durable.before_rename", "\(leftovers)")
    }

    /// Found by the soak: a shim killed after its batch's lines were durable but before their
    /// key markers; the resend with the same keys must not append them again.
    @Test func aShimKilledBetweenItsLinesAndItsMarkersSendsNothingTwice() throws {
        let h = try Harness()
        try h.importExamples()
        #expect(try h.run("rgov-watchdog", ["--profile", Harness.teamTrial]).status == 0)
        #expect(try h.run("rgov-dispatcher", ["--profile", Harness.teamTrial]).status == 0)
        let crashed = try h.run(
            "rgov-bridge", ["--profile", Harness.teamTrial], env: ["RGOV_FAULT": "sender.after_shim_lines"])
        #expect(crashed.status == 0, "the sender died, not the bridge: \(crashed.stderr)")
        #expect(h.outboxLines().count == Harness.exampleNotices)
        #expect(try h.notices().allSatisfy { $0.state_reason == "outcome_unknown" && $0.next_attempt_at != nil })
        for now in ["2026-11-20T12:02:00Z", "2026-11-20T12:04:00Z"] {
            #expect(try h.run("rgov-bridge", ["--profile", Harness.teamTrial, "--now", now]).status == 0)
        }
        #expect(try h.notices().allSatisfy { $0.state == .acked })
        let keys = h.outboxLines().compactMap {
            try? CanonicalJSON.decode(JSONValue.self, from: Data($0.utf8))["idempotency_key"]?.stringValue
        }
        #expect(keys.count == Harness.exampleNotices && Set(keys).count == keys.count, "each key once: \(keys)")
        #expect(try h.run("rgov", ["check-state"]).status == 0)
    }

    /// Found by the soak: the shim killed while writing its pending record left a temporary that
    /// nothing swept; the sender's temporaries are registered like a stage's.
    @Test func aSenderKilledMidWriteLeavesNoTemporaryAfterRecovery() throws {
        let h = try Harness()
        try h.importExamples()
        #expect(try h.run("rgov-watchdog", ["--profile", Harness.teamTrial]).status == 0)
        #expect(try h.run("rgov-dispatcher", ["--profile", Harness.teamTrial]).status == 0)
        _ = try h.run("rgov-bridge", ["--profile", Harness.teamTrial], env: ["RGOV_FAULT": "durable.before_rename"])
        let left = try h.snapshot().keys.filter { $0.hasPrefix("outbox/.shim-pending.json.") }
        #expect(!left.isEmpty, "the sender died holding its temporary")
        for now in ["2026-11-20T12:00:00Z", "2026-11-20T12:02:00Z", "2026-11-20T12:04:00Z"] {
            #expect(try h.run("rgov-bridge", ["--profile", Harness.teamTrial, "--now", now]).status == 0)
        }
        let check = try h.run("rgov", ["check-state"])
        #expect(check.status == 0, "\(check.stdout)")
        #expect(try h.notices().allSatisfy { $0.state == .acked })
    }

    @Test(arguments: [("rgov-watchdog", "watchdog.after_notice"), ("rgov-dispatcher", "dispatcher.after_spool")])
    func crashInWatchdogOrDispatcherLosesAndDuplicatesNothing(stage: String, fault: String) throws {
        let h = try Harness()
        try h.importExamples()
        if stage == "rgov-dispatcher" {
            #expect(try h.run("rgov-watchdog", ["--profile", Harness.teamTrial]).status == 0)
        }
        #expect(try h.run(stage, ["--profile", Harness.teamTrial], env: ["RGOV_FAULT": fault]).status == 128 + 9)
        #expect(try h.tick(profile: Harness.teamTrial).status == 0)
        #expect(try h.tick(profile: Harness.teamTrial).status == 0)
        let notices = try h.notices()
        #expect(notices.count == Harness.exampleNotices && notices.allSatisfy { $0.state == .acked })
        #expect(h.outboxLines().count == Harness.exampleNotices)
        // Every notice ended (acked): each handoff moved into its day folder, once.
        #expect(try h.layout.files(in: h.layout.spool).isEmpty)
        #expect(try h.layout.datedFiles(in: h.layout.spool).count == Harness.exampleNotices)
        #expect(try h.run("rgov", ["check-state"]).status == 0, "every invariant holds after recovery")
    }

    /// A watchdog killed once its records were durable but before the episodes that mark them
    /// handled, then the dispatcher and the bridge run on their own: its notices are acked, in
    /// their day folders, when the watchdog runs again, and it finds each one there instead of
    /// creating it anew (its decision records exist, so the finished notices are searched).
    @Test func aWatchdogRerunFindsItsNoticesAlreadyFinished() throws {
        let h = try Harness()
        try h.importExamples()
        let crashed = try h.run(
            "rgov-watchdog", ["--profile", Harness.teamTrial], env: ["RGOV_FAULT": "commit.after_records"])
        #expect(crashed.status == 128 + 9, "\(crashed.stderr)")
        #expect(try h.run("rgov-dispatcher", ["--profile", Harness.teamTrial]).status == 0)
        #expect(try h.run("rgov-bridge", ["--profile", Harness.teamTrial]).status == 0)
        #expect(try h.notices().allSatisfy { $0.state == .acked })
        #expect(try h.run("rgov-watchdog", ["--profile", Harness.teamTrial]).status == 0)
        let notices = try h.notices()
        #expect(notices.count == Harness.exampleNotices && notices.allSatisfy { $0.state == .acked })
        #expect(Set(notices.map(\.notice_id)).count == notices.count, "no notice id twice")
        #expect(h.outboxLines().count == Harness.exampleNotices)
    }

    /// SIGKILL inside a group commit, after its temporaries and after each phase, in each stage:
    /// the reruns sweep what was left, lose nothing, send nothing twice, and every mission chain
    /// links each record once.
    @Test(
        arguments: [
            ("rgov-watchdog", ["temporaries", "records", "markers", "links"]),
            ("rgov-dispatcher", ["temporaries", "records", "states", "moves", "links"]),
            ("rgov-bridge", ["temporaries", "records", "states", "moves", "links"]),
        ])
    func crashInsideAGroupCommitConverges(stage: String, phases: [String]) throws {
        for phase in phases {
            let h = try Harness()
            try h.importExamples()
            for before in ["rgov-watchdog", "rgov-dispatcher"].prefix(while: { $0 != stage }) {
                #expect(try h.run(before, ["--profile", Harness.teamTrial]).status == 0)
            }
            let crashed = try h.run(
                stage, ["--profile", Harness.teamTrial], env: ["RGOV_FAULT": "commit.after_" + phase])
            #expect(crashed.status == 128 + 9, "\(stage) at commit.after_\(phase): \(crashed.stderr)")
            // An interrupted send is retried (the shim honours idempotency keys) once its backoff is due.
            #expect(try h.tick(profile: Harness.teamTrial).status == 0)
            for now in ["2026-11-20T12:02:00Z", "2026-11-20T12:04:00Z"] {
                #expect(try h.run("rgov-bridge", ["--profile", Harness.teamTrial, "--now", now]).status == 0)
            }
            let notices = try h.notices()
            #expect(notices.count == Harness.exampleNotices && notices.allSatisfy { $0.state == .acked }, "\(phase)")
            #expect(Set(h.outboxLines()).count == Harness.exampleNotices, "\(stage) \(phase): each sent once")
            let leftovers = try h.snapshot().keys.filter {
                ($0 as NSString).lastPathComponent.hasPrefix(".") && $0.hasSuffix(".tmp")
            }
            #expect(leftovers.isEmpty, "\(stage) \(phase): temporaries swept: \(leftovers)")
            let check = try h.run("rgov", ["check-state"])
            #expect(check.status == 0, "\(stage) \(phase): \(check.stdout)")
            for name in try Sys.listDirectory(h.layout.chains) {
                let mission = String(name.dropLast(".jsonl".count))
                let checked = MissionChain.check(
                    try Sys.readFile(h.layout.chain(mission)), mission: mission, label: name)
                #expect(checked.problems.isEmpty, "\(checked.problems)")
                let keys = checked.links.map { $0.kind.rawValue + "/" + $0.id }
                #expect(Set(keys).count == keys.count, "\(stage) \(phase): each record linked once")
            }
        }
    }

    // MARK: configuration and usage

    @Test func aRequiredCapabilityTheRuntimeLacksFailsClosed() throws {
        let h = try Harness()
        try h.importExamples()
        for executable in ["rgov-watchdog", "rgov-bridge"] {
            let run = try h.run(executable, ["--profile", Harness.strictTrial, "--capabilities", "ci-queue-only"])
            #expect(run.status == 78)
            #expect(run.stderr.contains("requires bridge, ack_receipts"))
            #expect(run.stderr.contains("ci-queue-only@1.0.0"))
        }
        let tick = try h.run("rgov", ["tick", "--profile", Harness.strictTrial, "--capabilities", "ci-queue-only"])
        #expect(tick.status == 78)
        #expect(try h.notices().isEmpty, "nothing acted")
    }

    @Test func badConfigurationIsRefusedWithFileAndLine() throws {
        let h = try Harness()
        let typo = try h.profile(named: "typo", replacing: [("    dispatcher:\n", "    dispatchr:\n")])
        let run = try h.run("rgov-watchdog", ["--profile", typo])
        #expect(run.status == 78)
        #expect(run.stderr.contains("typo.yaml:") && run.stderr.contains("did you mean \"dispatcher\""))
        let missing = try h.run("rgov-watchdog", ["--profile", "no-such-profile"])
        #expect(
            missing.status == 78
                && missing.stderr.contains("shipped: minimal-solo-mode, standard-team-mode, strict-manager-mode"))
        let unbuilt = try h.profile(named: "webhook", replacing: [("mode: shim", "mode: webhook")])
        let refused = try h.run("rgov-bridge", ["--profile", unbuilt])
        #expect(refused.status == 78 && refused.stderr.contains("sender mode webhook needs binding.url"))
    }

    @Test func usageErrorsAndHelp() throws {
        let h = try Harness()
        #expect(try h.run("rgov-watchdog", ["--stat", "x"], pinned: false).status == 64)
        #expect(try h.run("rgov-watchdog", ["--stat", "x"], pinned: false).stderr.contains("did you mean --state?"))
        #expect(try h.run("rgov-watchdog", ["--now", "yesterday"], pinned: false).status == 64)
        #expect(try h.run("rgov", ["frobnicate"], pinned: false).status == 64)
        #expect(try h.run("rgov-sender", ["--mode", "pigeon"], pinned: false).status == 64)
        for executable in ["rgov", "rgov-watchdog", "rgov-dispatcher", "rgov-bridge", "rgov-sender"] {
            let help = try h.run(executable, ["--help"], pinned: false)
            #expect(help.status == 0 && help.stdout.contains("usage: \(executable)"))
            let version = try h.run(executable, ["--version"], pinned: false)
            // The version and the commit it was built from (here the source tree's).
            #expect(version.status == 0 && version.stdout.hasPrefix("\(executable) \(PackageInfo.version) ("))
            #expect(version.stdout.contains("commit "), "\(version.stdout)")
        }
    }

    @Test func theStateDirectoryComesFromTheEnvironmentWhenNotGiven() throws {
        let h = try Harness()
        try h.importExamples()
        var environment = ProcessInfo.processInfo.environment
        environment["RGOV_STATE_DIR"] = h.state
        environment["RGOV_PROFILE"] = Harness.teamTrial
        let result = try ChildProcess.run(
            ChildSpec(
                executable: Harness.bin + "/rgov", arguments: ["tick", "--now", Harness.now], environment: environment,
                deadline: 60))
        #expect(result.status == 0, "\(result.stderrText)")
        #expect(
            try h.notices().filter { $0.state == .acked && $0.profile == "standard-team-trial@1.0.0" }.count
                == Harness.exampleNotices)
    }

    @Test func statusCountsNoticesByState() throws {
        let h = try Harness()
        try h.importExamples()
        #expect(try h.tick(profile: "minimal-solo-mode").status == 0)
        let status = try h.run("rgov", ["status", "--json"], pinned: false)
        #expect(status.status == 0)
        #expect(status.json?["notices_by_state"]?["pending_external_send"]?.int == Harness.exampleNotices)
        #expect(status.json?["notices_by_state"]?["acked"]?.int == 0)
        #expect(status.json?["open_episodes"]?.int == Harness.exampleNotices)
        #expect(status.json?["last_watchdog_run"]?["scanned"]?.int == Harness.exampleMissions)
        let text = try h.run("rgov", ["status"], pinned: false)
        #expect(text.stdout.contains("pending_external_send") && text.stdout.contains("2"))
        #expect(try h.run("rgov", ["status", "--state", h.dir + "/nowhere"], pinned: false).status == 66)
    }
}
