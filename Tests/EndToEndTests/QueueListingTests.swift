import Foundation
import Testing

@testable import GovernanceCore

/// `rgov ls` as on-call people read it: a header, the columns that matter, oldest first, and a
/// `--rule` that takes a pack and says when it names nothing.
@Suite struct QueueListingTests {
    @Test func theQueueIsListedOldestFirstUnderAHeaderAndAPackSelectsItsRules() throws {
        let h = try Harness()
        try h.importExamples()
        // The mission whose notice id sorts first arrives last: listed by age, it comes last.
        let late = "catalyst-silent-03"
        let held = try Sys.readFile(h.layout.mission(late))
        try Sys.unlink(h.layout.mission(late))
        #expect(try h.run("rgov", ["init", "--profile", Harness.teamTrial]).status == 0)
        #expect(try h.tick().status == 0)
        try DurableFile.write(held, to: h.layout.mission(late))
        #expect(try h.run("rgov", ["tick", "--now", "2026-11-20T12:05:00Z"]).status == 0)

        let listed = try h.run("rgov", ["ls", "--now", "2026-11-20T13:00:00Z"])
        #expect(listed.status == 0, "\(listed.stderr)")
        let rows = listed.stdout.split(separator: "\n").map(String.init)
        #expect(
            rows.first?.split(separator: " ", omittingEmptySubsequences: true)
                == ["NOTICE", "STATE", "KIND", "SEVERITY", "AGE", "MISSION", "RULE", "REASON"], "\(rows)")
        let notices = rows.dropFirst().filter { $0.hasPrefix("ntc-") }
        #expect(notices.count == (try h.notices()).count)
        let lateIndex = try #require(notices.firstIndex { $0.contains(late) }, "\(notices)")
        let older = notices.indices.filter { notices[$0].contains("  1h 00m  ") }
        #expect(!older.isEmpty && older.allSatisfy { $0 < lateIndex }, "\(notices)")
        let lateRow = notices[lateIndex].split(separator: " ", omittingEmptySubsequences: true)
        #expect(lateRow[2] == "finding" && lateRow[3] == "critical" && lateRow[4] == "55m", "\(lateRow)")
        let json = try h.run("rgov", ["ls", "--json"]).stdout.split(separator: "\n").compactMap {
            try? CanonicalJSON.decode(Inspection.Line.self, from: Data($0.utf8))
        }
        #expect(json.map(\.age_ms) == json.map(\.age_ms).sorted(by: >), "oldest first in JSON too")

        let pack = try h.run("rgov", ["ls", "--rule", "anti-blackhole", "--json"])
        let packLines = pack.stdout.split(separator: "\n")
        #expect(!packLines.isEmpty && packLines.allSatisfy { $0.contains("\"rule_id\":\"anti-blackhole/") })
        #expect(pack.stderr.isEmpty, "\(pack.stderr)")
        let known = try h.run("rgov", ["ls", "--rule", "budget"])
        #expect(known.status == 0 && known.stderr.isEmpty, "a pack that raised nothing is known: \(known.stderr)")
        let typo = try h.run("rgov", ["ls", "--rule", "budgett"])
        #expect(typo.status == 0 && typo.stderr.contains("--rule \"budgett\" names no rule or pack"), "\(typo.stderr)")
    }
}
