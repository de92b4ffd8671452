import Foundation
import Testing

@testable import GovernanceCore

/// `rgov report`, the colony-side hook: atomic, validated, one writer at a time, inline block.
@Suite struct ReportTests {
    func snapshot(_ h: Harness, _ id: String) throws -> MissionSnapshot {
        try CanonicalJSON.decode(MissionSnapshot.self, from: try Sys.readFile(h.layout.missions + "/\(id).json"))
    }

    func report(_ h: Harness, _ args: [String], profile: String = "standard-team-mode") throws -> Harness.Run {
        try h.run("rgov", ["report", "--profile", profile] + args)
    }

    @Test func createsAndUpdatesASnapshot() throws {
        let h = try Harness()
        let started = try report(
            h,
            [
                "--mission", "m-r1", "--kind", "started", "--type", "oracle_advisory", "--stage", "planner", "--at",
                "2026-11-20T11:50:00Z",
            ])
        #expect(started.status == 0, "\(started.stderr)")
        #expect(started.stdout.contains("(new mission)"))
        var m = try snapshot(h, "m-r1")
        #expect(m.status == .running && m.stage == "planner" && m.started_at == Timestamp.parse("2026-11-20T11:50:00Z"))
        #expect(
            try report(h, ["--mission", "m-r1", "--kind", "checkpoint", "--text", "half way", "--tokens", "1200"])
                .status == 0)
        #expect(try report(h, ["--mission", "m-r1", "--kind", "stage", "--stage", "researcher"]).status == 0)
        m = try snapshot(h, "m-r1")
        #expect(
            m.last_checkpoint_at == Timestamp.parse(Harness.now) && m.tokens_used == 1200 && m.stage == "researcher")
        #expect(m.reports?.map(\.kind) == ["checkpoint"])
        #expect(try report(h, ["--mission", "m-r1", "--kind", "failed", "--reason", "upstream_timeout"]).status == 0)
        #expect(try snapshot(h, "m-r1").status == .failed)
        let late = try report(h, ["--mission", "m-r1", "--kind", "progress", "--text", "x"])
        #expect(late.status == 65 && late.stderr.contains("terminal mission"))
    }

    @Test func badInputIsRefusedAndTheSnapshotIsUnchanged() throws {
        let h = try Harness()
        #expect(
            try report(h, ["--mission", "m-r2", "--kind", "started", "--type", "crm_lead_intelligence"]).status == 0)
        let before = try Sys.readFile(h.layout.missions + "/m-r2.json")
        let cases: [([String], String)] = [
            (["--mission", "m-r2", "--kind", "celebrate"], "unknown report kind"),
            (["--mission", "m-r2", "--kind", "checkpoint", "--at", "2026-11-20T12:05:00Z"], "in the future"),
            (["--mission", "m-r2", "--kind", "checkpoint", "--at", "noon"], "not an RFC 3339 time"),
            (["--mission", "m-r2", "--kind", "stage", "--stage", "astrologer"], "unknown stage"),
            (["--mission", "../m-r2", "--kind", "checkpoint"], "invalid mission id"),
            (["--mission", "m-new", "--kind", "checkpoint"], "--type is required"),
        ]
        for (args, message) in cases {
            let run = try report(h, args)
            #expect(run.status == 65, "\(args)")
            #expect(run.stderr.contains(message), "\(run.stderr)")
        }
        #expect(try Sys.readFile(h.layout.missions + "/m-r2.json") == before)
        #expect(try Sys.listDirectory(h.layout.missions).sorted() == ["m-r2.json"])
        #expect(!Sys.exists(h.dir + "/m-r2.json"))
    }

    @Test func evidenceIsHashedAndACompletionWithoutItIsBlockedInline() throws {
        let h = try Harness()
        #expect(try report(h, ["--mission", "m-r3", "--kind", "started", "--type", "oracle_advisory"]).status == 0)
        let before = try Sys.readFile(h.layout.missions + "/m-r3.json")
        let refused = try report(h, ["--mission", "m-r3", "--kind", "completion", "--text", "done"])
        #expect(refused.status == 65)
        #expect(refused.stderr.contains("inline completion block: no evidence attached"))
        #expect(try Sys.readFile(h.layout.missions + "/m-r3.json") == before, "a refused completion changes nothing")
        let decisions = try h.layout.dayPartitions(in: h.layout.decisions).flatMap { day in
            try h.layout.artifactNames(in: h.layout.decisions + "/" + day).map {
                try CanonicalJSON.decode(
                    DecisionRecord.self, from: try Sys.readFile(h.layout.decisions + "/" + day + "/" + $0))
            }
        }
        #expect(decisions.count == 1 && decisions[0].outcome == .block && decisions[0].mission_id == "m-r3")

        let file = h.dir + "/memo.md"
        try Data("the memo\n".utf8).write(to: URL(fileURLWithPath: file))
        let done = try report(
            h, ["--mission", "m-r3", "--kind", "completion", "--evidence", "advisory_memo=\(file)", "--json"])
        #expect(done.status == 0, "\(done.stderr)")
        let m = try snapshot(h, "m-r3")
        #expect(m.status == .completed)
        let evidence = try #require(m.completion?.evidence?.first)
        let sha = try ChildProcess.run(ChildSpec(executable: "/usr/bin/sha256sum", arguments: [file], deadline: 10))
        #expect(
            evidence.sha256 == String(sha.stdoutText.prefix(64)) && evidence.kind == "advisory_memo"
                && evidence.ref == file)
        let records = try h.layout.dayPartitions(in: h.layout.evidence).flatMap {
            try h.layout.artifactNames(in: h.layout.evidence + "/" + $0)
        }
        #expect(records.count == 1)
    }

    @Test func soloAcceptsAClaimAndARuntimeWithoutInlineBlockDoesNotBlock() throws {
        let h = try Harness()
        #expect(
            try report(
                h, ["--mission", "m-r4", "--kind", "started", "--type", "oracle_advisory"], profile: "minimal-solo-mode"
            ).status == 0)
        #expect(try report(h, ["--mission", "m-r4", "--kind", "completion"], profile: "minimal-solo-mode").status == 0)
        let profile = try h.profile(named: "ci", replacing: [("required: [queue, bridge]", "required: [queue]")])
        #expect(try h.activate(profile).status == 0)
        #expect(
            try report(h, ["--mission", "m-r5", "--kind", "started", "--type", "oracle_advisory"], profile: profile)
                .status == 0)
        #expect(
            try h.run(
                "rgov",
                [
                    "report", "--profile", profile, "--capabilities", "openclaw-basic", "--mission", "m-r5", "--kind",
                    "completion",
                ]
            ).status == 0)
        // The watchdog then downgrades it instead: claimed complete, not verified.
        #expect(try h.run("rgov-watchdog", ["--profile", profile]).status == 0)
        let notices = try h.notices()
        #expect(Set(notices.map(\.mission_id)) == ["m-r4", "m-r5"])
        #expect(
            notices.allSatisfy {
                $0.rule_id == "completion-evidence/unverified-completion"
                    && $0.message.text.contains("claimed complete, not verified")
            })
    }

    @Test func unknownFieldsSurviveAndConcurrentWritersLoseNothing() throws {
        let h = try Harness()
        try h.layout.prepare()
        let text =
            #"{"mission_id":"m-r6","mission_type":"catalyst_strategy_brief","status":"running","created_at":"2026-11-20T11:00:00Z","runtime_hints":{"priority":"high"}}"#
        try DurableFile.write(Data(text.utf8), to: h.layout.missions + "/m-r6.json")
        let script = try h.script(
            "many-writers",
            "for i in 1 2 3 4 5 6 7 8 9 10; do \"$1\" report --state \"$2\" --profile standard-team-mode --now 2026-11-20T12:00:00Z "
                + "--mission m-r6 --kind progress --text \"step $i\" & done; wait")
        let result = try ChildProcess.run(
            ChildSpec(executable: script, arguments: [Harness.bin + "/rgov", h.state], deadline: 60))
        #expect(result.status == 0)
        let m = try snapshot(h, "m-r6")
        #expect(m.reports?.count == 10, "ten writers, ten reports: none lost")
        #expect(Set(m.reports?.compactMap(\.text) ?? []).count == 10)
        #expect(m.extra["runtime_hints"] == .object(["priority": .string("high")]))
    }
}
