import Foundation
import Testing

@testable import GovernanceCore

/// Each section of docs/runbooks.md, run as written on a state folder in that failure: `rgov
/// status` points at the section while the failure holds, the section's commands recover, and the
/// state ends healthy (the section no longer listed).
@Suite struct RunbookTests {
    static let t0 = "2026-11-20T12:00:00Z"

    static func runbooks(_ h: Harness, at now: String, profile: String? = nil) throws -> [String] {
        let run = try h.run("rgov", ["status", "--json", "--now", now] + (profile.map { ["--profile", $0] } ?? []))
        #expect(run.status == 0, "\(run.stderr)")
        return (run.json?["runbooks"]?.array ?? []).compactMap {
            if case .string(let s) = $0 { return String(s.split(separator: "#").last ?? "") }
            return nil
        }
    }

    func ok(_ h: Harness, _ arguments: [String], at now: String, env: [String: String] = [:]) throws {
        let run = try h.run("rgov", arguments + ["--now", now], env: env)
        #expect(run.status == 0, "rgov \(arguments.joined(separator: " ")): \(run.stderr)")
    }

    @Test(arguments: ["colony-service-unavailable", "colony-authentication-failure"])
    func theColonyStopsWritingAndComesBack(section: String) throws {
        let h = try Harness()
        try h.importExamples()
        try ok(h, ["tick"], at: Self.t0)
        let later = "2026-11-23T12:00:00Z"
        #expect(try Self.runbooks(h, at: later).contains("colony-service-unavailable"), "three days without a tick")
        let doctor = try h.run("rgov", ["doctor", "--json", "--now", later])
        #expect(doctor.json?["ok"] == .bool(false), "the doctor sees the stale run")
        // The colony (or its writer, once its credential is renewed) reports again, and the tick runs.
        try ok(
            h, ["report", "--mission", "oracle-healthy-01", "--kind", "checkpoint", "--text", "back", "--at", later],
            at: later)
        try ok(h, ["tick"], at: later)
        #expect(!(try Self.runbooks(h, at: later)).contains("colony-service-unavailable"))
        let metrics = String(decoding: try Sys.readFile(Metrics.path(h.layout)), as: UTF8.self)
        #expect(metrics.contains("rgov_mission_feed_last_update_timestamp_seconds 1795435200"), "the feed moved")
    }

    @Test func aSenderOutageIsRetriedOnceTheChannelIsBack() throws {
        let h = try Harness()
        try SenderTests.oneNotice(h)
        let down = h.dir + "/channel-down"
        try DurableFile.write(Data(), to: down)
        let script = try h.script("channel.sh", "cat > /dev/null; [ -f \(down) ] && exit 75; exit 0")
        let profile = try SenderTests.profile(
            h, "channel", sender: "      mode: command\n      binding:\n        command: [\(script)]\n")
        try ok(h, ["tick", "--profile", profile], at: Self.t0)
        #expect(try Self.runbooks(h, at: Self.t0).contains("provider-sender-outage"))
        let waiting = try h.run("rgov", ["ls", "--state-filter", "pending_external_send", "--now", Self.t0])
        #expect(waiting.stdout.contains("temporary_failure"))
        try Sys.unlink(down)  // the channel is fixed
        try ok(h, ["tick", "--profile", profile], at: "2026-11-20T12:05:00Z")
        #expect(!(try Self.runbooks(h, at: "2026-11-20T12:05:00Z")).contains("provider-sender-outage"))
        #expect(try h.notices().first { $0.notice_kind == .finding }?.state_reason == "sent_unconfirmed")
    }

    @Test func aMalformedPayloadIsFixedAndRestored() throws {
        let h = try Harness()
        try h.layout.prepare()
        let bad =
            #"{"mission_id":"m-typo","mission_type":"horoscope","status":"running","created_at":"2026-11-20T11:00:00Z"}"#
        try DurableFile.write(Data(bad.utf8), to: h.layout.missions + "/m-typo.json")
        try ok(h, ["tick"], at: Self.t0)
        #expect(try Self.runbooks(h, at: Self.t0).contains("malformed-contract-payload"))
        let id = try #require(try Sys.listDirectory(h.layout.quarantine).first)
        #expect(try h.run("rgov", ["quarantine", "show", id]).stdout.contains("unknown mission_type"))
        // The writer is fixed; the file is repaired where it waits, then restored.
        let fixed = bad.replacingOccurrences(of: "horoscope", with: "oracle_advisory")
        try DurableFile.write(Data(fixed.utf8), to: h.layout.quarantine + "/" + id + "/m-typo.json")
        try ok(h, ["quarantine", "restore", id, "--by", "alice"], at: Self.t0)
        try ok(h, ["tick"], at: "2026-11-20T12:01:00Z")
        #expect(!(try Self.runbooks(h, at: "2026-11-20T12:01:00Z")).contains("malformed-contract-payload"))
        #expect(Sys.kind(h.layout.missions + "/m-typo.json") == .regular)
    }

    @Test func anApprovalBacklogIsDecided() throws {
        let h = try Harness()
        try h.importExamples()
        try ok(h, ["tick"], at: Self.t0)
        #expect(try Self.runbooks(h, at: Self.t0).contains("approval-queue-backlog"))
        let backlog = try h.run("rgov", ["approvals", "--json", "--now", Self.t0])
        let ids: [String] =
            backlog.json?.array.compactMap {
                if case .string(let s)? = $0["writeback_id"] { return s }
                return nil
            } ?? []
        #expect(!ids.isEmpty)
        for id in ids { try ok(h, ["reject", id, "--by", "alice", "--reason", "wrong segment"], at: Self.t0) }
        try ok(h, ["tick"], at: "2026-11-20T12:01:00Z")
        #expect(!(try Self.runbooks(h, at: "2026-11-20T12:01:00Z")).contains("approval-queue-backlog"))
    }

    @Test func aStuckMissionIsFailedByAnOperator() throws {
        let h = try Harness()
        try h.layout.prepare()
        let stuck: JSONValue = .object([
            "mission_id": .string("m-stuck"), "mission_type": .string("oracle_advisory"),
            "status": .string("running"), "stage": .string("worker"), "created_at": .string("2026-11-20T08:00:00Z"),
            "started_at": .string("2026-11-20T08:00:00Z"), "stage_entered_at": .string("2026-11-20T08:30:00Z"),
            "last_checkpoint_at": .string("2026-11-20T11:55:00Z"),
        ])
        try DurableFile.write(try CanonicalJSON.encodeFile(stuck), to: h.layout.missions + "/m-stuck.json")
        try ok(h, ["tick"], at: Self.t0)
        #expect(try Self.runbooks(h, at: Self.t0).contains("stuck-mission"))
        #expect(try h.run("rgov", ["show", "m-stuck"]).stdout.contains("stuck in stage worker"))
        try ok(h, ["mission", "fail", "m-stuck", "--by", "alice", "--reason", "worker lost"], at: Self.t0)
        try ok(h, ["tick"], at: "2026-11-20T12:01:00Z")
        #expect(!(try Self.runbooks(h, at: "2026-11-20T12:01:00Z")).contains("stuck-mission"))
    }
}
