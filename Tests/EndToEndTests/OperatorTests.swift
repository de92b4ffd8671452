import Foundation
import Testing

@testable import GovernanceCore

/// The operator verbs and the portable audit bundle, through the real `rgov`.
@Suite struct OperatorTests {
    static func at(_ minutes: Int) -> String {
        Timestamp.format(Harness.t0.addingTimeInterval(Double(minutes) * 60))
    }

    func rgov(_ h: Harness, _ args: [String], at minutes: Int = 30, env: [String: String] = [:]) throws -> Harness.Run {
        try h.run("rgov", args + ["--now", Self.at(minutes)], env: env)
    }

    func noticeID(_ h: Harness, mission: String) throws -> String {
        try #require(try h.notices().first { $0.mission_id == mission && $0.notice_kind == .finding }).notice_id
    }

    func actions(_ h: Harness) throws -> [OperatorAction] {
        try h.layout.dayPartitions(in: h.layout.operatorActions).flatMap { day in
            try h.layout.artifactNames(in: h.layout.operatorActions + "/" + day).map {
                try CanonicalJSON.decode(
                    OperatorAction.self, from: try Sys.readFile(h.layout.operatorActions + "/" + day + "/" + $0))
            }
        }
    }

    // MARK: the sales test: a day of ticks, one mission exported, verified elsewhere, tampering caught

    @Test func aDayOfTicksExportedVerifiedAndTamperingCaught() throws {
        let h = try Harness()
        #expect(try h.run("rgov", ["simulate", "--missions", "60", "--seed", "5"]).status == 0)
        for hour in 0..<24 {
            let run = try h.run("rgov", ["tick", "--profile", Harness.teamTrial, "--now", Self.at(hour * 60)])
            #expect(run.status == 0, "\(run.stdout)")
        }
        let mission = try #require(try h.notices().map(\.mission_id).first)
        let export = try rgov(h, ["export", "--task", mission, "--out", h.dir + "/out", "--json"], at: 24 * 60)
        #expect(export.status == 0, "\(export.stderr)")
        let tar = try #require(export.json?["tar"]?.stringValue)
        // Another machine: only the archive travels.
        let elsewhere = h.dir + "/elsewhere"
        try Sys.makeDirectory(elsewhere)
        try FileManager.default.copyItem(atPath: tar, toPath: elsewhere + "/bundle.tar")
        let verified = try h.run("rgov", ["verify", elsewhere + "/bundle.tar"], pinned: false)
        #expect(verified.status == 0, "\(verified.stdout)")
        let extract = try ChildProcess.run(
            ChildSpec(
                executable: "/bin/tar", arguments: ["-xf", elsewhere + "/bundle.tar", "-C", elsewhere], deadline: 30))
        #expect(extract.status == 0)
        let bundle = elsewhere + "/" + (try Sys.listDirectory(elsewhere).first { !$0.hasSuffix(".tar") }!)
        let manifest = try CanonicalJSON.decode(BundleManifest.self, from: try Sys.readFile(bundle + "/manifest.json"))
        #expect(manifest.task_id == mission && manifest.artifact_bundle_version == "1.0")
        for kind in [
            "notice", "event", "decision", "spool", "attempt", "receipt", "mission", "profile_snapshot",
            "capability_descriptor",
        ] {
            #expect(manifest.artifacts.contains { $0.kind == kind }, "bundle has no \(kind)")
        }
        #expect(try h.run("rgov", ["verify", bundle], pinned: false).status == 0)

        func tampered(_ name: String, _ change: (String) throws -> Void) throws -> Harness.Run {
            let copy = h.dir + "/" + name
            try FileManager.default.copyItem(atPath: bundle, toPath: copy)
            try change(copy)
            return try h.run("rgov", ["verify", copy], pinned: false)
        }
        let receipt = try #require(manifest.artifacts.first { $0.kind == "receipt" })
        let flipped = try tampered("flip") { copy in
            var bytes = [UInt8](try Sys.readFile(copy + "/" + receipt.ref))
            bytes[bytes.count / 2] ^= 0x01
            try DurableFile.write(Data(bytes), to: copy + "/" + receipt.ref)
        }
        #expect(flipped.status == 65 && flipped.stdout.contains("FAIL \(receipt.ref): sha256 does not match"))
        let deleted = try tampered("delete") { copy in
            // A careful forger removes the receipt and its manifest line, and fixes nothing else.
            try FileManager.default.removeItem(atPath: copy + "/" + receipt.ref)
            var m = try CanonicalJSON.decode(BundleManifest.self, from: try Sys.readFile(copy + "/manifest.json"))
            m.artifacts.removeAll { $0.ref == receipt.ref }
            try DurableFile.write(try CanonicalJSON.encodeFile(m), to: copy + "/manifest.json")
        }
        #expect(deleted.status == 65 && deleted.stdout.contains("does not continue the chain"), "\(deleted.stdout)")
        let notice = try #require(manifest.artifacts.first { $0.kind == "notice" })
        let edited = try tampered("edit") { copy in
            var n = try CanonicalJSON.decode(JSONValue.self, from: try Sys.readFile(copy + "/" + notice.ref))
            guard case .object(var o) = n, case .array(var transitions)? = o["transitions"],
                case .object(var t) = transitions[1]
            else { return }
            t["by"] = .string("someone-else")
            transitions[1] = .object(t)
            o["transitions"] = .array(transitions)
            n = .object(o)
            let data = try CanonicalJSON.encodeFile(n)
            try DurableFile.write(data, to: copy + "/" + notice.ref)
            var m = try CanonicalJSON.decode(BundleManifest.self, from: try Sys.readFile(copy + "/manifest.json"))
            m.artifacts = m.artifacts.map {
                $0.ref == notice.ref ? .init(kind: $0.kind, ref: $0.ref, sha256: SHA256.hex(of: [UInt8](data))) : $0
            }
            try DurableFile.write(try CanonicalJSON.encodeFile(m), to: copy + "/manifest.json")
        }
        #expect(edited.status == 65 && edited.stdout.contains("does not continue the chain"), "\(edited.stdout)")
    }

    // MARK: verbs

    @Test func ackIsTheOperatorPathToAckedAndIsRefusedWhereItMustBe() throws {
        let h = try Harness()
        try h.importExamples()
        #expect(try h.tick(profile: "minimal-solo-mode").status == 0)
        let id = try noticeID(h, mission: "crm-overdue-02")
        let missing = try rgov(h, ["ack", id])
        #expect(missing.status == 64 && missing.stderr.contains("--by NAME is required"))
        let acked = try rgov(h, ["ack", id, "--by", "alice", "--note", "seen in #ops"])
        #expect(acked.status == 0, "\(acked.stderr)")
        let n = try #require(try h.notices().first { $0.notice_id == id })
        #expect(n.state == .acked && n.ack_evidence?.kind == .operator_attestation && n.ack_evidence?.by == "alice")
        #expect(n.ack_evidence?.os_user == Sys.userName() && n.ack_evidence?.note == "seen in #ops")
        let again = try rgov(h, ["ack", id, "--by", "alice"])
        #expect(again.status == 65 && again.stderr.contains("already acked (final)"))
        let profile = try h.profile(
            named: "no-send", replacing: [("      mode: shim", "      enabled: false\n      mode: shim")])
        let h2 = try Harness()
        try h2.importExamples()
        #expect(try h2.tick(profile: profile).status == 0)
        let blocked = try #require(try h2.notices().first { $0.state == .blocked })
        let refused = try h2.run("rgov", ["ack", blocked.notice_id, "--by", "bob"])
        #expect(refused.status == 65 && refused.stderr.contains("already blocked (final)"))
        #expect(
            try actions(h).map(\.action) == ["ack", "ack"] && (try actions(h)).last?.result.hasPrefix("refused") == true
        )
        let unknown = try rgov(h, ["ack", "ntc-nope", "--by", "alice"])
        #expect(unknown.status == 66)
    }

    @Test func holdReleaseAndRequeueCountWhatChanged() throws {
        let h = try Harness()
        try h.importExamples()
        #expect(try h.run("rgov-watchdog", ["--profile", Harness.teamTrial]).status == 0)
        let hold = try rgov(h, ["hold", "ALL", "--by", "alice", "--reason", "maintenance", "--json"])
        #expect(hold.status == 0)
        #expect(hold.json?["changed"]?.array.count == Harness.exampleNotices)
        #expect(try h.notices().allSatisfy { $0.state == .prepared && $0.hold?.by == "alice" })
        #expect(try h.tick(profile: Harness.teamTrial).status == 0)
        #expect(try h.notices().allSatisfy { $0.state == .prepared }, "held notices are not dispatched")
        #expect(try rgov(h, ["hold", "all", "--by", "alice"]).status == 66, "bulk needs the literal word ALL")
        let again = try rgov(h, ["hold", "ALL", "--by", "alice", "--json"])
        #expect(again.json?["changed"]?.array.isEmpty == true)
        if case .object(let unchanged)? = again.json?["unchanged"] {
            #expect(unchanged.count == Harness.exampleNotices)
            #expect(unchanged.values.allSatisfy { $0.stringValue == "already held" }, "\(unchanged)")
        } else {
            Issue.record("no unchanged list: \(again.stdout)")
        }
        let one = try noticeID(h, mission: "crm-overdue-02")
        let release = try rgov(h, ["release", one, "--by", "alice", "--json"])
        #expect(release.json?["changed"]?.array == [.string(one)])
        #expect(
            try rgov(h, ["release", one, "--by", "alice", "--json"]).json?["unchanged"]?[one]?.stringValue == "not held"
        )
        #expect(try h.tick(profile: Harness.teamTrial).status == 0)
        #expect(try h.notices().filter { $0.state == .acked }.map(\.notice_id) == [one])
        let released = try #require(try h.notices().first { $0.notice_id == one })
        #expect(released.transitions.map(\.to) == [.queued, .prepared, .queued, .dispatched, .acked])

        let h2 = try Harness()
        try h2.importExamples()
        let noSend = try h2.profile(
            named: "no-send", replacing: [("      mode: shim", "      enabled: false\n      mode: shim")])
        #expect(try h2.tick(profile: noSend).status == 0)
        let requeue = try h2.run("rgov", ["requeue", "ALL", "--by", "bob", "--reason", "channel fixed", "--json"])
        #expect(requeue.json?["changed"]?.array.count == Harness.exampleNotices)
        let fresh = try h2.notices().filter { $0.requeued_from != nil }
        #expect(fresh.count == Harness.exampleNotices && fresh.allSatisfy { $0.state == .queued })
        #expect(
            try h2.notices().filter { $0.state == .blocked }.count == Harness.exampleNotices, "blocked stays blocked")
        // Each requeue is decided by its operator in its own decision record, chained with the mission.
        let blockedDecisions = Set(try h2.notices().filter { $0.state == .blocked }.map(\.decision_id))
        for notice in fresh {
            #expect(!blockedDecisions.contains(notice.decision_id))
            let decision = try CanonicalJSON.decode(
                DecisionRecord.self,
                from: try Sys.readFile(h2.layout.decision(notice.decision_id, day: Timestamp.day(notice.created_at))))
            #expect(decision.notice_id == notice.notice_id && decision.decided_by == "bob")
            #expect(decision.reason == "requeued by bob: channel fixed" && decision.outcome == .notify)
            let links = try MissionChain(layout: h2.layout).links(of: notice.mission_id)
            #expect(links.contains { $0.kind == .decision && $0.id == notice.decision_id })
        }
        #expect(try h2.run("rgov", ["check-state"]).status == 0)
        let twice = try h2.run("rgov", ["requeue", "ALL", "--by", "bob", "--json"])
        #expect(twice.json?["changed"]?.array.isEmpty == true)
        guard case .object(let unchanged)? = twice.json?["unchanged"] else {
            Issue.record("no unchanged list: \(twice.stdout)")
            return
        }
        #expect(unchanged.count == Harness.exampleNotices, "each blocked notice said once; the new ones not named")
        #expect(unchanged.values.allSatisfy { $0.stringValue == "already requeued" }, "\(unchanged)")
        #expect(try h2.notices().count == 2 * Harness.exampleNotices, "no second requeue")
        let newer = try #require(fresh.first?.notice_id)
        #expect(
            try h2.run("rgov", ["requeue", newer, "--by", "bob", "--json"]).json?["unchanged"]?[newer]?.stringValue
                == "queued: only blocked notices are requeued")
    }

    @Test func onlyTheProfilesOperatorsMayAct() throws {
        let h = try Harness()
        try h.importExamples()
        let strangers = try h.profile(
            named: "ops-only",
            audit: ["operators: [\"group:no-such-group-xyz\", nobody-else]"])
        #expect(try h.tick(profile: strangers).status == 0)
        let id = try noticeID(h, mission: "crm-overdue-02")
        let refused = try h.run("rgov", ["ack", id, "--by", "mallory"])
        #expect(refused.status == 77)
        #expect(
            refused.stderr.contains("--by mallory is not you (\(Sys.userName()))")
                && refused.stderr.contains("the refusal was recorded"))
        let honest = try h.run("rgov", ["ack", id, "--by", Sys.userName()])
        #expect(honest.status == 77 && honest.stderr.contains("operating-system user \(Sys.userName())"))
        let record = try #require(try actions(h).first)
        #expect(!record.allowed && record.by == "mallory" && record.os_user == Sys.userName() && record.action == "ack")
        #expect(
            try h.notices().first { $0.notice_id == id }?.state == .acked,
            "shim acked it; the operator could not touch it either way")
        // Authority comes from the state, not the caller: naming another profile is refused, and
        // changing the operator list is an action under the old list.
        let me = try h.profile(
            named: "me",
            audit: ["operators: [\(Sys.userName())]"])
        #expect(try h.run("rgov", ["hold", "ALL", "--by", "mallory", "--profile", me]).status == 64)
        let named = try h.run("rgov", ["hold", "ALL", "--by", "mallory"], env: ["RGOV_PROFILE": me])
        #expect(named.status == 78 && named.stderr.contains("runs its active profile"), "\(named.stderr)")
        #expect(try h.run("rgov", ["activate", me, "--by", Sys.userName(), "--reason", "take over"]).status == 77)
        // Where this user is an operator, --by must be who they are, unless the profile grants act_as.
        let h2 = try Harness()
        try h2.importExamples()
        #expect(try h2.tick(profile: me).status == 0)
        let spoofed = try h2.run("rgov", ["hold", "ALL", "--by", "alice"])
        #expect(spoofed.status == 77 && spoofed.stderr.contains("--by alice is not you"))
        #expect(try h2.run("rgov", ["hold", "ALL", "--by", Sys.userName()]).status == 0)
        let delegated = try h.profile(
            named: "delegated",
            audit: ["operators: [\(Sys.userName())]", "act_as: [\(Sys.userName())]"])
        let h3 = try Harness()
        try h3.importExamples()
        #expect(try h3.tick(profile: delegated).status == 0)
        let onCall = try h3.run("rgov", ["hold", "ALL", "--by", "alice"])
        #expect(onCall.status == 0, "\(onCall.stderr)")
        #expect(try actions(h3).last?.by == "alice" && actions(h3).last?.os_user == Sys.userName())
    }

    @Test func missionFailAndReplayLeaveAuditRecords() throws {
        let h = try Harness()
        try h.importExamples()
        let fail = try rgov(h, ["mission", "fail", "crm-overdue-02", "--by", "alice", "--reason", "stuck in worker"])
        #expect(fail.status == 0, "\(fail.stderr)")
        let failed = try CanonicalJSON.decode(
            MissionSnapshot.self, from: try Sys.readFile(h.layout.missions + "/crm-overdue-02.json"))
        #expect(failed.status == .failed && failed.failure_reason == "operator: stuck in worker")
        #expect(try rgov(h, ["mission", "fail", "crm-overdue-02", "--by", "alice", "--reason", "again"]).status == 65)
        let replay = try rgov(h, ["mission", "replay", "crm-overdue-02", "--by", "bob", "--reason", "retry after fix"])
        #expect(replay.status == 0)
        let replayed = try CanonicalJSON.decode(
            MissionSnapshot.self, from: try Sys.readFile(h.layout.missions + "/crm-overdue-02.json"))
        #expect(replayed.status == .queued && replayed.extra["replay_requested_by"] == .string("bob"))
        #expect(
            replayed.extra["runtime_hints"] == nil && replayed.user_goal == failed.user_goal, "nothing else changed")
        #expect(try actions(h).map(\.action) == ["mission fail", "mission fail", "mission replay"])
        let decisions = try h.layout.dayPartitions(in: h.layout.decisions).flatMap {
            try h.layout.artifactNames(in: h.layout.decisions + "/" + $0)
        }
        #expect(decisions.count == 2)
    }

    @Test func approvalsAreDecisionsTheWatchdogHonours() throws {
        let h = try Harness()
        try h.importExamples()
        #expect(try h.run("rgov-watchdog", ["--profile", Harness.teamTrial]).status == 0)
        let backlog = try rgov(h, ["approvals", "--json", "--profile", Harness.teamTrial], at: 0)
        #expect(backlog.json?["writeback_id"] == nil && backlog.stdout.contains("wb-crm-02-1"))
        #expect(try rgov(h, ["approve", "wb-globex-plan-1", "--by", "alice"]).status == 64, "a reason is required")
        let approve = try rgov(
            h, ["approve", "wb-globex-plan-1", "--by", "alice", "--reason", "checked the diff"], at: 10)
        #expect(approve.status == 0, "\(approve.stderr)")
        #expect(
            try rgov(h, ["reject", "wb-globex-plan-1", "--by", "bob", "--reason", "no"]).status == 65, "decided once")
        let run = try h.run("rgov-watchdog", ["--profile", Harness.teamTrial, "--json", "--now", Self.at(11)])
        #expect(approve.stdout.contains("already applied without approval"))
        #expect(run.json?["episodes_resolved"]?.int == 0, "approval after application does not clear the violation")
        #expect(try rgov(h, ["reject", "wb-crm-02-1", "--by", "bob", "--reason", "wrong segment"]).status == 0)
        let empty = try rgov(h, ["approvals"])
        #expect(empty.stdout.contains("-- 0 writebacks awaiting approval"))
        let decisions = try h.layout.dayPartitions(in: h.layout.decisions).flatMap { day in
            try h.layout.artifactNames(in: h.layout.decisions + "/" + day).map {
                try CanonicalJSON.decode(
                    DecisionRecord.self, from: try Sys.readFile(h.layout.decisions + "/" + day + "/" + $0))
            }
        }
        #expect(decisions.filter { $0.outcome == .approve || $0.outcome == .reject }.count == 2)
    }

    @Test func quarantineIsListedShownAndRestoredOnlyOnceValid() throws {
        let h = try Harness()
        try h.importExamples()
        let good = try Sys.readFile(h.layout.missions + "/crm-queued-05.json")
        try DurableFile.write(Data("{broken".utf8), to: h.layout.missions + "/crm-queued-05.json")
        #expect(try h.run("rgov-watchdog", []).status == 0)
        let ls = try rgov(h, ["quarantine", "ls", "--json"])
        let id = try #require(
            try CanonicalJSON.decode([QuarantineRecord].self, from: Data(ls.stdout.utf8)).first?.quarantine_id)
        #expect(try rgov(h, ["quarantine", "show", id]).stdout.contains("{broken"))
        let early = try rgov(h, ["quarantine", "restore", id, "--by", "alice"])
        #expect(early.status == 65 && early.stderr.contains("still does not validate"))
        try DurableFile.write(good, to: h.layout.quarantine + "/" + id + "/crm-queued-05.json")
        #expect(try rgov(h, ["quarantine", "restore", id, "--by", "alice"]).status == 0)
        #expect(try Sys.readFile(h.layout.missions + "/crm-queued-05.json") == good)
        #expect(try Sys.listDirectory(h.layout.quarantine).isEmpty)
        #expect(try actions(h).map(\.result).last?.hasPrefix("restored to") == true)
    }

    @Test func lsAndShow() throws {
        let h = try Harness()
        try h.importExamples()
        #expect(try h.tick(profile: Harness.teamTrial).status == 0)
        let ls = try rgov(h, ["ls", "--json", "--state-filter", "acked", "--mission", "oracle-writeback-08"])
        let lines = ls.stdout.split(separator: "\n")
        #expect(lines.count == 2)
        #expect(try rgov(h, ["ls"]).stdout.contains("-- \(Harness.exampleNotices) notices"))
        let show = try rgov(h, ["show", "oracle-writeback-08"])
        #expect(
            show.status == 0 && show.stdout.contains("tool-scope/unauthorized-tool")
                && show.stdout.contains("writeback-approval/unapproved-writeback"))
        let id = try noticeID(h, mission: "crm-overdue-02")
        let one = try rgov(h, ["show", id])
        for part in [
            "transitions:", "spool ", "attempt ", "receipt ", "evidence synthetic", "chain head",
            "mission crm-overdue-02", "event evt-", "decision dec-",
        ] {
            #expect(one.stdout.contains(part), "show lacks \(part)")
        }
        #expect(try rgov(h, ["show", "nothing-here"]).status == 66)
    }
}

@Suite struct RetentionTests {
    /// The colony cancels `mission`: a cancelled mission raises nothing, so its episodes close.
    static func cancel(_ h: Harness, _ mission: String) throws {
        let path = h.layout.mission(mission)
        let text = String(decoding: try Sys.readFile(path), as: UTF8.self)
        let cancelled = text.replacingOccurrences(
            of: #""status": "[a-z_]+""#, with: #""status": "cancelled""#, options: .regularExpression)
        #expect(cancelled != text)
        try DurableFile.write(Data(cancelled.utf8), to: path)
    }

    /// A finished, exported notice that an open episode still names is kept.
    ///
    /// Pruning it would leave the episode without its notice. Once the episode closes, it goes.
    @Test func pruneKeepsANoticeAnOpenEpisodeNames() throws {
        let h = try Harness()
        try h.importExamples()
        let profile = try h.profile(
            named: "one-day", replacing: [("    retention_days: 90\n", "    retention_days: 1\n")])
        #expect(try h.tick(profile: profile).status == 0)
        let mission = "crm-overdue-02"
        let notice = try #require(try h.notices().first { $0.mission_id == mission })
        #expect(notice.state == .acked)
        let episode = try #require(
            try h.layout.files(in: h.layout.openEpisodes).map {
                try CanonicalJSON.decode(Episode.self, from: try Sys.readFile($0))
            }.first { $0.notice_id == notice.notice_id })
        let later = "2026-11-23T12:00:00Z"
        #expect(try h.run("rgov", ["export", "--task", mission, "--now", later]).status == 0)
        let kept = try h.run("rgov", ["prune", "--by", "alice", "--now", later, "--json"])
        #expect(kept.status == 0, "\(kept.stderr)")
        #expect(kept.json?["kept_referenced"]?.array.contains(.string(notice.notice_id)) == true, "\(kept.stdout)")
        #expect(kept.json?["pruned"]?.array.contains(.string(notice.notice_id)) == false)
        #expect(try h.notices().contains { $0.notice_id == notice.notice_id }, "the notice stays")
        let check = try h.run("rgov", ["check-state", "--json"])
        #expect(check.status == 0, "\(check.stdout)")
        // The condition clears: the episode closes, nothing names the notice, and it goes.
        try Self.cancel(h, mission)
        #expect(try h.tick(extra: ["--now", later]).status == 0)
        #expect(!Sys.exists(h.layout.openEpisode(episode.episode_id)))
        let pruned = try h.run("rgov", ["prune", "--by", "alice", "--now", later, "--json"])
        #expect(pruned.json?["pruned"]?.array.contains(.string(notice.notice_id)) == true, "\(pruned.stdout)")
        #expect(try !h.notices().contains { $0.notice_id == notice.notice_id })
        #expect(try h.run("rgov", ["check-state"]).status == 0)
    }

    @Test func pruneRemovesOnlyExportedFinishedChainsPastRetention() throws {
        let h = try Harness()
        try h.importExamples()
        let profile = try h.profile(
            from: "strict-manager-trial", named: "short-retention",
            replacing: [("    retention_days: 365\n", "    retention_days: 1\n")])
        #expect(try h.tick(profile: profile).status == 0)
        let acked = try h.notices().filter { $0.state == .acked }
        #expect(!acked.isEmpty)
        let later = "2026-11-23T12:00:00Z"
        let dry = try h.run("rgov", ["prune", "--by", "alice", "--now", later, "--json"])
        #expect(dry.status == 0, "\(dry.stderr)")
        #expect(dry.json?["kept_not_exported"]?.array.count == acked.count, "export is required by this profile")
        #expect(dry.json?["pruned"]?.array.isEmpty == true)
        let mission = acked[0].mission_id
        // The mission is cancelled: its episodes close, so nothing live names its notices.
        try Self.cancel(h, mission)
        #expect(try h.tick(extra: ["--now", later]).status == 0)
        #expect(try h.run("rgov", ["export", "--task", mission, "--profile", profile, "--now", later]).status == 0)
        let count = try h.notices().count
        let preview = try h.run(
            "rgov", ["prune", "--by", "alice", "--dry-run", "--now", later, "--json"])
        let exported = Set(acked.filter { $0.mission_id == mission }.map(\.notice_id))
        let exportedCount = exported.count
        #expect(preview.json?["pruned"]?.array.count == exportedCount)
        #expect(try h.notices().count == count, "a dry run removes nothing")
        let run = try h.run("rgov", ["prune", "--by", "alice", "--now", later, "--json"])
        #expect(run.json?["pruned"]?.array.count == exportedCount)
        #expect(Set(try h.notices().map(\.notice_id)).isDisjoint(with: exported))
        #expect(try h.receipts().allSatisfy { !exported.contains($0.notice_id) })
        #expect(try h.run("rgov", ["check-state"]).status == 0)
        let bundles = try Sys.listDirectory(h.layout.exports).filter { $0.hasSuffix(".tar") }
        #expect(
            try h.run("rgov", ["verify", h.layout.exports + "/" + bundles[0]], pinned: false).status == 0,
            "the bundle still proves it")
        // A bundle made after the prune names what the chain links and the prune removed, and holds.
        let after = try h.run("rgov", ["export", "--task", mission, "--now", "2026-11-23T12:00:01Z", "--json"])
        #expect(after.status == 0, "\(after.stderr)")
        guard case .string(let bundle)? = after.json?["bundle"] else { return }
        let manifest = try CanonicalJSON.decode(BundleManifest.self, from: try Sys.readFile(bundle + "/manifest.json"))
        #expect(Set((manifest.pruned ?? []).filter { $0.kind == .notice }.map(\.id)).count == exportedCount)
        let verify = try h.run("rgov", ["verify", bundle], pinned: false)
        #expect(verify.status == 0, "\(verify.stdout)")
    }
}
