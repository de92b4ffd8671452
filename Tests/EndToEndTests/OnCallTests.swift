import Foundation
import Testing

@testable import GovernanceCore

/// On call with rgov (#32): the operator actions log and the rotation of `STATE/logs/`.
@Suite struct OnCallTests {
    static func lines(_ text: String) -> [String] { text.split(separator: "\n").map(String.init) }

    static func decoded(_ run: Harness.Run) throws -> [OperatorAction] {
        try lines(run.stdout).map { try CanonicalJSON.decode(OperatorAction.self, from: Data($0.utf8)) }
    }

    // MARK: rgov actions

    @Test func actionsListsAllowedAndRefusedOldestFirstAndFilters() throws {
        let h = try Harness()
        try h.importExamples()
        let me = Sys.userName()
        let mine = try h.profile(named: "mine", audit: ["operators: [\(me)]"])
        #expect(try h.tick(profile: mine).status == 0)
        let refused = try h.run("rgov", ["hold", "ALL", "--by", "mallory"])
        #expect(refused.status == 77, "\(refused.stderr)")
        let failed = try h.run(
            "rgov",
            ["mission", "fail", "crm-overdue-02", "--by", me, "--reason", "stuck", "--now", "2026-11-20T12:05:00Z"])
        #expect(failed.status == 0, "\(failed.stderr)")

        let all = try h.run("rgov", ["actions", "--json"])
        #expect(all.status == 0, "\(all.stderr)")
        let listed = try Self.decoded(all)
        #expect(listed.map(\.allowed) == [false, true], "oldest first: the refusal, then the mission failed")
        #expect(listed.map(\.by) == ["mallory", me] && listed.allSatisfy { $0.os_user == me })
        #expect(listed.first?.action == "hold" && listed.first?.target == "ALL")
        #expect(listed.first?.result.hasPrefix("refused") == true, "\(listed)")
        let failVerb = try #require(listed.last?.action)
        #expect(listed.last?.target == "crm-overdue-02" && listed.last?.missions == ["crm-overdue-02"])

        let text = try h.run("rgov", ["actions"])
        let rows = Self.lines(text.stdout)
        #expect(
            rows.first?.split(separator: " ", omittingEmptySubsequences: true).prefix(4) == [
                "TIME", "VERB", "TARGET", "BY",
            ])
        #expect(rows.count == 4 && rows.last == "-- 2 actions", "\(text.stdout)")
        #expect(rows[1].contains("mallory") && rows[1].contains("REFUSED") && rows[1].hasPrefix("2026-11-20T12:00:00"))
        #expect(rows[2].contains(me) && rows[2].contains("allowed") && rows[2].hasPrefix("2026-11-20T12:05:00"))

        #expect(try Self.decoded(h.run("rgov", ["actions", "--json", "--by", "mallory"])).map(\.by) == ["mallory"])
        #expect(try Self.decoded(h.run("rgov", ["actions", "--json", "--verb", "hold"])).map(\.by) == ["mallory"])
        #expect(try Self.decoded(h.run("rgov", ["actions", "--json", "--verb", failVerb])).map(\.by) == [me])
        let none = try h.run("rgov", ["actions", "--json", "--verb", "ack"])
        #expect(none.status == 0 && none.stdout.isEmpty, "JSON lines: nothing when none matches")
        #expect(try h.run("rgov", ["actions", "--verb", "ack"]).stdout == "-- 0 actions\n")
        let later = try Self.decoded(h.run("rgov", ["actions", "--json", "--since", "2026-11-20T12:01:00Z"]))
        #expect(later.map(\.by) == [me])
        #expect(
            try Self.decoded(h.run("rgov", ["actions", "--json", "--mission", "crm-overdue-02"])).map(\.by) == [me])
        #expect(try h.run("rgov", ["actions", "--json", "--mission", "no-such-mission"]).stdout.isEmpty)
        #expect(try h.run("rgov", ["actions", "--since", "yesterday"]).status == 64)
    }

    // MARK: log rotation

    static let logrotate = "/usr/sbin/logrotate"

    @Test func theShippedLogrotateSnippetRotatesTheTickLogAndDoctorWarnsWithoutIt() throws {
        let h = try Harness()
        try h.importExamples()
        #expect(try h.tick(profile: Harness.teamTrial).status == 0)
        let logs = h.state + "/logs"
        try Sys.makeDirectory(logs)
        let log = logs + "/tick.log"
        #expect(FileManager.default.createFile(atPath: log, contents: Data("a tick\n".utf8)))
        let rotation = h.dir + "/logrotate.d"
        try Sys.makeDirectory(rotation)
        let env = ["RGOV_LOGROTATE_DIR": rotation]

        // Small: nothing to say.
        let small = try h.run("rgov", ["doctor", "--json"], env: env)
        #expect(DeploymentTests.checks(small)["logs"] == nil, "\(small.stdout)")
        // Over 64 MiB, no snippet names the folder: a warning naming the log and the fix.
        let handle = try #require(FileHandle(forWritingAtPath: log))
        try handle.truncate(atOffset: UInt64(Doctor.logWarnBytes) + 1)
        try handle.close()
        let large = try h.run("rgov", ["doctor", "--json"], env: env)
        #expect(DeploymentTests.checks(large)["logs"] == "warn", "\(large.stdout)")
        #expect(large.stdout.contains(log) && large.stdout.contains("logrotate"), "\(large.stdout)")

        // The shipped snippet, with this state's path and owner, in the folder: ok.
        let shipped = String(decoding: try Sys.readFile(Harness.repoRoot + "/deploy/logrotate/rgov"), as: UTF8.self)
        #expect(shipped.contains("/var/lib/rgov/state/logs/*.log {"), "the path the README tells to replace")
        let owner = Sys.userName()
        let group = Sys.groupNames().first ?? owner
        let snippet = shipped.replacingOccurrences(of: "/var/lib/rgov/state", with: h.state)
            .replacingOccurrences(of: "su rgov rgov", with: "su \(owner) \(group)")
        #expect(FileManager.default.createFile(atPath: rotation + "/rgov", contents: Data(snippet.utf8)))
        let rotated = try h.run("rgov", ["doctor", "--json"], env: env)
        #expect(DeploymentTests.checks(rotated)["logs"] == "ok", "\(rotated.stdout)")

        // logrotate reads it without a complaint, and rotates the log for real when forced.
        let status = h.dir + "/logrotate.status"
        let dry = try ChildProcess.run(
            ChildSpec(executable: Self.logrotate, arguments: ["-d", "-s", status, rotation + "/rgov"], deadline: 30))
        #expect(dry.status == 0, "\(dry.stderrText)")
        #expect(dry.stderrText.contains("considering log \(log)"), "\(dry.stderrText)")
        #expect(!dry.stderrText.lowercased().contains("error"), "\(dry.stderrText)")
        let forced = try ChildProcess.run(
            ChildSpec(executable: Self.logrotate, arguments: ["-f", "-s", status, rotation + "/rgov"], deadline: 30))
        #expect(forced.status == 0, "\(forced.stderrText)")
        #expect(Sys.kind(log) == .missing, "renamed away; the next tick's >> starts a new one")
        let kept = try Sys.listDirectory(logs).filter { $0.hasPrefix("tick.log-") }
        #expect(kept.count == 1 && !(kept.first?.hasSuffix(".gz") ?? true), "delaycompress: \(kept)")
        // The next tick (as cron runs it) writes a fresh log.
        let again = try h.run("rgov", ["doctor", "--json"], env: env)
        #expect(DeploymentTests.checks(again)["logs"] == "ok")
    }

    @Test func installPutsTheLogrotateSnippetUnderShare() throws {
        let prefix = try Harness().dir + "/prefix"
        _ = try DeploymentTests.install(prefix)
        #expect(
            try Sys.readFile(prefix + "/share/rgov/logrotate/rgov")
                == Sys.readFile(Harness.repoRoot + "/deploy/logrotate/rgov"))
    }

    // MARK: heartbeat

    func heartbeatProfile(_ h: Harness, _ lines: [String], named name: String = "beat") throws -> String {
        let anchor = "  notifications:\n"
        return try h.profile(
            named: name,
            replacing: [(anchor, anchor + "    heartbeat:\n" + lines.map { "      " + $0 + "\n" }.joined())])
    }

    @Test func aCommandHeartbeatGetsOnePingPerTickAndFailForAFailedTick() throws {
        let h = try Harness()
        try h.importExamples()
        let pings = h.dir + "/pings"
        let bodies = h.dir + "/bodies"
        let beat = try h.script("beat", "echo \"$@\" >> \(pings); cat >> \(bodies)")
        let profile = try heartbeatProfile(h, ["command: [\(beat), hc]", "start: true"])
        // A stage that dies: the tick fails, the heartbeat says fail, with the summary.
        let failed = try h.tick(profile: profile, env: ["RGOV_FAULT": "bridge.after_intent"])
        #expect(failed.status == 1, "\(failed.stdout)")
        #expect(String(decoding: try Sys.readFile(bodies), as: UTF8.self).contains("FAILED: a stage exited non-zero"))
        #expect(try h.tick(profile: profile).status == 0)
        let lines = Self.lines(String(decoding: try Sys.readFile(pings), as: UTF8.self))
        #expect(lines == ["hc start", "hc fail", "hc start", "hc success"], "one ping per tick: \(lines)")
        let body = String(decoding: try Sys.readFile(bodies), as: UTF8.self)
        #expect(body.contains("rgov tick: state \(h.state)") && body.contains("  ok"), "\(body)")
        let doctor = try h.run("rgov", ["doctor", "--json"])
        #expect(DeploymentTests.checks(doctor)["heartbeat"] == "ok", "\(doctor.stdout)")
    }

    @Test func aHeartbeatToADeadPortLeavesTheTickAloneAndDoctorWarns() throws {
        let h = try Harness()
        try h.importExamples()
        let profile = try heartbeatProfile(h, ["url: http://127.0.0.1:1/ping/secret-uuid-1234"])
        let tick = try h.tick(profile: profile)
        #expect(tick.status == 0, "the tick's exit status is unchanged: \(tick.stderr)")
        #expect(tick.stderr.contains("heartbeat success to http://127.0.0.1:1/[redacted] failed"), "\(tick.stderr)")
        #expect(!tick.stderr.contains("secret-uuid-1234"))
        let doctor = try h.run("rgov", ["doctor", "--json"])
        #expect(DeploymentTests.checks(doctor)["heartbeat"] == "warn", "\(doctor.stdout)")
        #expect(doctor.stdout.contains("http://127.0.0.1:1/[redacted]") && doctor.stdout.contains("FAILED"))
        #expect(!doctor.stdout.contains("secret-uuid-1234"))
        // The secret stays out of what is stored.
        let snapshots = try Sys.listDirectory(h.layout.profileSnapshots)
        for name in snapshots {
            #expect(
                !String(decoding: try Sys.readFile(h.layout.profileSnapshots + "/" + name), as: UTF8.self).contains(
                    "secret-uuid-1234"))
        }
    }

    @Test func aUrlHeartbeatIsPostedThroughRgovsOwnClient() throws {
        let h = try Harness()
        try h.importExamples()
        let (base, log) = try SenderTests.receiver(h)
        let profile = try heartbeatProfile(h, ["url: \(base)/ping/token-5678/ok"])
        // No curl on the PATH: the heartbeat needs no outside tool.
        let tick = try h.tick(profile: profile, env: ["PATH": "/nonexistent"])
        #expect(tick.status == 0, "\(tick.stderr)")
        let posts = String(decoding: (try? Sys.readFile(log)) ?? Data(), as: UTF8.self).split(separator: "\n")
        #expect(posts.count == 1, "\(posts)")
        #expect(posts.first?.contains("\"path\": \"/ping/token-5678/ok\"") == true, "\(posts)")
        #expect(posts.first?.contains("rgov heartbeat: success") == true)
        let record = try #require(Heartbeat.last(h.layout))
        #expect(record.ok && record.kind == .success && !record.target.contains("token-5678"), "\(record)")
    }

    @Test func aHeartbeatWithBothUrlAndCommandIsRefusedWithItsLine() throws {
        let h = try Harness()
        let both = try heartbeatProfile(h, ["url: http://127.0.0.1:1/x", "command: [/bin/true]"])
        let run = try h.run("rgov", ["validate", "--profile", both])
        #expect(run.status == 78, "\(run.stderr)")
        #expect(run.stderr.contains(both + ":") && run.stderr.contains("not both"), "\(run.stderr)")
        let wrong = try heartbeatProfile(h, ["url: [a, b]"], named: "wrong")
        let typed = try h.run("rgov", ["validate", "--profile", wrong])
        #expect(typed.status == 78 && typed.stderr.contains(wrong + ":"), "\(typed.stderr)")
        let scheme = try heartbeatProfile(h, ["url: ftp://example.org/x"], named: "scheme")
        #expect(try h.run("rgov", ["validate", "--profile", scheme]).status == 78)
    }
}
