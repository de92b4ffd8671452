import Foundation
import Testing

@testable import GovernanceCore

/// Tenant, actor and environment on every record: what a multi-tenant operator filters and audits by.
@Suite struct TenantTests {
    /// Every JSON record under `folder` of the state, parsed.
    static func records(_ h: Harness, _ folder: String) throws -> [[String: JSONValue]] {
        guard let walk = FileManager.default.enumerator(atPath: h.state + "/" + folder) else { return [] }
        return try walk.compactMap { $0 as? String }.filter { $0.hasSuffix(".json") && !$0.contains("/.") }
            .compactMap { name in
                let path = h.state + "/" + folder + "/" + name
                guard Sys.kind(path) == .regular, !name.hasSuffix("last-run.json") else { return nil }
                guard case .object(let fields) = try CanonicalJSON.decode(JSONValue.self, from: try Sys.readFile(path))
                else { return nil }
                return fields
            }
    }

    /// The examples, one of them stripped of its tenant and actor, ticked under a sending profile.
    static func tickedStaging(_ tag: String = #function) throws -> (Harness, stripped: String) {
        let h = try Harness(tag)
        try h.importExamples()
        let stripped = "crm-overdue-02"
        let path = h.layout.mission(stripped)
        guard case .object(var fields) = try CanonicalJSON.decode(JSONValue.self, from: try Sys.readFile(path)) else {
            throw Harness.SetupError("\(path) is not an object")
        }
        #expect(fields["tenant_id"] != nil, "the example names its tenant")
        fields["tenant_id"] = nil
        fields["actor_id"] = nil
        try DurableFile.write(try CanonicalJSON.encodeFile(JSONValue.object(fields)), to: path)
        let made = try h.run("rgov", ["init", "--profile", Harness.teamTrial, "--environment", "staging"])
        #expect(made.status == 0, "\(made.stderr)")
        let tick = try h.tick()
        #expect(tick.status == 0, "\(tick.stderr)")
        return (h, stripped)
    }

    @Test func everyRecordCarriesTheMissionsTenantActorAndEnvironment() throws {
        let (h, stripped) = try Self.tickedStaging()
        var expected: [String: (JSONValue, JSONValue)] = [:]
        for name in try h.layout.artifactNames(in: h.layout.missions) {
            let mission = try MissionStore.read(h.layout.missions + "/" + name, name: name)
            expected[mission.mission_id] = (
                mission.tenant_id.map(JSONValue.string) ?? .null, mission.actor_id.map(JSONValue.string) ?? .null
            )
        }
        #expect(expected[stripped]?.0 == .null)
        let folders = [
            "operator-notify-queue", "long-task-watchdog-events", "decisions", "operator-notify-dispatch-spool",
            "operator-notify-bridge-receipts",
        ]
        var seen: [String: Int] = [:]
        for folder in folders {
            // A sender attempt names only its notice, whose records carry the rest.
            for record in try Self.records(h, folder) where record["schema"] != .string("rgov.attempt/v1") {
                guard case .string(let mission) = record["mission_id"], let (tenant, actor) = expected[mission] else {
                    Issue.record("\(folder): a record about no known mission: \(record)")
                    continue
                }
                // Present, and null where the snapshot had none: never silently missing.
                #expect(
                    record["tenant_id"] == tenant, "\(folder) \(mission): \(String(describing: record["tenant_id"]))")
                #expect(record["actor_id"] == actor, "\(folder) \(mission): \(String(describing: record["actor_id"]))")
                #expect(record["environment"] == .string("staging"), "\(folder) \(mission)")
                if tenant == .null { seen[folder + " without tenant", default: 0] += 1 }
                seen[folder, default: 0] += 1
            }
        }
        for folder in folders { #expect(seen[folder, default: 0] > 0, "no \(folder) record was checked: \(seen)") }
        #expect(seen["operator-notify-queue without tenant", default: 0] > 0, "\(seen)")
        let run = try Self.records(h, "long-task-watchdog/2026-11-20")
        #expect(!run.isEmpty && run.allSatisfy { $0["environment"] == .string("staging") })
        let status = try h.run("rgov", ["status", "--json"])
        #expect(status.json?["environment"] == .string("staging"), "\(status.stdout)")
    }

    @Test func lsAndExportSelectOneTenantsMissions() throws {
        let (h, stripped) = try Self.tickedStaging()
        let all = try h.notices()
        let acme = Set(all.filter { $0.tenant_id == "acme" }.map(\.notice_id))
        #expect(!acme.isEmpty && acme.count < all.count, "the examples mix tenants: \(all.map(\.tenant_id))")
        let listed = try h.run("rgov", ["ls", "--tenant", "acme", "--json"])
        #expect(listed.status == 0, "\(listed.stderr)")
        let ids = listed.stdout.split(separator: "\n").compactMap {
            try? CanonicalJSON.decode(Inspection.Line.self, from: Data($0.utf8)).notice_id
        }
        #expect(Set(ids) == acme && ids.count == acme.count)

        let out = h.dir + "/bundles"
        let export = try h.run("rgov", ["export", "--tenant", "acme", "--out", out, "--json"])
        #expect(export.status == 0, "\(export.stderr)")
        let bundle = try #require(export.json?["bundle"].flatMap { if case .string(let s) = $0 { s } else { nil } })
        let manifest = try CanonicalJSON.decode(
            BundleManifest.self, from: try Sys.readFile(StateLayout.bundleManifest(bundle)))
        #expect(manifest.tenant_id == "acme")
        let missions = Set((manifest.chains ?? []).map(\.mission_id))
        let acmeMissions = try h.layout.artifactNames(in: h.layout.missions).filter {
            try MissionStore.read(h.layout.missions + "/" + $0, name: $0).tenant_id == "acme"
        }.map(StateLayout.artifactID)
        #expect(!missions.isEmpty && missions.isSubset(of: Set(acmeMissions)), "\(missions)")
        #expect(!missions.contains(stripped))
        #expect(try h.run("rgov", ["verify", bundle]).status == 0)

        let none = try h.run("rgov", ["export", "--tenant", "globex", "--out", out])
        #expect(none.status == 66 && none.stderr.contains("no missions of tenant"), "\(none.status) \(none.stderr)")
        let both = try h.run("rgov", ["export", "--tenant", "acme", "--task", stripped, "--out", out])
        #expect(both.status == 64, "\(both.stderr)")
    }
}

/// An older record without the tenant fields keeps its bytes, so its hashes still hold.
@Suite struct MissionPartyTests {
    @Test func aFieldAnOlderRecordLackedStaysMissingAndANullStaysNull() throws {
        let base: [String: JSONValue] = [
            "schema": .string("rgov.decision/v1"), "decision_id": .string("dec-1"), "rule_id": .string("r"),
            "mission_id": .string("m"), "task_id": .string("m"), "correlation_id": .string("m"),
            "outcome": .string("notify"), "reason": .string("x"), "decided_at": .string("2026-11-20T12:00:00.000Z"),
            "decided_by": .string("e2e"), "profile": .string("p@1"), "capability_descriptor": .string("c@1"),
        ]
        for (fields, expectNull) in [(base, false), (base.merging(["tenant_id": .null]) { $1 }, true)] {
            let bytes = try CanonicalJSON.encode(JSONValue.object(fields))
            let decoded = try CanonicalJSON.decode(DecisionRecord.self, from: bytes)
            #expect(decoded.tenant_id == nil)
            let again = String(decoding: try CanonicalJSON.encode(decoded), as: UTF8.self)
            #expect(again.contains("\"tenant_id\":null") == expectNull, "\(again)")
            #expect(!again.contains("actor_id"), "\(again)")
        }
        var set = try CanonicalJSON.decode(DecisionRecord.self, from: try CanonicalJSON.encode(JSONValue.object(base)))
        set.tenant_id = "acme"
        let fresh = String(decoding: try CanonicalJSON.encode(set), as: UTF8.self)
        #expect(fresh.contains("\"tenant_id\":\"acme\"") && !fresh.contains("actor_id"), "\(fresh)")
    }
}
