import Foundation
import Testing

@testable import GovernanceCore

/// Operator verbs take what rgov prints, and leave nothing behind when stopped.
@Suite struct OperatorEvidenceTests {
    /// `rgov approvals` lists a writeback as `MISSION/WRITEBACK`; `approve` and `reject` take it so.
    @Test(arguments: ["approve", "reject"])
    func aDecisionTakesTheIdAsApprovalsPrintsIt(verb: String) throws {
        let h = try Harness()
        try h.importExamples()
        #expect(try h.run("rgov-watchdog", ["--profile", Harness.teamTrial]).status == 0)
        let listed = try h.run("rgov", ["approvals", "--profile", Harness.teamTrial])
        let id = try #require(listed.stdout.split(separator: "\n").first?.split(separator: " ").first.map(String.init))
        #expect(id == "crm-overdue-02/wb-crm-02-1", "\(listed.stdout)")
        let elsewhere = try h.run("rgov", [verb, "oracle-writeback-08/wb-crm-02-1", "--by", "alice", "--reason", "x"])
        #expect(elsewhere.status == 66, "another mission does not have it: \(elsewhere.stderr)")
        let decided = try h.run("rgov", [verb, id, "--by", "alice", "--reason", "checked the diff"])
        #expect(decided.status == 0, "\(decided.stderr)")
        #expect(decided.stdout.contains("\(verb) \(id) by alice"), "\(decided.stdout)")
        let recorded = try #require(WritebackApproval.load(h.layout)[id])
        #expect(recorded.decision == (verb == "approve" ? .approve : .reject) && recorded.writeback_id == "wb-crm-02-1")
        #expect(
            try h.run("rgov", ["approvals", "--profile", Harness.teamTrial]).stdout.contains(
                "-- 0 writebacks awaiting approval"))
        let again = try h.run("rgov", [verb, id, "--by", "bob", "--reason", "again"])
        #expect(again.status == 65 && again.stderr.contains("already decided"), "\(again.stderr)")
    }
}
