import Foundation
import Testing

@testable import GovernanceCore

/// Truth under races and hostile input: each test here failed on the code before it.
@Suite struct AdversarialTests {
    static func mission(_ fields: [String: JSONValue]) -> JSONValue {
        var base: [String: JSONValue] = [
            "mission_type": .string("crm_lead_intelligence"), "status": .string("running"),
            "stage": .string("worker"), "created_at": .string("2026-11-20T11:00:00Z"),
            "started_at": .string("2026-11-20T11:00:00Z"), "last_checkpoint_at": .string("2026-11-20T11:30:00Z"),
        ]
        for (k, v) in fields { base[k] = v }
        return .object(base)
    }

    static func write(_ h: Harness, _ id: String, _ value: JSONValue) throws {
        try h.layout.prepare()
        try DurableFile.write(try CanonicalJSON.encodeFile(value), to: h.layout.missions + "/" + id + ".json")
    }

    // MARK: 1. one snapshot cannot stop monitoring

    @Test func anOverflowingSnapshotIsQuarantinedAndEveryOtherMissionWatched() throws {
        let h = try Harness()
        try h.importExamples()
        try Self.write(
            h, "m-overflow",
            Self.mission(["mission_id": .string("m-overflow"), "checkpoint_interval_ms": .number(9.2e18)]))
        let run = try h.run("rgov-watchdog", ["--json"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.json?["scanned"]?.int == Harness.exampleMissions)
        let notices = try h.notices()
        #expect(notices.filter { $0.rule_id != "contract/malformed-snapshot" }.count == Harness.exampleNotices)
        let malformed = try #require(notices.first { $0.rule_id == "contract/malformed-snapshot" })
        #expect(malformed.mission_id == "m-overflow" && malformed.message.text.contains("checkpoint_interval_ms"))
        #expect(try h.quarantineReasons().first?.reason.contains("outside 1...2592000000") == true)
    }

    @Test func aDuplicatedKeyIsRefusedNamingTheKey() throws {
        let h = try Harness()
        try h.layout.prepare()
        let text =
            #"{"mission_id":"m-dup","mission_id":"m-other","mission_type":"oracle_advisory","status":"running","created_at":"2026-11-20T10:00:00Z"}"#
        try DurableFile.write(Data(text.utf8), to: h.layout.missions + "/m-dup.json")
        #expect(try h.run("rgov-watchdog", []).status == 0)
        #expect(try h.quarantineReasons().first?.reason.contains("key \"mission_id\" appears twice") == true)
    }

    // MARK: 2. operator verbs against the bridge

    /// A command sender that says it started, then waits for the test to write to a FIFO.
    static func fifoSender(_ h: Harness, exit: Int) throws -> (profile: String, ready: String, fifo: String) {
        let ready = h.dir + "/ready"
        let fifo = h.dir + "/go"
        #expect(mkfifo(fifo, 0o600) == 0)
        let script = try h.script(
            "fifo-sender.sh", "cat > /dev/null; echo up > \(ready); read x < \(fifo); exit \(exit)")
        let profile = try SenderTests.profile(
            h, "fifo",
            sender: "      mode: command\n      timeout_ms: 60000\n      binding:\n        command: [\(script)]\n")
        return (profile, ready, fifo)
    }

    /// Every file named `id.json` under the notice queue: a notice is in exactly one.
    static func copies(_ h: Harness, _ id: String) -> [String] {
        var found: [String] = []
        let enumerator = FileManager.default.enumerator(atPath: h.layout.queue)
        while let relative = enumerator?.nextObject() as? String {
            if (relative as NSString).lastPathComponent == id + ".json" { found.append(relative) }
        }
        return found
    }

    @Test(arguments: [0, 75])
    func ackAndHoldDuringASendAreRefusedNotLost(senderExit: Int) throws {
        let h = try Harness()
        try SenderTests.oneNotice(h)
        let (profile, ready, fifo) = try Self.fifoSender(h, exit: senderExit)
        let tick = try h.startTick(profile)
        for _ in 0..<6000 where Sys.kind(ready) != .regular { Sys.sleep(milliseconds: 10) }
        try #require(Sys.kind(ready) == .regular)
        let id = try #require(try h.notices().first?.notice_id)
        let ack = try h.run("rgov", ["ack", id, "--by", "alice"])
        #expect(ack.status == 75 && ack.stderr.contains("a send of it is under way"), "\(ack.stderr)")
        let hold = try h.run("rgov", ["hold", id, "--by", "alice"])
        #expect(hold.status == 75, "\(hold.stderr)")
        let holdAll = try h.run("rgov", ["hold", "ALL", "--by", "alice", "--json"])
        #expect(holdAll.status == 0 && holdAll.stdout.contains("a send of it is under way"))
        try DurableFile.write(Data(), to: h.dir + "/unused")
        let go = Glibc.open(fifo, O_WRONLY)
        _ = Glibc.write(go, "go\n", 3)
        Glibc.close(go)
        tick.waitUntilExit()
        #expect(Self.copies(h, id).count == 1, "one folder: \(Self.copies(h, id))")
        var notice = try #require(try h.notices().first { $0.notice_id == id })
        #expect(notice.hold == nil && notice.attempts == 1)
        #expect(notice.state_reason == (senderExit == 0 ? "sent_unconfirmed" : "temporary_failure"))
        // Once the send is recorded, the operator's ack goes through, and the state still verifies.
        let later = try h.run("rgov", ["ack", id, "--by", "alice", "--now", "2026-11-20T12:01:00Z"])
        #expect(later.status == 0, "\(later.stderr)")
        notice = try #require(try h.notices().first { $0.notice_id == id })
        #expect(notice.state == .acked && Self.copies(h, id).count == 1, "\(Self.copies(h, id))")
        let export = try h.run("rgov", ["export", "--task", "m-send", "--json"])
        let tar = try #require(
            export.json?["tar"].flatMap { v -> String? in if case .string(let s) = v { s } else { nil } })
        #expect(try h.run("rgov", ["verify", tar], pinned: false).status == 0)
    }

    // MARK: 3. every unknown outcome alerts exactly once

    /// A crash after the receipt (the notice not moved yet) or after the move (no alert yet):
    /// the next runs alert exactly once either way.
    @Test(arguments: ["bridge.after_receipt", "bridge.after_outcome_applied"])
    func aCrashBetweenTheUnknownOutcomeAndItsAlertStillAlertsOnce(at point: String) throws {
        let h = try Harness()
        try SenderTests.oneNotice(h)
        let script = try h.script("hang.sh", "cat > /dev/null; sleep 30")
        let profile = try SenderTests.profile(
            h, "hang",
            sender: "      mode: command\n      timeout_ms: 300\n      binding:\n        command: [\(script)]\n")
        for stage in ["rgov-watchdog", "rgov-dispatcher"] {
            #expect(try h.run(stage, ["--profile", profile]).status == 0)
        }
        let crashed = try h.run("rgov-bridge", ["--profile", profile], env: ["RGOV_FAULT": point])
        #expect(crashed.status == 128 + 9)
        let moved = try h.notices().first { $0.notice_kind == .finding }?.state_reason == "outcome_unknown"
        #expect(moved == (point == "bridge.after_outcome_applied"))
        #expect(
            try h.notices().filter { $0.notice_kind == .delivery_unknown }.isEmpty, "the crash came before the alert")
        for _ in 0..<2 { #expect(try h.run("rgov-bridge", ["--profile", profile]).status == 0) }
        #expect(try h.notices().filter { $0.notice_kind == .delivery_unknown }.count == 1, "alerted, exactly once")
        #expect(try h.notices().first { $0.notice_kind == .finding }?.state_reason == "outcome_unknown")
    }

    // MARK: 4. untrusted text never reaches the terminal raw

    @Test func everyPrintedFieldShowsControlCharactersVisibly() throws {
        let h = try Harness()
        let esc = "\u{1b}[31m"
        try Self.write(
            h, "m-hostile",
            Self.mission([
                "mission_id": .string("m-hostile"), "status": .string("failed"),
                "stage": .string("w\(esc)orker\nforged"),
                "failure_reason": .string("boom\(esc)\nforged line\u{7}"),
                "writebacks": .array([
                    .object([
                        "writeback_id": .string("wb\(esc)\nforged"), "target": .string("crm\(esc)"),
                        "status": .string("proposed"), "proposed_at": .string("2026-11-20T06:00:00Z"),
                    ])
                ]),
            ]))
        try DurableFile.write(Data("{".utf8), to: h.layout.missions + "/bad\u{1b}[2Jname.json")
        let sender = try h.script(
            "hostile.sh",
            #"cat > /dev/null; printf '{"ok":false,"reason":"\\u001b[2Jforged\\nforged","retryable":false}'"#)
        let profile = try SenderTests.profile(
            h, "hostile", sender: "      mode: command\n      binding:\n        command: [\(sender)]\n")
        #expect(try h.run("rgov", ["tick", "--profile", profile]).status == 0)
        let outputs = [
            try h.run("rgov", ["show", "m-hostile"]), try h.run("rgov", ["ls"]),
            try h.run("rgov", ["approvals", "--profile", profile]), try h.run("rgov", ["quarantine", "ls"]),
            try h.run("rgov", ["status"]),
        ]
        let entry = try #require(try Sys.listDirectory(h.layout.quarantine).first)
        let shown = try h.run("rgov", ["quarantine", "show", entry])
        for run in outputs + [shown] {
            let bytes = Array((run.stdout + run.stderr).utf8)
            #expect(!bytes.contains { ($0 < 0x20 && $0 != 0x0a) || $0 == 0x7f }, "raw control bytes in: \(run.stdout)")
            #expect(
                !run.stdout.split(separator: "\n").contains { $0.hasPrefix("forged") }, "a forged line: \(run.stdout)")
        }
        #expect(outputs[0].stdout.contains("\\x1b[31m") && outputs[0].stdout.contains("\\n"))
        // --json stays exact: the escape is there, as JSON escapes it.
        let json = try h.run("rgov", ["show", "m-hostile", "--json"])
        #expect(json.stdout.contains("\\u001b[31m") || json.stdout.contains("\u{1b}"))
    }

    // MARK: 5. one bad file in --missions-from

    @Test func unreadableImportsAreSkippedNotFatal() throws {
        let h = try Harness()
        let source = h.dir + "/incoming"
        try Sys.makeDirectory(source)
        for name in try Sys.listDirectory(Harness.repoRoot + "/examples/missions") {
            try DurableFile.write(
                try Sys.readFile(Harness.repoRoot + "/examples/missions/" + name), to: source + "/" + name)
        }
        #expect(mkfifo(source + "/pipe.json", 0o600) == 0)
        try DurableFile.write(Data(repeating: 0x20, count: MissionStore.sizeLimit + 1), to: source + "/huge.json")
        let run = try h.run("rgov", ["tick", "--missions-from", source, "--json"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(
            run.json?["missions_imported"]?.int == Harness.exampleMissions && run.json?["missions_skipped"]?.int == 2)
        #expect(run.stderr.contains("skipped") && run.stderr.contains("pipe.json"))
        #expect(Set(try h.quarantineReasons().map(\.file_name)) == ["pipe.json", "huge.json"])
        #expect(Sys.kind(source + "/pipe.json") == .other, "the source is left as it was")
        #expect(try h.notices().count == Harness.exampleNotices)
    }

    // MARK: 6. synthetic acks are counted apart

    @Test func shimAcksAreSyntheticEverywhere() throws {
        let h = try Harness()
        try h.importExamples()
        #expect(try h.tick(profile: Harness.teamTrial).status == 0)
        #expect(try h.notices().allSatisfy { $0.ack_evidence?.kind == .synthetic })
        let status = try h.run("rgov", ["status", "--json"])
        #expect(status.json?["acks_by_kind"]?["synthetic"]?.int == Harness.exampleNotices)
        #expect(try h.run("rgov", ["status"]).stdout.contains("5 synthetic: a trial sender's, not seen by anyone"))
        #expect(try h.run("rgov", ["ls"]).stdout.contains("acked(synthetic)"))
        let export = try h.run("rgov", ["export", "--task", "crm-overdue-02", "--json"])
        let bundle = try #require(
            export.json?["bundle"].flatMap { v -> String? in if case .string(let s) = v { s } else { nil } })
        let manifest = try CanonicalJSON.decode(BundleManifest.self, from: try Sys.readFile(bundle + "/manifest.json"))
        #expect(manifest.acks_by_kind == ["synthetic": 1])
    }

    // MARK: 7. late ack evidence

    /// A command sender that exits 0: each notice is sent, unconfirmed (a relay may ack it later).
    static func sentUnconfirmed(_ h: Harness) throws {
        try h.importExamples()
        let script = try h.script("relay-send", "cat > /dev/null; exit 0")
        let relay = try SenderTests.profile(
            h, "relay",
            sender: "      mode: command\n      timeout_ms: 5000\n      binding:\n        command: [\(script)]\n")
        #expect(try h.tick(profile: relay).status == 0)
        #expect(try h.notices().allSatisfy { $0.state_reason == "sent_unconfirmed" || $0.state == .prepared })
    }

    @Test func lateAckEvidencePromotesAMatchingNoticeAndAForgeryIsQuarantined() throws {
        let h = try Harness()
        try Self.sentUnconfirmed(h)
        var notices = try h.notices()
        let pending = notices.filter { $0.state == .pending_external_send }
        let target = try #require(pending.first)
        let other = try #require(pending.last)
        // The key a relay that received the message knows (kept apart from the handoff record).
        let key = try LateAckProofTests.key(h, target.notice_id)
        func drop(_ name: String, _ notice: String, key: String) throws {
            let ack: JSONValue = .object([
                "notice_id": .string(notice), "idempotency_key": .string(key), "message_id": .string("relay-7"),
                "acked_at": .string("2026-11-20T12:05:00Z"), "by": .string("upper-runtime"),
            ])
            try DurableFile.write(try CanonicalJSON.encodeFile(ack), to: h.layout.bridgeAcks + "/" + name)
        }
        try drop("good.json", target.notice_id, key: key)
        try drop("forged.json", other.notice_id, key: key)
        let run = try h.run("rgov-bridge", ["--json", "--now", "2026-11-20T12:06:00Z"])
        #expect(run.status == 0, "\(run.stderr)")
        notices = try h.notices()
        let acked = try #require(notices.first { $0.notice_id == target.notice_id })
        #expect(
            acked.state == .acked && acked.ack_evidence?.kind == .external_ack
                && acked.ack_evidence?.by == "upper-runtime")
        #expect(
            notices.first { $0.notice_id == other.notice_id }?.state == .pending_external_send,
            "the forgery changed nothing")
        #expect(try Sys.listDirectory(h.layout.bridgeAcks + "/archive/2026-11-20") == ["good.json"])
        #expect(try h.quarantineReasons().first?.reason.contains("idempotency_key does not match") == true)
    }

    /// A crash after the late ack's receipt is durable and before the notice moves: the next run,
    /// even on a later day, continues the notice's chain from that receipt.
    @Test func aLateAckInterruptedAfterItsReceiptConvergesOnAWholeChain() throws {
        let h = try Harness()
        try Self.sentUnconfirmed(h)
        let target = try #require(try h.notices().first { $0.state == .pending_external_send })
        let key = try LateAckProofTests.key(h, target.notice_id)
        let ack: JSONValue = .object([
            "notice_id": .string(target.notice_id), "idempotency_key": .string(key),
            "message_id": .string("relay-9"), "acked_at": .string("2026-11-20T12:05:00Z"), "by": .string("relay"),
        ])
        try DurableFile.write(
            try CanonicalJSON.encodeFile(ack), to: h.layout.file("late.json", in: h.layout.bridgeAcks))
        let crashed = try h.run(
            "rgov-bridge", ["--now", "2026-11-20T12:06:00Z"], env: ["RGOV_FAULT": "commit.after_records"])
        #expect(crashed.status == 128 + 9)
        #expect(try h.notices().first { $0.notice_id == target.notice_id }?.state == .pending_external_send)
        #expect(try h.run("rgov-bridge", ["--now", "2026-11-21T08:00:00Z"]).status == 0)
        #expect(try h.notices().first { $0.notice_id == target.notice_id }?.state == .acked)
        #expect(try h.layout.receiptFiles(of: target.notice_id).filter { $0.contains(".ext") }.count == 1)
        let check = try h.run("rgov", ["check-state"])
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
    }

    /// A refusal decided without a sender (here: lifetime exhausted), the bridge killed after its
    /// receipts are durable and run again the next day: the notices continue from those receipts.
    @Test func aRefusalInterruptedAfterItsReceiptConvergesOnAWholeChain() throws {
        let h = try Harness()
        try h.importExamples()
        for stage in ["rgov-watchdog", "rgov-dispatcher"] { #expect(try h.run(stage, []).status == 0) }
        let dispatched = try h.notices().filter { $0.state == .dispatched }.map(\.notice_id)
        #expect(!dispatched.isEmpty)
        let crashed = try h.run(
            "rgov-bridge", ["--now", "2026-12-20T12:00:00Z"], env: ["RGOV_FAULT": "commit.after_records"])
        #expect(crashed.status == 128 + 9)
        #expect(try h.run("rgov-bridge", ["--now", "2026-12-21T12:00:00Z"]).status == 0)
        let blocked = try h.notices().filter { dispatched.contains($0.notice_id) }
        #expect(blocked.allSatisfy { $0.state == .blocked && $0.state_reason == "lifetime_exhausted" })
        for id in dispatched { #expect(try h.layout.receiptFiles(of: id).count == 1, "\(id)") }
        let check = try h.run("rgov", ["check-state"])
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
    }

    // MARK: 8. watchdog fixes

    @Test func aReplayedMissionIsQueuedFromTheReplay() throws {
        let h = try Harness()
        try Self.write(
            h, "m-replay",
            Self.mission([
                "mission_id": .string("m-replay"), "created_at": .string("2026-11-20T10:00:00Z"),
                "last_checkpoint_at": .string("2026-11-20T11:59:00Z"),
            ]))
        #expect(
            try h.run("rgov", ["mission", "replay", "m-replay", "--by", "alice", "--reason", "worker lost"]).status == 0
        )
        let run = try h.run("rgov-watchdog", ["--json", "--now", "2026-11-20T12:10:00Z"])
        #expect(run.status == 0 && run.json?["findings_by_rule"]?["stuck-state/stage-timeout"] == nil, "\(run.stdout)")
    }

    @Test func episodeFilesAreNamedByTheirIDs() throws {
        let h = try Harness()
        try h.importExamples()
        #expect(try h.run("rgov-watchdog", []).status == 0)
        let names = try h.layout.artifactNames(in: h.layout.openEpisodes)
        #expect(names.count == Harness.exampleNotices)
        for name in names {
            let episode = try CanonicalJSON.decode(
                Episode.self, from: try Sys.readFile(h.layout.openEpisodes + "/" + name))
            #expect(name == episode.episode_id + ".json")
        }
    }

    @Test func exportOfAnUnknownMissionSaysSo() throws {
        let h = try Harness()
        try h.importExamples()
        #expect(try h.tick().status == 0)
        let run = try h.run("rgov", ["export", "--task", "nope"])
        #expect(run.status == 66 && run.stderr.contains("no mission or notice \"nope\""))
    }

    @Test func aTickThatLosesTheLockSaysSoInJSON() throws {
        let h = try Harness()
        try h.layout.prepare()
        let lock = try StageLock.acquire(h.layout.locks + "/tick.lock", holder: "test")
        let run = try h.run("rgov", ["tick", "--json"])
        #expect(run.status == 0 && run.json?["skipped"] == .string("lock_held"))
        withExtendedLifetime(lock) {}
    }
}
