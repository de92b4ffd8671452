import Foundation
import Testing

@testable import GovernanceCore

/// `rgov check-state` (and `scripts/check-state`): clean after real runs, and each broken
/// invariant named with its file.
@Suite struct StateCheckTests {
    /// A state after a whole tick with the trial shim: every notice acked, with receipts.
    static func state() throws -> Harness {
        let h = try Harness()
        try h.importExamples()
        #expect(try h.tick(profile: Harness.teamTrial).status == 0)
        return h
    }

    static func check(_ h: Harness) throws -> (status: Int32, invariants: [String]) {
        let run = try h.run("rgov", ["check-state", "--json"])
        let report = try? CanonicalJSON.decode(StateCheck.Report.self, from: Data(run.stdout.utf8))
        return (run.status, report?.violations.map(\.invariant) ?? ["no report: \(run.stderr)"])
    }

    static func acked(_ h: Harness) throws -> (path: String, notice: Notice) {
        let path = try #require(try h.layout.datedFiles(in: h.layout.notices(.acked)).first)
        return (path, try NoticeStore(layout: h.layout).read(path))
    }

    /// The corpus: what breaks, and the invariant that must be named.
    static var corpus: [(String, String, (Harness) throws -> Void)] {
        [
            (
                "a notice in two state folders", "duplicate_notice",
                { h in
                    let (path, notice) = try acked(h)
                    try DurableFile.write(
                        try Sys.readFile(path), to: h.layout.artifact(notice.notice_id, in: h.layout.notices(.queued)))
                }
            ),
            (
                "a half-written notice", "unreadable",
                { h in try DurableFile.write(Data("{\"notice_id\": \"ntc-".utf8), to: try acked(h).path) }
            ),
            (
                "acked without evidence", "evidence",
                { h in
                    let (path, _) = try acked(h)
                    let text = String(decoding: try Sys.readFile(path), as: UTF8.self)
                    guard case .object(var o) = try CanonicalJSON.decode(JSONValue.self, from: Data(text.utf8)) else {
                        return
                    }
                    o["ack_evidence"] = nil
                    try DurableFile.write(try CanonicalJSON.encodeFile(JSONValue.object(o)), to: path)
                }
            ),
            (
                "a receipt whose notice is gone", "orphan_receipt",
                { h in
                    let (path, notice) = try acked(h)
                    try Sys.unlink(path)
                    _ = notice
                }
            ),
            (
                "a filed attempt without its receipt", "attempt",
                { h in
                    let receipt = try #require(try h.layout.datedFiles(in: h.layout.receipts).first)
                    try Sys.unlink(receipt)
                }
            ),
            (
                "a mission chain with a link removed", "mission_chain",
                { h in
                    let chain = h.layout.chain("crm-overdue-02")
                    var lines = String(decoding: try Sys.readFile(chain), as: UTF8.self).split(separator: "\n")
                    lines.remove(at: 1)
                    try DurableFile.write(Data((lines.joined(separator: "\n") + "\n").utf8), to: chain)
                }
            ),
            (
                "a notice outside the folder of its state", "misfiled",
                { h in
                    let (path, notice) = try acked(h)
                    try DurableFile.move(path, to: h.layout.artifact(notice.notice_id, in: h.layout.notices(.queued)))
                }
            ),
            (
                "an open finding whose notice is gone", "finding_without_notice",
                { h in
                    let (path, notice) = try acked(h)
                    try Sys.unlink(path)
                    for receipt in try h.layout.datedFiles(in: h.layout.receipts)
                    where (receipt as NSString).lastPathComponent.hasPrefix("rcp-" + notice.notice_id) {
                        try Sys.unlink(receipt)
                    }
                }
            ),
            (
                "a temporary of a dead process", "stale_temporary",
                { h in
                    try DurableFile.write(
                        Data("{}".utf8), to: h.layout.notices(.queued) + "/.ntc-x.json.2147483646.0.tmp")
                }
            ),
        ]
    }

    @Test func aCleanStateHasNoViolationsAndEachBrokenInvariantIsNamed() throws {
        let clean = try Self.state()
        #expect(try Self.check(clean) == (0, []))
        let script = try ChildProcess.run(
            ChildSpec(
                executable: "/bin/bash", arguments: [Harness.repoRoot + "/scripts/check-state", clean.state],
                environment: ["PATH": "/usr/bin:/bin", "RGOV": Harness.bin + "/rgov"], deadline: 60))
        #expect(script.status == 0 && script.stdoutText.contains("0 violations"), "\(script.stdoutText)")
        for (name, invariant, breakIt) in Self.corpus {
            let h = try Self.state()
            try breakIt(h)
            let (status, invariants) = try Self.check(h)
            #expect(status == 1 && invariants.contains(invariant), "\(name): \(invariants)")
        }
    }
}

/// The soak in small: every named fault point and random SIGKILLs of the tick tree, with the
/// shim, command and webhook senders and operator verbs racing the bridge; recovered and checked.
@Suite struct SoakTests {
    @Test func aSmallSoakFindsNoViolation() throws {
        var environment = ProcessInfo.processInfo.environment
        environment["RGOV_BIN"] = Harness.bin
        environment["RGOV_FAULT"] = nil
        let run = try ChildProcess.run(
            ChildSpec(
                executable: "/usr/bin/env",
                arguments: ["python3", Harness.repoRoot + "/scripts/soak", "--trials", "34", "--seed", "3", "--json"],
                environment: environment, deadline: 900))
        let report = try CanonicalJSON.decode(JSONValue.self, from: Data(run.stdout))
        #expect(run.status == 0, "\(run.stdoutText)\(run.stderrText)")
        #expect(report["violations_per_invariant"] == .object([:]), "\(run.stdoutText)")
        guard case .object(let points)? = report["trials_per_point"] else {
            Issue.record("no trials table: \(run.stdoutText)")
            return
        }
        let covered = Set(points.keys.map { String($0.split(separator: " ")[0]) })
        for point in FaultInjection.points {
            #expect(covered.contains(point), "\(point) was never armed")
        }
        #expect(covered.contains("random"))
    }
}

/// A clock set back, or far forward, between ticks.
@Suite struct ClockFaultTests {
    @Test func aClockSetBackIsToldOnceAndResolvesNothing() throws {
        let h = try Harness()
        try h.importExamples()
        #expect(try h.tick(profile: Harness.teamTrial).status == 0)
        let before = try h.notices()
        let back = try h.tick(profile: Harness.teamTrial, extra: ["--now", "2026-11-20T10:00:00Z"])
        #expect(back.status == 0 && back.stderr.components(separatedBy: "the clock went back 2h 00m").count == 2)
        #expect(try h.notices().count == before.count, "no condition is resolved because time went backwards")
        guard case .string(let artifact)? = back.json?["stages"]?.array.first?["report"]?["run_artifact"] else {
            Issue.record("no run artifact in \(back.stdout)")
            return
        }
        let run = try CanonicalJSON.decode(WatchdogRun.self, from: try Sys.readFile(artifact))
        #expect(run.clock_behind_ms == 7_200_000 && run.episodes_resolved == 0)
        #expect(Watchdog.latestRun(h.layout)?.run_id == run.run_id, "the latest run is the one made last")
        let still = try h.tick(profile: Harness.teamTrial, extra: ["--now", "2026-11-20T10:30:00Z"])
        #expect(still.status == 0 && !still.stderr.contains("clock went back"), "told once")
        let listed = try h.run("rgov", ["ls", "--now", "2026-11-20T10:00:00Z"])
        #expect(listed.stdout.contains("clock went back") && !listed.stdout.contains("-7200s"), "\(listed.stdout)")
        #expect(try h.run("rgov", ["check-state"]).status == 0)
    }

    @Test func theYear9999DoesNotOverflow() throws {
        let h = try Harness()
        try h.importExamples()
        #expect(try h.tick(profile: Harness.teamTrial).status == 0)
        let far = try h.tick(profile: Harness.teamTrial, extra: ["--now", "9999-12-31T23:59:59Z"])
        #expect(far.status == 0, "\(far.stderr)")
        #expect(try h.run("rgov", ["status", "--now", "9999-12-31T23:59:59Z"]).status == 0)
        #expect(try h.run("rgov", ["check-state"]).status == 0)
    }
}
