import Foundation
import Testing

@testable import GovernanceCore

/// What an on-call operator reads: structured logs that follow a tick, Prometheus metrics that
/// agree with the state, alert rules with their own tests.
@Suite struct ObservabilityTests {
    /// A program on PATH, or nil where this machine lacks it (`.ci/run` installs the cross-checks).
    static func tool(_ name: String) -> String? {
        try? ChildProcess.resolve(name, environment: ["PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"])
    }

    static func string(_ value: JSONValue?) -> String? {
        if case .string(let s)? = value { return s }
        return nil
    }

    @Test func jsonLogsFollowATickThroughEveryStageIntoItsArtifacts() throws {
        let h = try Harness()
        try h.importExamples()
        let run = try h.run("rgov", ["tick", "--profile", Harness.teamTrial, "--log-format", "json"])
        #expect(run.status == 0, "\(run.stderr)")
        let tickID = try #require(run.stdout.split(separator: " ").dropFirst().first.map(String.init))
        var stages: Set<String> = []
        var lines = 0
        for line in run.stderr.split(separator: "\n") {
            let object = try CanonicalJSON.decode(JSONValue.self, from: Data(line.utf8))
            lines += 1
            for key in ["ts", "level", "stage", "run_id", "msg"] {
                #expect(Self.string(object[key]) != nil, "\(key) missing: \(line)")
            }
            #expect(Self.string(object["ts"]) == "2026-11-20T12:00:00.000Z", "the injected clock")
            let runID = Self.string(object["run_id"]) ?? ""
            #expect(runID == tickID || Self.string(object["parent_run_id"]) == tickID, "\(line)")
            if runID != tickID { stages.insert(Self.string(object["stage"]) ?? "") }
        }
        #expect(lines > 5 && stages == ["watchdog", "dispatcher", "bridge"])
        #expect(run.stderr.contains("\"event\":\"notice_created\"") && run.stderr.contains("\"notice_id\":\"ntc-"))
        let artifact = try #require(Watchdog.latestRun(h.layout))
        #expect(artifact.parent_run_id == tickID, "the watchdog's run artifact names the tick")
        let text = try h.run("rgov", ["tick", "--profile", Harness.teamTrial, "--now", "2026-11-20T12:05:00Z"])
        for line in text.stderr.split(separator: "\n") {
            #expect(
                line.range(of: #"^2026-11-20T12:05:00\.000Z (tick|wdr|dsp|brg)-\S+ "#, options: .regularExpression)
                    != nil, "\(line)")
        }
    }

    @Test func theMetricsFileAgreesWithTheStateAndCountersSurviveARestart() throws {
        let h = try Harness()
        try h.importExamples()
        #expect(try h.tick(profile: Harness.teamTrial).status == 0)
        let path = Metrics.path(h.layout)
        let first = String(decoding: try Sys.readFile(path), as: UTF8.self)
        func value(_ text: String, _ sample: String) -> Double? {
            text.split(separator: "\n").first { $0.hasPrefix(sample + " ") }.flatMap {
                Double($0.split(separator: " ").last ?? "")
            }
        }
        #expect(value(first, #"rgov_notices{state="acked",reason=""}"#) == Double(Harness.exampleNotices))
        #expect(value(first, #"rgov_acks{kind="synthetic"}"#) == Double(Harness.exampleNotices))
        #expect(value(first, #"rgov_acks{kind="sender_ack"}"#) == 0, "synthetic acks are not counted as seen")
        #expect(value(first, #"rgov_send_attempts_total{mode="shim",outcome="synthetic"}"#) == 5)
        #expect(value(first, "rgov_quarantined_files") == 0)
        let missions = first.split(separator: "\n").filter { $0.hasPrefix("rgov_missions{") }
            .compactMap { Double($0.split(separator: " ").last ?? "") }.reduce(0, +)
        #expect(missions == Double(Harness.exampleMissions))
        for stage in ["watchdog", "dispatcher", "bridge"] {
            #expect(value(first, "rgov_stage_last_success_timestamp_seconds{stage=\"\(stage)\"}") == 1_795_176_000)
        }
        // Every family has HELP and TYPE (a histogram's under its name, without _bucket, _sum or _count).
        for line in first.split(separator: "\n") where !line.hasPrefix("#") {
            var family = String(line.prefix { $0 != "{" && $0 != " " })
            for suffix in ["_bucket", "_sum", "_count"] where family.hasSuffix(suffix) {
                let base = String(family.dropLast(suffix.count))
                if first.contains("# TYPE \(base) histogram\n") { family = base }
            }
            #expect(first.contains("# HELP \(family) ") && first.contains("# TYPE \(family) "), "\(family)")
        }
        // A second tick an hour later: counters only grow.
        #expect(try h.tick(profile: Harness.teamTrial, extra: ["--now", "2026-11-20T13:00:00Z"]).status == 0)
        let second = String(decoding: try Sys.readFile(path), as: UTF8.self)
        // The failed mission is one condition, still open: not counted again.
        let before = value(first, #"rgov_findings_total{rule="mission-failure/failed"}"#) ?? 0
        #expect(before == 1 && value(second, #"rgov_findings_total{rule="mission-failure/failed"}"#) == before)
        #expect(value(second, #"rgov_send_attempts_total{mode="shim",outcome="synthetic"}"#) ?? 0 >= 5)
        // An operator's ack is counted as a human-visible kind.
        if let promtool = Self.tool("promtool") {
            let check = try ChildProcess.run(
                ChildSpec(
                    executable: promtool, arguments: ["check", "metrics"], standardInput: Array(second.utf8),
                    deadline: 60))
            #expect(check.status == 0 && check.stdoutText.isEmpty && check.stderrText.isEmpty, "\(check.stderrText)")
        }
        let parse = try ChildProcess.run(
            ChildSpec(
                executable: "/usr/bin/env",
                arguments: [
                    "python3", "-c",
                    "import sys\ntry:\n from prometheus_client.parser import text_string_to_metric_families as p\n"
                        + "except ImportError:\n print('skip'); sys.exit(0)\n"
                        + "print(sum(len(f.samples) for f in p(sys.stdin.read())))",
                ], standardInput: Array(second.utf8), deadline: 60))
        #expect(parse.status == 0, "\(parse.stderrText)")
        let samples = second.split(separator: "\n").filter { !$0.hasPrefix("#") }.count
        #expect(parse.stdoutText == "skip\n" || parse.stdoutText == "\(samples)\n", "\(parse.stdoutText)")
    }

    /// A sample's value in an exposition text.
    static func value(_ text: String, _ sample: String) -> Double? {
        text.split(separator: "\n").first { $0.hasPrefix(sample + " ") }.flatMap {
            Double($0.split(separator: " ").last ?? "")
        }
    }

    /// A sender program that is not installed sends nothing, and each send it could not make is
    /// still counted, by its reason, so the sender-failing alert sees a channel that never ran.
    @Test func aSendWithNoSenderProgramIsCountedByItsReason() throws {
        let h = try Harness()
        try h.importExamples()
        let profile = try SenderTests.profile(
            h, "no-program", sender: "      mode: command\n      binding:\n        command: [\(h.dir)/not-installed]\n")
        #expect(try h.tick(profile: profile).status == 0)
        let reasons = try h.notices().map(\.state_reason)
        #expect(reasons.filter { $0 == "sender_unavailable" }.count == Harness.exampleNotices, "\(reasons)")
        let text = String(decoding: try Sys.readFile(Metrics.path(h.layout)), as: UTF8.self)
        #expect(
            Self.value(text, #"rgov_send_attempts_total{mode="command",outcome="sender_unavailable"}"#)
                == Double(Harness.exampleNotices), "\(text)")
        // Every receipt the bridge wrote is one counted outcome.
        let counted = text.split(separator: "\n").filter { $0.hasPrefix("rgov_send_attempts_total{") }
            .compactMap { Double($0.split(separator: " ").last ?? "") }.reduce(0, +)
        #expect(counted == Double(try h.receipts().count))
    }

    /// The samples of a family labelled by rule alone, non-zero ones only.
    static func byRule(_ h: Harness, _ family: String) throws -> [String: Double] {
        let text = String(decoding: try Sys.readFile(Metrics.path(h.layout)), as: UTF8.self)
        var out: [String: Double] = [:]
        for line in text.split(separator: "\n") where line.hasPrefix(family + "{rule=\"") {
            let rule = line.dropFirst(family.count + 7).prefix { $0 != "\"" }
            if let v = Double(line.split(separator: " ").last ?? ""), v != 0 { out[String(rule)] = v }
        }
        return out
    }

    /// The open episodes on disk, counted by rule.
    static func openEpisodes(_ h: Harness) throws -> [String: Double] {
        try h.layout.files(in: h.layout.openEpisodes).reduce(into: [:]) { counts, path in
            counts[try CanonicalJSON.decode(Episode.self, from: try Sys.readFile(path)).rule_id, default: 0] += 1
        }
    }

    /// A condition that holds over many runs is one finding; the open gauge is the conditions
    /// holding now, and falls when one clears.
    @Test func findingsCountConditionsOnceAndTheOpenGaugeFollowsThem() throws {
        let h = try Harness()
        try h.importExamples()
        #expect(try h.tick(profile: Harness.teamTrial).status == 0)
        #expect(try h.tick(profile: Harness.teamTrial).status == 0)
        let open = try Self.openEpisodes(h)
        #expect(open.values.reduce(0, +) == Double(Harness.exampleNotices))
        #expect(try Self.byRule(h, "rgov_findings_total") == open, "episodes opened, not sightings")
        #expect(try Self.byRule(h, "rgov_open_episodes") == open)
        // The colony reports a checkpoint: the overdue mission's condition clears.
        let mission = h.layout.mission("crm-overdue-02")
        let text = String(decoding: try Sys.readFile(mission), as: UTF8.self)
            .replacingOccurrences(of: "\"2026-11-20T11:20:00Z\"", with: "\"2026-11-20T11:59:00Z\"")
        try DurableFile.write(Data(text.utf8), to: mission)
        #expect(try h.tick(profile: Harness.teamTrial).status == 0)
        var cleared = open
        cleared["checkpoint-cadence/missed-checkpoint", default: 0] -= 1
        cleared = cleared.filter { $0.value != 0 }
        #expect(try Self.openEpisodes(h) == cleared)
        #expect(try Self.byRule(h, "rgov_open_episodes") == cleared, "the gauge falls")
        #expect(try Self.byRule(h, "rgov_findings_total") == open, "a counter never does")
    }

    /// `cat PATH` as nobody in `group` alone: its status and what it printed.
    static func catAsNobody(_ path: String, group: String) throws -> ChildResult {
        try ChildProcess.run(
            ChildSpec(
                executable: "/usr/bin/setpriv",
                arguments: ["--reuid=nobody", "--regid=\(group)", "--clear-groups", "--", "/bin/cat", path],
                environment: ["PATH": "/usr/bin:/bin"], deadline: 60))
    }

    static func doctorCheck(_ h: Harness, _ name: String) throws -> (status: String?, detail: String?) {
        let check = try h.run("rgov", ["doctor", "--json"]).json?["checks"]?.array.first {
            $0["check"] == .string(name)
        }
        return (check?["status"]?.stringValue, check?["detail"]?.stringValue)
    }

    /// With `spec.audit.metrics_group`, node_exporter's group reads rgov.prom and nothing else: the
    /// state folder is only searchable by it, `metrics/` listable, every other file still 0600.
    @Test(
        .enabled(
            if: Sys.kind("/usr/bin/setpriv") == .regular && Harness.canRunAsNobody && getgrnam("daemon") != nil,
            "needs root, setpriv, nobody, the daemon group and a temporary folder every user can enter"))
    func theMetricsGroupReadsTheTextfileAndNothingElse() throws {
        let h = try Harness(reachable: true)
        chmod(h.dir, 0o755)
        try h.importExamples()
        let profile = try h.profile(
            named: "metrics-group",
            audit: ["metrics_group: daemon"])
        #expect(try h.tick(profile: profile).status == 0)
        let daemon = try #require(GroupAccess.groupID(named: "daemon"))
        let prom = Metrics.path(h.layout)
        #expect(GroupAccess.status(h.state).map { [$0.gid, UInt32($0.mode)] } == [daemon, 0o710])
        #expect(GroupAccess.status(h.layout.metrics).map { [$0.gid, UInt32($0.mode)] } == [daemon, 0o750])
        #expect(GroupAccess.status(prom).map { [$0.gid, UInt32($0.mode)] } == [daemon, 0o640])
        let member = try Self.catAsNobody(prom, group: "daemon")
        let bytes = Array(try Sys.readFile(prom))
        #expect(member.status == 0 && member.stdout == bytes, "\(member.stderrText)")
        #expect(try Self.catAsNobody(prom, group: "nogroup").status != 0, "not in the group: refused")
        for other in [h.layout.metricsCounters, h.layout.activeProfile] {
            #expect(Sys.kind(other) == .regular)
            #expect(try Self.catAsNobody(other, group: "daemon").status != 0, "\(other) is not shared")
        }
        let notice = try #require(try h.layout.datedFiles(in: h.layout.notices(.acked)).first)
        #expect(try Self.catAsNobody(notice, group: "daemon").status != 0)
        // Everything else stays 0700 / 0600.
        var open: [String] = []
        let enumerator = FileManager.default.enumerator(atPath: h.state)
        while let relative = enumerator?.nextObject() as? String {
            let path = h.state + "/" + relative
            if path == prom || path == h.layout.metrics { continue }
            if let mode = Sys.status(path)?.mode, mode & 0o077 != 0 { open.append(relative) }
        }
        #expect(open.isEmpty, "\(open)")
        #expect(try Self.doctorCheck(h, "metrics group").status == "ok")
        #expect(try Self.doctorCheck(h, "modes").status == "ok")
        // Something else open to the group, or the file private again: doctor fails.
        chmod(h.layout.activeProfile, 0o644)
        let loose = try Self.doctorCheck(h, "metrics group")
        #expect(loose.status == "fail" && loose.detail?.contains(h.layout.activeProfile) == true, "\(loose)")
        chmod(h.layout.activeProfile, 0o600)
        chmod(prom, 0o600)
        #expect(try Self.doctorCheck(h, "metrics group").status == "fail")
        // A profile without the group takes the access back at its first metrics write.
        #expect(try h.activate(Harness.teamTrial).status == 0)
        #expect(try h.tick(extra: ["--now", "2026-11-20T12:05:00Z"]).status == 0)
        #expect(Sys.status(h.state)?.mode == 0o700 && Sys.status(h.layout.metrics)?.mode == 0o700)
        #expect(Sys.status(prom)?.mode == 0o600)
        #expect(try Self.catAsNobody(prom, group: "daemon").status != 0)
    }

    /// A metrics group this host does not have shares nothing, and doctor says so.
    @Test func aMetricsGroupThatDoesNotExistSharesNothingAndDoctorFails() throws {
        let h = try Harness()
        try h.importExamples()
        let profile = try h.profile(
            named: "no-such-group",
            audit: ["metrics_group: rgov-no-such-group"])
        let run = try h.tick(profile: profile)
        #expect(run.status == 0 && run.stderr.contains("rgov-no-such-group"), "\(run.stderr)")
        #expect(Sys.status(h.state)?.mode == 0o700 && Sys.status(Metrics.path(h.layout))?.mode == 0o600)
        let check = try Self.doctorCheck(h, "metrics group")
        #expect(check.status == "fail" && check.detail?.contains("rgov-no-such-group") == true, "\(check)")
        #expect(try h.run("rgov", ["doctor"]).status == 1)
    }

    @Test func anOperatorAckIsCountedAsHumanVisible() throws {
        let h = try Harness()
        try h.importExamples()
        #expect(try h.tick().status == 0)  // dry-run: pending
        let id = try #require(try h.notices().first?.notice_id)
        #expect(try h.run("rgov", ["ack", id, "--by", "alice"]).status == 0)
        let text = String(decoding: try Sys.readFile(Metrics.path(h.layout)), as: UTF8.self)
        #expect(text.contains(#"rgov_acks{kind="operator_attestation"} 1"#))
    }

    @Test(.enabled(if: tool("promtool") != nil, "needs promtool (Debian's prometheus)"))
    func theAlertRulesPassTheirOwnTests() throws {
        let promtool = try #require(Self.tool("promtool"))
        let folder = Harness.repoRoot + "/deploy/prometheus"
        let check = try ChildProcess.run(
            ChildSpec(executable: promtool, arguments: ["check", "rules", folder + "/rgov-alerts.yml"], deadline: 60))
        #expect(check.status == 0, "\(check.stdoutText)\(check.stderrText)")
        let test = try ChildProcess.run(
            ChildSpec(
                executable: promtool, arguments: ["test", "rules", folder + "/rgov-alerts.test.yml"], deadline: 120))
        #expect(test.status == 0 && test.stdoutText.contains("SUCCESS"), "\(test.stdoutText)\(test.stderrText)")
        // Every alert has a test case and names a runbook section that exists.
        let rules = String(decoding: try Sys.readFile(folder + "/rgov-alerts.yml"), as: UTF8.self)
        let tests = String(decoding: try Sys.readFile(folder + "/rgov-alerts.test.yml"), as: UTF8.self)
        let runbooks = String(decoding: try Sys.readFile(Harness.repoRoot + "/docs/runbooks.md"), as: UTF8.self)
        for line in rules.split(separator: "\n") where line.contains("- alert: ") {
            let name = String(line.split(separator: ":").last ?? "").trimmingCharacters(in: .whitespaces)
            #expect(tests.contains("alertname: \(name)"), "\(name) has no test")
        }
        for line in rules.split(separator: "\n") where line.contains("runbook: ") {
            let anchor = String(line.split(separator: "#").last ?? "").trimmingCharacters(
                in: CharacterSet(charactersIn: "\" "))
            #expect(runbooks.contains("<a id=\"\(anchor)\"></a>"), "runbook section \(anchor) is missing")
        }
    }
}

/// The day summaries as a reader of `metrics/notice-history.json` sees them.
private struct NoticeHistoryFile: Decodable {
    var days: [String: [String: JSONValue]]
}

/// Counts that follow work, not history: finished notices are summarised once per day folder and
/// read again only when the folder changes.
@Suite struct NoticeHistoryTests {
    /// Acked notices over `days` old day folders, `per` each, copied from a real one with new ids.
    static func history(_ h: Harness, days: Int, per: Int) throws -> Notice {
        try h.importExamples()
        #expect(try h.tick(profile: Harness.teamTrial).status == 0)
        let acked = try #require(try h.notices().first { $0.state == .acked })
        let text = String(decoding: try CanonicalJSON.encodeFile(acked), as: UTF8.self)
        for d in 0..<days {
            let day = String(format: "2026-10-%02d", d + 1)
            let folder = h.layout.notices(.acked, day: day)
            try Sys.makeDirectory(folder)
            for n in 0..<per {
                let id = "ntc-old-\(d)-\(n)"
                try DurableFile.write(
                    Data(text.replacingOccurrences(of: acked.notice_id, with: id).utf8),
                    to: h.layout.artifact(id, in: folder))
            }
            // Old history: its folder's time is older than the window in which file times are
            // too coarse to key a cache on.
            Self.age(folder)
        }
        return acked
    }

    /// Sets a folder's modification time back (an hour by default).
    static func age(_ path: String, secondsAgo: Int = 3600) { setModified(path, to: time(nil) - secondsAgo) }

    /// Sets a folder's modification time to `then` (seconds since 1970).
    static func setModified(_ path: String, to then: Int) {
        var times = [timespec(tv_sec: then, tv_nsec: 0), timespec(tv_sec: then, tv_nsec: 0)]
        #expect(utimensat(AT_FDCWD, path, &times, 0) == 0, "\(path)")
    }

    static func status(_ h: Harness, _ extra: [String] = []) throws -> (acked: Int, synthetic: Int) {
        let run = try h.run("rgov", ["status", "--json"] + extra)
        #expect(run.status == 0, "\(run.stderr)")
        let status = try CanonicalJSON.decode(StatusReport.self, from: Data(run.stdout.utf8))
        return (status.notices_by_state["acked"] ?? -1, status.acks_by_kind["synthetic"] ?? -1)
    }

    /// Notices under way are summarised per folder the same way: the metrics of an idle tick read
    /// none of them, and follow any change to their folder.
    @Test func waitingNoticesAreSummarisedByFolderAndFollowItsChanges() throws {
        let h = try Harness()
        try h.importExamples()
        #expect(try h.tick().status == 0)
        let folder = h.layout.notices(.pending_external_send)
        let pending = try h.layout.files(in: folder)
        #expect(pending.count == Harness.exampleNotices)
        func gauge() throws -> [String] {
            String(decoding: try Sys.readFile(h.layout.metricsFile), as: UTF8.self).split(separator: "\n")
                .filter { $0.hasPrefix("rgov_notices{state=\"pending_external_send\"") }.map(String.init)
        }
        Self.age(folder)
        #expect(try h.tick().status == 0)
        #expect(try gauge() == ["rgov_notices{state=\"pending_external_send\",reason=\"dry_run\"} 5"])
        // Replaced in place, a notice leaves its folder's time alone: the summary stands.
        let fd = try Sys.open(pending[0], O_WRONLY | O_TRUNC)
        try Array("{}".utf8).withUnsafeBytes { try Sys.writeAll(fd, $0, path: pending[0]) }
        Sys.close(fd)
        #expect(try h.tick().status == 0)
        #expect(try gauge() == ["rgov_notices{state=\"pending_external_send\",reason=\"dry_run\"} 5"])
        // The folder changes: its notices are read again, the unreadable one is not counted, and
        // the tick fails naming it (`UnreadableRecords`, which keeps the same per-folder summary).
        let marker = folder + "/.touched"
        Sys.close(try Sys.open(marker, O_WRONLY | O_CREAT))
        try Sys.unlink(marker)
        let named = try h.tick()
        #expect(named.status == 1 && named.stderr.contains(pending[0]), "\(named.stdout)")
        #expect(try gauge() == ["rgov_notices{state=\"pending_external_send\",reason=\"dry_run\"} 4"])
    }

    /// Within one process the cache is decoded once, and a cache replaced since is read again.
    @Test func aReplacedCacheIsReadAgainInTheSameProcess() throws {
        let h = try Harness()
        _ = try Self.history(h, days: 3, per: 2)
        #expect(try Self.status(h).acked == 6 + Harness.exampleNotices, "the cache is written")
        let history = NoticeHistory(layout: h.layout)
        let first = try history.summary()
        #expect(first.finished[.acked] == 6 + Harness.exampleNotices)
        #expect(try history.summary() == first)
        // Another process replaces the cache (by rename): its day counts are taken as they are.
        var text = String(decoding: try Sys.readFile(h.layout.noticeHistory), as: UTF8.self)
        let day = try #require(text.range(of: "\"notices\" : 2"))
        text.replaceSubrange(day, with: "\"notices\" : 1002")
        try DurableFile.write(Data(text.utf8), to: h.layout.noticeHistory)
        #expect(try history.summary().finished[.acked] == 1006 + Harness.exampleNotices)
    }

    @Test func countsComeFromDaySummariesAndFollowEveryChange() throws {
        let h = try Harness()
        _ = try Self.history(h, days: 30, per: 10)
        let scanned = try h.layout.datedFiles(in: h.layout.notices(.acked)).count
        #expect(scanned == 300 + Harness.exampleNotices)
        #expect(try Self.status(h) == (scanned, scanned), "the first status summarises every folder")
        let cache = h.layout.noticeHistory
        let written = try #require(Sys.modifiedNanoseconds(cache))
        // An old notice's content changed in place: its folder's time did not, so its summary holds
        // (proof that status read no history), and nothing was written.
        let old = h.layout.artifact("ntc-old-3-4", in: h.layout.notices(.acked, day: "2026-10-04"))
        let fd = try Sys.open(old, O_WRONLY | O_TRUNC)
        let garbage = Array("{}".utf8)
        try garbage.withUnsafeBytes { try Sys.writeAll(fd, $0, path: old) }
        Sys.close(fd)
        #expect(try Self.status(h) == (scanned, scanned))
        #expect(Sys.modifiedNanoseconds(cache) == written, "an idle status writes nothing")
        // A notice filed into an old day (a clock set back) changes that folder: it is counted.
        try DurableFile.write(
            try Sys.readFile(h.layout.artifact("ntc-old-5-0", in: h.layout.notices(.acked, day: "2026-10-06"))),
            to: h.layout.artifact("ntc-late", in: h.layout.notices(.acked, day: "2026-10-02")))
        #expect(try Self.status(h) == (scanned + 1, scanned + 1))
        // That folder changed within the window of coarse file times: it is not cached until it
        // is older (a second change so soon could keep its time).
        let days = try CanonicalJSON.decode(
            NoticeHistoryFile.self, from: try Sys.readFile(cache)
        ).days
        #expect(days["acked:2026-10-02"] == nil && days["acked:2026-10-03"] != nil)
        // A recount reads every folder again: the emptied notice no longer has an evidence kind.
        #expect(try Self.status(h, ["--recount"]) == (scanned + 1, scanned))
        try Sys.unlink(cache)
        #expect(try Self.status(h) == (scanned + 1, scanned), "the cache is only a cache")
    }
}

/// An idle tick starts no stage that has nothing to do, and starts it again the moment it has.
@Suite struct IdleTickTests {
    static func skipped(_ run: Harness.Run) -> [String: String] {
        var out: [String: String] = [:]
        if case .array(let stages)? = run.json?["stages"] {
            for stage in stages {
                if case .string(let name)? = stage["stage"], case .string(let why)? = stage["skipped"] {
                    out[name] = why
                }
            }
        }
        return out
    }

    @Test func stagesWithNothingToDoAreNotStartedUntilTheyHave() throws {
        let h = try Harness()
        try h.importExamples()
        // The bridge crashes after its intents: in flight, it must run next time to recover them.
        let crashed = try h.tick(profile: Harness.teamTrial, env: ["RGOV_FAULT": "bridge.after_intent"])
        #expect(Self.skipped(crashed).isEmpty, "the first tick has work for every stage")
        let recovering = try h.tick(profile: Harness.teamTrial)
        #expect(Self.skipped(recovering) == ["dispatcher": "nothing queued"], "\(recovering.stdout)")
        #expect(try h.notices().allSatisfy { $0.state_reason == "outcome_unknown" && $0.next_attempt_at != nil })
        let lastBridgeRun = Sys.modifiedNanoseconds(h.layout.lastRunRecord("bridge"))
        // Retries scheduled, none due: neither the dispatcher nor the bridge starts.
        let idle = try h.tick(profile: Harness.teamTrial)
        #expect(Self.skipped(idle).keys.sorted() == ["bridge", "dispatcher"], "\(idle.stdout)")
        #expect(Sys.modifiedNanoseconds(h.layout.lastRunRecord("bridge")) == lastBridgeRun, "the bridge did not run")
        // Once the retries are due, the bridge runs and delivers them.
        let due = try h.tick(profile: Harness.teamTrial, extra: ["--now", "2026-11-20T12:02:00Z"])
        #expect(Self.skipped(due)["bridge"] == nil)
        #expect(try h.notices().filter { $0.notice_kind == .finding }.allSatisfy { $0.state == .acked })
    }

    /// A tick that finds nothing new makes no durable write: no fsync, no syncfs, no new run
    /// artifact (the journal of the store says every operation it made), and status still shows
    /// when it ran.
    @Test func anIdleTickMakesNoDurableWrite() throws {
        let h = try Harness()
        try h.importExamples()
        // Snapshots old enough to cache: under load the ticks below could otherwise straddle the
        // moment they become cacheable, and the idle tick would rightly write the cache.
        try ScanCacheTests.waitUntilSettled(h)
        #expect(try h.tick(profile: Harness.teamTrial).status == 0)
        #expect(try h.tick(profile: Harness.teamTrial).status == 0)
        let runs = try h.layout.datedFiles(in: h.layout.watchdogRuns).count
        let journal = h.dir + "/idle.journal"
        let idle = try h.tick(
            profile: Harness.teamTrial, env: ["RGOV_STORE_JOURNAL": journal], extra: ["--now", "2026-11-20T12:01:00Z"])
        #expect(idle.status == 0)
        let ops = String(decoding: try Sys.readFile(journal, limit: 16 << 20), as: UTF8.self)
        #expect(!ops.contains("\"op\":\"fsync\"") && !ops.contains("\"op\":\"syncfs\""), "\(ops)")
        #expect(ops.contains("last-run.json"), "the idle run is recorded")
        #expect(try h.layout.datedFiles(in: h.layout.watchdogRuns).count == runs, "no new run artifact")
        #expect(Watchdog.latestRun(h.layout)?.started_at == Harness.t0.addingTimeInterval(60))
        let status = try h.run("rgov", ["status", "--json", "--now", "2026-11-20T12:01:30Z"])
        #expect(status.status == 0 && status.stdout.contains("2026-11-20T12:01:00"), "\(status.stdout)")
        #expect(try h.run("rgov", ["check-state"]).status == 0)
    }
}
