import Foundation
import Testing

@testable import GovernanceCore

/// Honest states export to bundles that verify: a bulk operator action in a bundle of one
/// mission, and an export made while ticks run.
@Suite struct HonestBundleTests {
    @Test func aBulkActionVerifiesInABundleOfOneMission() throws {
        let h = try Harness()
        try AdversarialTests.sentUnconfirmed(h)
        #expect(try h.run("rgov", ["hold", "ALL", "--by", "e2e", "--reason", "outage"]).status == 0)
        #expect(try h.run("rgov", ["release", "ALL", "--by", "e2e"]).status == 0)
        let mission = try #require(try h.notices().first?.mission_id)
        let export = try h.run("rgov", ["export", "--task", mission, "--json"])
        let bundle = try #require(export.json?["bundle"]?.stringValue, "\(export.stderr)")
        let verified = try h.run("rgov", ["verify", bundle])
        #expect(verified.status == 0, "\(verified.stdout)\(verified.stderr)")
    }

    @Test func anExportBesideRunningTicksVerifiesOrRefusesCleanly() throws {
        let h = try Harness()
        try AdversarialTests.sentUnconfirmed(h)
        let mission = try #require(try h.notices().first?.mission_id)
        // Ticks one after another, each a minute later (retries, reminders, moves), in the background.
        let loop = try h.script(
            "ticks",
            "i=1; while [ $i -le 12 ]; do \"$1\" tick --state \"$2\" --now 2026-11-2$((1 + i / 10))T1$((i % 10)):00:00Z "
                + ">/dev/null 2>&1; i=$((i + 1)); done; touch \"$3\"")
        let done = h.dir + "/ticks-done"
        let ticks = Process()
        ticks.executableURL = URL(fileURLWithPath: loop)
        ticks.arguments = [Harness.bin + "/rgov", h.state, done]
        try ticks.run()
        var made = 0
        var refused = 0
        for n in 0..<8 {
            let out = h.dir + "/out-\(n)"
            let export = try h.run("rgov", ["export", "--task", mission, "--out", out, "--json", "--now", Harness.now])
            if export.status == 75 {
                refused += 1
                #expect((try? Sys.listDirectory(out))?.isEmpty ?? true, "a refused export leaves nothing: \(out)")
                continue
            }
            #expect(export.status == 0, "\(export.stderr)")
            let bundle = try #require(export.json?["bundle"]?.stringValue)
            let verified = try h.run("rgov", ["verify", bundle])
            #expect(verified.status == 0, "bundle \(n): \(verified.stdout)\(verified.stderr)")
            made += 1
        }
        ticks.waitUntilExit()
        #expect(Sys.kind(done) == .regular)
        #expect(made + refused == 8 && made > 0, "made \(made), refused \(refused)")
        #expect(try h.run("rgov", ["check-state"]).status == 0)
    }
}
