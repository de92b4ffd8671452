import Foundation
import Testing

@testable import GovernanceCore

/// The watchdog over many missions and many ticks: precision against planted conditions, one
/// notice per episode, reminders, escalation, recovery and late runs.
@Suite struct WatchdogTests {
    static let t0 = Harness.t0

    static func at(minutes: Int) -> String { Timestamp.format(t0.addingTimeInterval(Double(minutes) * 60)) }

    /// Open episodes after one watchdog run, as (mission, rule) pairs.
    static func findings(_ h: Harness) throws -> [String: Set<String>] {
        var found: [String: Set<String>] = [:]
        for name in try h.layout.artifactNames(in: h.layout.openEpisodes) {
            let e = try CanonicalJSON.decode(Episode.self, from: try Sys.readFile(h.layout.openEpisodes + "/" + name))
            found[e.mission_id, default: []].insert(e.rule_id)
        }
        return found
    }

    @Test(arguments: ["minimal-solo-mode", "standard-team-mode", "strict-manager-mode"])
    func findingsOnSimulatedMissionsEqualThePlantedConditions(profile: String) throws {
        let h = try Harness()
        let sim = try h.run("rgov", ["simulate", "--missions", "1000", "--seed", "11"])
        #expect(sim.status == 0, "\(sim.stderr)")
        let manifest = try CanonicalJSON.decode(
            Simulation.Manifest.self, from: try Sys.readFile(h.state + "/simulation-manifest.json"))
        #expect(manifest.missions.count == 1000)
        #expect(Set(manifest.conditions.keys) == Set(Simulation.conditions.map(\.name)), "every condition is planted")
        let run = try h.run("rgov-watchdog", ["--profile", profile, "--json"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.json?["scanned"]?.int == 1000)
        let found = try Self.findings(h)
        var falsePositives = 0
        var missed = 0
        for (id, entry) in manifest.missions {
            let got = found[id] ?? []
            let expected = Set(entry.expected_rules)
            falsePositives += got.subtracting(expected).count
            missed += expected.subtracting(got).count
        }
        #expect(falsePositives == 0, "a healthy mission or condition was flagged wrongly")
        #expect(missed == 0, "a planted condition was missed")
        #expect(run.json?["findings"]?.int == manifest.missions.values.reduce(0) { $0 + $1.expected_rules.count })
    }

    @Test func simulationIsDeterministicForASeed() throws {
        let a = try Harness()
        let b = try Harness()
        for h in [a, b] { #expect(try h.run("rgov", ["simulate", "--missions", "50", "--seed", "3"]).status == 0) }
        #expect(try a.snapshot() == (try b.snapshot()))
        let c = try Harness()
        #expect(try c.run("rgov", ["simulate", "--missions", "50", "--seed", "4"]).status == 0)
        #expect(try a.snapshot() != (try c.snapshot()))
    }

    /// Keeps the stage-timeout rule out of long tick sequences (relaxing it inside the pack's range).
    static let longStages = (
        "      completion-evidence/unverified-completion:\n        required_strength: at_least_one",
        "      completion-evidence/unverified-completion:\n        required_strength: at_least_one\n"
            + "      stuck-state/stage-timeout:\n        stage_timeout_ms: 86400000"
    )

    func writeMission(_ h: Harness, lastCheckpoint: String, id: String = "m-noise") throws {
        let text = """
            {"mission_id":"\(id)","mission_type":"crm_lead_intelligence","status":"running","stage":"worker",
             "created_at":"2026-11-20T11:00:00Z","started_at":"2026-11-20T11:00:00Z","stage_entered_at":"\(lastCheckpoint)",
             "last_checkpoint_at":"\(lastCheckpoint)","checkpoint_interval_ms":900000,
             "reports":[{"at":"\(lastCheckpoint)","kind":"checkpoint","text":"ok","placeholder":false}]}
            """
        try h.layout.prepare()
        try DurableFile.write(Data(text.utf8), to: h.layout.missions + "/\(id).json")
    }

    @Test func oneNoticePerEpisodeThenEscalationReminderRecoveryAndANewEpisode() throws {
        let h = try Harness()
        let profile = try h.profile(named: "team-dry", replacing: [("mode: shim", "mode: dry-run"), Self.longStages])
        try writeMission(h, lastCheckpoint: Self.at(minutes: -20))
        func tick(_ minutes: Int) throws -> JSONValue? {
            let run = try h.run("rgov", ["tick", "--profile", profile, "--json", "--now", Self.at(minutes: minutes)])
            #expect(run.status == 0, "\(run.stderr)")
            return run.json?["stages"]?.array.first?["report"]
        }
        func kinds() throws -> [NoticeKind] {
            try h.notices().sorted { $0.created_at < $1.created_at }.map(\.notice_kind)
        }

        _ = try tick(0)
        #expect(try kinds() == [.finding])
        let first = try #require(try h.notices().first)
        #expect(first.state == .pending_external_send)
        _ = try tick(30)
        _ = try tick(59)
        #expect(try kinds() == [.finding], "the same condition, however often cron runs, is one notice")

        #expect(try tick(61)?["escalations"]?.int == 1)
        #expect(try kinds() == [.finding, .escalation])
        let escalation = try #require(try h.notices().first { $0.notice_kind == .escalation })
        #expect(
            escalation.follows == first.notice_id && escalation.target == "team-lead"
                && escalation.severity == .critical)
        let decisions = try h.layout.dayPartitions(in: h.layout.decisions).flatMap { day in
            try h.layout.artifactNames(in: h.layout.decisions + "/" + day).map {
                try CanonicalJSON.decode(
                    DecisionRecord.self, from: try Sys.readFile(h.layout.decisions + "/" + day + "/" + $0))
            }
        }
        #expect(decisions.first { $0.notice_id == escalation.notice_id }?.outcome == .escalate)
        _ = try tick(120)
        #expect(try kinds().count == 2, "escalation happens once per episode")

        #expect(try tick(241)?["reminders"]?.int == 1)
        let reminder = try #require(try h.notices().first { $0.notice_kind == .reminder })
        #expect(reminder.follows == first.notice_id && reminder.message.title.hasPrefix("[reminder 1]"))

        try writeMission(h, lastCheckpoint: Self.at(minutes: 242))
        #expect(try tick(243)?["episodes_resolved"]?.int == 1)
        #expect(try kinds() == [.finding, .escalation, .reminder, .resolved])
        #expect(try h.layout.artifactNames(in: h.layout.openEpisodes).isEmpty)

        _ = try tick(243 + 30)
        let all = try h.notices()
        #expect(
            try kinds() == [.finding, .escalation, .reminder, .resolved, .finding], "a recurrence is a new episode")
        #expect(Set(all.map(\.episode_id)).count == 2)
    }

    @Test func anAckedNoticeIsNotEscalated() throws {
        let h = try Harness()
        let profile = try h.profile(named: "team", replacing: [Self.longStages])
        try writeMission(h, lastCheckpoint: Self.at(minutes: -20))
        for minutes in [0, 61, 130] {
            #expect(try h.run("rgov", ["tick", "--profile", profile, "--now", Self.at(minutes: minutes)]).status == 0)
        }
        let notices = try h.notices()
        #expect(notices.map(\.notice_kind) == [.finding])
        #expect(notices.first?.state == .acked)
    }

    @Test func soloNeverEscalates() throws {
        let h = try Harness()
        let profile = try h.profile(
            from: "minimal-solo-mode", named: "solo",
            replacing: [
                (
                    "        require_completion_labeling: false",
                    "        require_completion_labeling: false\n      stuck-state/stage-timeout:\n        stage_timeout_ms: 86400000"
                )
            ])
        try writeMission(h, lastCheckpoint: Self.at(minutes: -40))
        for minutes in [0, 120, 600] {
            #expect(try h.run("rgov", ["tick", "--profile", profile, "--now", Self.at(minutes: minutes)]).status == 0)
        }
        #expect(try h.notices().map(\.notice_kind) == [.finding])
    }

    @Test func aLateWatchdogSaysByHowMuch() throws {
        let h = try Harness()
        try h.importExamples()
        let first = try h.run("rgov-watchdog", ["--profile", "standard-team-mode", "--json"])
        #expect(first.json?["late_by_ms"] == nil)
        let onTime = try h.run(
            "rgov-watchdog", ["--profile", "standard-team-mode", "--json", "--now", Self.at(minutes: 5)])
        #expect(onTime.json?["late_by_ms"] == nil)
        let late = try h.run("rgov-watchdog", ["--profile", "standard-team-mode", "--now", Self.at(minutes: 65)])
        #expect(late.stdout.contains("LATE: this run came 55m 00s later than expected"))
        let run = try h.layout.artifactNames(in: h.layout.watchdogRuns + "/2026-11-20").map {
            try CanonicalJSON.decode(
                WatchdogRun.self, from: try Sys.readFile(h.layout.watchdogRuns + "/2026-11-20/" + $0))
        }.max { $0.started_at < $1.started_at }
        #expect(run?.late_by_ms == 3_300_000 && run?.expected_interval_ms == 300_000)
        #expect(run.map { Timestamp.format($0.previous_run_at!) } == "2026-11-20T12:05:00.000Z")
    }

    @Test func theThreeStancesOnTheExamples() throws {
        var findings: [String: [String: Set<String>]] = [:]
        for profile in ["minimal-solo-mode", "standard-team-mode", "strict-manager-mode"] {
            let h = try Harness()
            try h.importExamples()
            #expect(try h.run("rgov-watchdog", ["--profile", profile]).status == 0)
            findings[profile] = try Self.findings(h)
        }
        let common: [String: Set<String>] = [
            "crm-overdue-02": ["checkpoint-cadence/missed-checkpoint"],
            "catalyst-silent-03": ["anti-blackhole/silent-task"],
            "crm-failed-07": ["mission-failure/failed"],
            "oracle-writeback-08": ["writeback-approval/unapproved-writeback", "tool-scope/unauthorized-tool"],
        ]
        #expect(findings["minimal-solo-mode"] == common)
        #expect(findings["standard-team-mode"] == common)
        var strict = common
        strict["oracle-completed-04"] = ["completion-evidence/unverified-completion"]
        #expect(
            findings["strict-manager-mode"] == strict,
            "strict rejects a completion whose evidence does not name its output")
    }
}

/// The watchdog's scan cache: an unchanged, quiet snapshot is not read again until a rule could
/// fire, and the findings are those a scan without the cache makes.
@Suite struct ScanCacheTests {
    /// Waits until every mission file's times lie outside the cache's racy window (file times are
    /// compared with the file system's clock: the wait is for that clock, not for a process).
    static func waitUntilSettled(_ h: Harness) throws {
        var newest: Int64 = 0
        for name in try Sys.listDirectory(h.layout.missions) {
            if let id = Sys.identity(h.layout.missions + "/" + name) { newest = max(newest, id.modified, id.changed) }
        }
        while Sys.fileSystemNanoseconds() <= newest + Sys.racyNanoseconds { Sys.sleep(milliseconds: 50) }
    }

    /// An unchanged episodes folder is known from its index: an episode replaced in place is not
    /// read; once the folder changes, every open episode is read again.
    @Test func openEpisodesAreKnownFromTheirIndexWhileTheirFolderIsUnchanged() throws {
        let h = try Harness()
        try h.importExamples()
        try Self.waitUntilSettled(h)
        #expect(try h.tick(profile: Harness.teamTrial).status == 0)
        let folder = h.layout.openEpisodes
        let episodes = try h.layout.files(in: folder)
        try #require(!episodes.isEmpty)
        NoticeHistoryTests.age(folder)
        #expect(try h.tick(profile: Harness.teamTrial).status == 0)
        let index = String(decoding: try Sys.readFile(h.layout.watchdogEpisodeIndex), as: UTF8.self)
        #expect(index.split(separator: "\n").count == episodes.count + 1, "\(index)")
        // Replaced in place, the episode leaves its folder's time alone: the run does not read it.
        let victim = episodes[0]
        let fd = try Sys.open(victim, O_WRONLY | O_TRUNC)
        try Array("{}".utf8).withUnsafeBytes { try Sys.writeAll(fd, $0, path: victim) }
        Sys.close(fd)
        let idle = try h.tick(profile: Harness.teamTrial)
        #expect(idle.status == 0)
        #expect(Sys.kind(victim) == .regular, "not read, so not isolated")
        #expect(Self.watchdogReport(idle)?["skipped_unchanged"]?.int == Harness.exampleMissions)
        // The folder changes: every open episode is read, and the unreadable one is isolated.
        let marker = folder + "/.touched"
        Sys.close(try Sys.open(marker, O_WRONLY | O_CREAT))
        try Sys.unlink(marker)
        #expect(try h.tick(profile: Harness.teamTrial).status == 0)
        #expect(Sys.kind(victim) == .missing, "read and isolated as unreadable")
    }

    /// A tick importing missions leaves a snapshot identical byte for byte alone (same inode), so
    /// the scan cache still knows it; a changed one is taken in.
    @Test func anUnchangedImportedMissionIsNotRewritten() throws {
        let h = try Harness()
        let source = h.dir + "/feed"
        try Sys.makeDirectory(source)
        for name in try Sys.listDirectory(Harness.repoRoot + "/examples/missions") where name.hasSuffix(".json") {
            try DurableFile.write(
                try Sys.readFile(Harness.repoRoot + "/examples/missions/" + name), to: source + "/" + name)
        }
        let first = try h.tick(extra: ["--missions-from", source])
        #expect(first.json?["missions_unchanged"]?.int == 0)
        let mission = h.layout.missions + "/oracle-healthy-01.json"
        let inode = Sys.identity(mission)?.inode
        var changed = String(decoding: try Sys.readFile(source + "/oracle-healthy-01.json"), as: UTF8.self)
        changed += "\n"
        try DurableFile.write(Data(changed.utf8), to: source + "/oracle-healthy-01.json")
        let crm = h.layout.missions + "/crm-queued-05.json"
        let crmInode = Sys.identity(crm)?.inode
        let second = try h.tick(extra: ["--missions-from", source])
        #expect(second.json?["missions_imported"]?.int == Harness.exampleMissions)
        #expect(second.json?["missions_unchanged"]?.int == Harness.exampleMissions - 1)
        #expect(Sys.identity(crm)?.inode == crmInode, "unchanged: not rewritten")
        #expect(Sys.identity(mission)?.inode != inode, "changed: taken in")
        #expect(try Sys.readFile(mission) == Data(changed.utf8))
    }

    static func watchdogReport(_ run: Harness.Run) -> JSONValue? {
        run.json?["stages"]?.array.first { $0["stage"] == .string("watchdog") }?["report"]
    }

    /// A profile whose sender accepts without an ack, so escalations fall due too.
    static func unacked(_ h: Harness) throws -> String {
        let sender = try h.script("accept.sh", "cat > /dev/null; echo '{\"ok\":true}'")
        return try h.profile(
            named: "unacked",
            replacing: [
                (
                    "      mode: shim\n      timeout_ms: 10000\n",
                    "      mode: command\n      timeout_ms: 5000\n      binding:\n        command: [\(sender)]\n"
                )
            ])
    }

    @Test(arguments: [true, false])
    func theCacheChangesNoFindingOrNotice(acked: Bool) throws {
        let cached = try Harness()
        let uncached = try Harness()
        try cached.importExamples()
        try uncached.importExamples()
        let profiles =
            acked ? [Harness.teamTrial, Harness.teamTrial] : [try Self.unacked(cached), try Self.unacked(uncached)]
        try Self.waitUntilSettled(cached)
        var skippedAny = false
        var step = 0
        let agedFrom = time(nil) - 86_400
        for now in [
            "2026-11-20T12:00:00Z", "2026-11-20T12:00:30Z", "2026-11-20T12:05:00Z", "2026-11-20T12:20:00Z",
            "2026-11-20T12:59:59Z", "2026-11-20T13:00:00Z", "2026-11-20T13:00:30Z", "2026-11-20T13:30:00Z",
            "2026-11-20T11:00:00Z", "2026-11-20T16:00:00Z", "2026-11-20T16:00:30Z", "2026-11-20T18:00:00Z",
            "2026-11-23T12:00:00Z",
        ] {
            try? Sys.unlink(uncached.layout.watchdogScanCache)
            try? Sys.unlink(uncached.layout.watchdogEpisodeIndex)
            // The open episodes' folder looks old, each time at a time never used before (as any
            // change gives it), so their index is used.
            step += 1
            NoticeHistoryTests.setModified(cached.layout.openEpisodes, to: agedFrom - step)
            let a = try cached.tick(profile: profiles[0], extra: ["--now", now])
            let b = try uncached.tick(profile: profiles[1], extra: ["--now", now])
            #expect(a.status == b.status)
            let ra = Self.watchdogReport(a)
            let rb = Self.watchdogReport(b)
            #expect(ra?["findings_by_rule"] == rb?["findings_by_rule"], "at \(now)")
            #expect(ra?["missions_by_status_type"] == rb?["missions_by_status_type"], "at \(now)")
            #expect(ra?["approval_backlog"] == rb?["approval_backlog"], "at \(now)")
            #expect(rb?["skipped_unchanged"]?.int == 0)
            if (ra?["skipped_unchanged"]?.int ?? 0) > 0 { skippedAny = true }
            func kinds(_ h: Harness) throws -> [String] { try h.notices().map { $0.notice_kind.rawValue }.sorted() }
            #expect(try kinds(cached) == kinds(uncached), "at \(now)")
        }
        #expect(skippedAny, "the cache was used")
        if !acked {
            #expect(try cached.notices().contains { $0.notice_kind == .escalation }, "escalations were exercised")
        }
    }

    /// The watchdog's report in a tick, and whether the tick started it.
    static func watchdogStage(_ run: Harness.Run) -> JSONValue? {
        run.json?["stages"]?.array.first { $0["stage"] == .string("watchdog") }
    }

    /// Ticks until the watchdog's scan cache and open-episode index hold (both skip what changed
    /// within the racy window: the episodes' folder is aged rather than waited for).
    static func settleQuiet(_ h: Harness, profile: String, now: String = Harness.now) throws {
        try waitUntilSettled(h)
        #expect(try h.tick(profile: profile, extra: ["--now", now]).status == 0)
        NoticeHistoryTests.age(h.layout.openEpisodes)
        #expect(try h.tick(profile: profile, extra: ["--now", now]).status == 0)
    }

    /// A tick whose watchdog has nothing to do does not start it.
    ///
    /// The run is made from its scan cache inside the tick and recorded as its own (its last run,
    /// its metrics). A mission edited in place, with the same size, starts it again.
    @Test func aQuietWatchdogIsNotStartedAndAnEditStartsItAgain() throws {
        let h = try Harness()
        try h.importExamples()
        try Self.settleQuiet(h, profile: Harness.teamTrial)
        let later = "2026-11-20T12:01:00Z"
        let quiet = try h.tick(profile: Harness.teamTrial, extra: ["--now", later])
        #expect(quiet.status == 0, "\(quiet.stderr)")
        let stage = Self.watchdogStage(quiet)
        #expect(stage?["skipped"] == .string(Tick.quietWatchdogReason), "\(quiet.stdout)")
        #expect(stage?["report"]?["skipped_unchanged"]?.int == Harness.exampleMissions)
        #expect(stage?["report"]?["findings"]?.int == Self.watchdogReport(quiet)?["findings"]?.int)
        // Recorded as the watchdog's run, made by the tick's process (its pid ends both run ids).
        guard case .string(let tickRun)? = quiet.json?["run_id"] else {
            Issue.record("no run id")
            return
        }
        let pid = String(tickRun.split(separator: "-").last ?? "")
        let last = try CanonicalJSON.decode(JSONValue.self, from: try Sys.readFile(h.layout.watchdogLastRun))
        #expect(last["run_id"] == .string("wdr-20261120T120100000Z-" + pid), "\(last)")
        #expect(last["started_at"] == .string("2026-11-20T12:01:00.000Z"))
        let prom = String(decoding: try Sys.readFile(h.layout.metrics + "/rgov.prom"), as: UTF8.self)
        #expect(prom.contains("rgov_stage_last_success_timestamp_seconds{stage=\"watchdog\"} 1795176060"), "\(prom)")
        let record = try CanonicalJSON.decode(
            StageLastRun.self, from: try Sys.readFile(h.layout.lastRunRecord("watchdog")))
        #expect(record.exit_status == 0 && Timestamp.format(record.at) == "2026-11-20T12:01:00.000Z")
        // Edited in place, same inode, same size (perhaps the same second): the tick starts the
        // watchdog, whose own scan sees the change too.
        let path = h.layout.mission("oracle-healthy-01")
        let before = try #require(Sys.identity(path))
        let text = String(decoding: try Sys.readFile(path), as: UTF8.self)
        let edited = text.replacingOccurrences(of: "\"tokens_used\": 121000", with: "\"tokens_used\": 999999")
        #expect(edited != text && edited.utf8.count == text.utf8.count)
        let fd = try Sys.open(path, O_WRONLY)
        try Array(edited.utf8).withUnsafeBytes { try Sys.writeAll(fd, $0, path: path) }
        Sys.close(fd)
        #expect(Sys.identity(path)?.size == before.size && Sys.identity(path)?.inode == before.inode)
        let judged = try h.tick(profile: Harness.teamTrial, extra: ["--now", later])
        #expect(Self.watchdogStage(judged)?["skipped"] == nil, "\(judged.stdout)")
        #expect(Self.watchdogReport(judged)?["findings_by_rule"]?["budget/tokens-exceeded"]?.int == 1)
        #expect(
            try h.notices().contains { $0.mission_id == "oracle-healthy-01" && $0.rule_id == "budget/tokens-exceeded" })
    }

    /// A watchdog whose lock is held is started (and says so), not run inside the tick.
    @Test func aQuietWatchdogWhoseLockIsHeldIsLeftToItsProcess() throws {
        let h = try Harness()
        try h.importExamples()
        try Self.settleQuiet(h, profile: Harness.teamTrial)
        let lock = try #require(try StageLock.acquire(h.layout.lockFile("watchdog"), holder: "the test"))
        let run = try h.tick(profile: Harness.teamTrial)
        withExtendedLifetime(lock) {}
        #expect(Self.watchdogStage(run)?["skipped"] == nil)
        #expect(Self.watchdogReport(run)?["skipped"] == .string("lock_held"), "\(run.stdout)")
    }

    /// The scan cache holds only under the profile it was made with: a shorter reminder interval
    /// brings a reminder due that the cached times did not know (the silent mission is cached
    /// quiet until 12:30, its reminder due at 12:02 under the new profile).
    @Test func aChangedProfileIsJudgedAgain() throws {
        let h = try Harness()
        try h.importExamples()
        try Self.settleQuiet(h, profile: Harness.teamTrial)
        let often = try h.profile(
            named: "team-often", replacing: [("repeat_interval_ms: 14400000", "repeat_interval_ms: 120000")])
        #expect(try h.activate(often).status == 0)
        let run = try h.tick(profile: often, extra: ["--now", "2026-11-20T12:05:00Z"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(Self.watchdogStage(run)?["skipped"] == nil)
        #expect(
            try h.notices().contains { $0.notice_kind == .reminder && $0.mission_id == "catalyst-silent-03" },
            "\(run.stdout)")
    }
}
