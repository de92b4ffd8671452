import Foundation
import Testing

@testable import GovernanceCore

/// A provider outage is never silent: with the primary sender failing, escalations,
/// `delivery_unknown` alerts and one `provider/outage` notice go through the profile's fallback
/// binding, ordinary findings wait for the primary, and its return is told once.
@Suite struct ProviderOutageTests {
    static let t0 = Harness.t0

    /// A running mission whose last checkpoint is long overdue.
    static func overdueMission(_ h: Harness, _ id: String) throws {
        try h.layout.prepare()
        let mission: JSONValue = .object([
            "mission_id": .string(id), "mission_type": .string("crm_lead_intelligence"), "status": .string("running"),
            "stage": .string("worker"), "user_goal": .string("Rank the webinar leads"),
            "created_at": .string("2026-11-20T11:00:00Z"), "started_at": .string("2026-11-20T11:00:00Z"),
            "stage_entered_at": .string("2026-11-20T11:30:00Z"), "last_checkpoint_at": .string("2026-11-20T11:30:00Z"),
            "checkpoint_interval_ms": .number(900_000),
        ])
        try DurableFile.write(try CanonicalJSON.encodeFile(mission), to: h.layout.missions + "/\(id).json")
    }

    /// The primary fails (exit 75) unless `up` exists, and hangs past its deadline for the notice
    /// named in `hang-for`; the fallback appends each spool handoff it is given to `fallback.log`.
    static func outageProfile(_ h: Harness, fallbackAfter: Int = 3) throws -> String {
        let primary = try h.script(
            "primary.sh",
            "cat > /dev/null; [ -f \(h.dir)/up ] && exit 0; "
                + "[ \"$RGOV_NOTICE_ID\" = \"$(cat \(h.dir)/hang-for 2>/dev/null)\" ] && exec sleep 30; exit 75")
        let fallback = try h.script("fallback.sh", "cat >> \(h.dir)/fallback.log; exit 0")
        return try SenderTests.profile(
            h, "outage",
            sender: "      mode: command\n      timeout_ms: 1000\n      binding:\n        command: [\(primary)]\n"
                + "    fallback:\n      mode: command\n      fallback_after: \(fallbackAfter)\n"
                + "      binding:\n        command: [\(fallback)]\n",
            bridge: "      max_attempts: 20\n      minimal_backoff_ms: 60000\n      maximal_backoff_ms: 600000\n")
    }

    func tick(_ h: Harness, _ profile: String, at minutes: Double) throws {
        let run = try h.run(
            "rgov",
            ["tick", "--profile", profile, "--now", Timestamp.format(Self.t0.addingTimeInterval(minutes * 60))])
        #expect(run.status == 0, "\(run.stderr)\(run.stdout)")
    }

    /// The notices the fallback was given, in order.
    static func carried(_ h: Harness) throws -> [String] {
        guard Sys.exists(h.dir + "/fallback.log") else { return [] }
        return try String(decoding: try Sys.readFile(h.dir + "/fallback.log"), as: UTF8.self)
            .split(separator: "\n").map { try CanonicalJSON.decode(SpoolHandoff.self, from: Data($0.utf8)).notice_id }
    }

    static func record(_ h: Harness) throws -> ProviderOutageRecord {
        try CanonicalJSON.decode(ProviderOutageRecord.self, from: try Sys.readFile(h.layout.providerOutage))
    }

    @Test func escalationsAndAlertsGoThroughTheFallbackAndTheOutageIsToldOnce() throws {
        let h = try Harness()
        try Self.overdueMission(h, "m-hang")
        try Self.overdueMission(h, "m-probe")
        let profile = try Self.outageProfile(h)
        try tick(h, profile, at: 0)
        let findings = try h.notices().filter { $0.notice_kind == .finding }
        try #require(findings.count >= 2)
        #expect(try Self.record(h).consecutive_failures == findings.count)
        #expect(try Self.record(h).open == nil, "fewer than fallback_after failures open no outage")
        #expect(try Self.carried(h).isEmpty)
        // One finding's next send hangs past its deadline: its outcome is unknown, and an alert says so.
        let hung = try #require(findings.first { $0.mission_id == "m-hang" })
        try DurableFile.write(Data(hung.notice_id.utf8), to: h.dir + "/hang-for")
        try tick(h, profile, at: 2)
        let record = try Self.record(h)
        let outage = try #require(record.open, "\(findings.count * 2) consecutive failures open the outage")
        #expect(outage.notified && record.outages == 1)
        try tick(h, profile, at: 4)
        try tick(h, profile, at: 61)  // the escalation window (1 h) has passed
        try tick(h, profile, at: 63)

        let notices = try h.notices()
        let byID = Dictionary(uniqueKeysWithValues: notices.map { ($0.notice_id, $0) })
        let carried = try Self.carried(h)
        let kinds = carried.compactMap { byID[$0]?.notice_kind }
        #expect(kinds.filter { $0 == .provider_outage }.count == 1, "one outage notice: \(kinds)")
        #expect(carried.filter { $0 == outage.notice_id }.count == 1)
        let escalations = notices.filter { $0.notice_kind == .escalation }
        #expect(escalations.count >= 2 && escalations.allSatisfy { carried.contains($0.notice_id) })
        let alert = try #require(notices.first { $0.notice_kind == .delivery_unknown && $0.follows == hung.notice_id })
        #expect(carried.contains(alert.notice_id))
        #expect(Set(carried).count == carried.count, "each carried once")
        #expect(kinds.allSatisfy(ProviderOutage.carried.contains), "no ordinary finding went through the fallback")
        #expect(notices.filter { $0.rule_id == "provider/outage" }.count == 1, "never repeated per tick")
        let opened = try #require(byID[outage.notice_id])
        #expect(opened.severity == .critical && opened.episode_id == outage.episode_id)
        #expect(opened.message.text.contains("ordinary findings wait for the primary"))

        // Receipts say which binding carried each notice.
        let receipts = try h.receipts()
        for receipt in receipts {
            let kind = byID[receipt.notice_id]?.notice_kind
            let expected: SenderRole = carried.contains(receipt.notice_id) ? .fallback : .primary
            #expect(receipt.binding == expected, "\(receipt.notice_id) (\(String(describing: kind)))")
            #expect(receipt.sender_mode == ReceiptMode(.command))
        }
        #expect(receipts.contains { $0.binding == .primary && $0.reason == .temporary_failure })
        #expect(receipts.contains { $0.notice_id == outage.notice_id && $0.binding == .fallback })
        let shown = try h.run("rgov", ["show", outage.notice_id])
        #expect(shown.status == 0 && shown.stdout.contains("binding: fallback (command)"), "\(shown.stdout)")
        let status = try h.run(
            "rgov", ["status", "--json", "--now", Timestamp.format(Self.t0.addingTimeInterval(3780))])
        #expect(status.stdout.contains("provider-sender-outage"), "rgov status points at the runbook")
        let probe = try #require(findings.first { $0.mission_id == "m-probe" })
        #expect(
            try #require(byID[probe.notice_id]).state == .pending_external_send, "the finding waits for the primary")

        // The primary sends again: its resolution is told once, through the primary.
        try DurableFile.write(Data(), to: h.dir + "/up")
        try tick(h, profile, at: 75)
        try tick(h, profile, at: 77)
        try tick(h, profile, at: 79)
        let after = try Self.record(h)
        #expect(after.open == nil && after.consecutive_failures == 0)
        let resolved = try #require(after.last_resolved)
        #expect(resolved.episode_id == outage.episode_id && resolved.resolution_notified)
        let resolutions = try h.notices().filter { $0.rule_id == "provider/outage" && $0.notice_kind == .resolved }
        #expect(resolutions.count == 1)
        let resolution = try #require(resolutions.first)
        #expect(resolution.follows == outage.notice_id && resolution.episode_id == outage.episode_id)
        #expect(!(try Self.carried(h)).contains(resolution.notice_id), "the resolution goes through the primary")
        #expect(try h.receipts().contains { $0.notice_id == resolution.notice_id && $0.binding == .primary })
        #expect(try h.notices().first { $0.notice_id == probe.notice_id }?.state_reason == "sent_unconfirmed")

        // The next outage is a new episode, told by a new notice.
        try Sys.unlink(h.dir + "/up")
        try Self.overdueMission(h, "m-later")
        for minute in [80.0, 82, 85, 87] { try tick(h, profile, at: minute) }
        let next = try #require(try Self.record(h).open)
        #expect(next.episode_id != outage.episode_id && next.notice_id != outage.notice_id)
        #expect(try Self.record(h).outages == 2)
        let outageNotices = try h.notices().filter { $0.notice_kind == .provider_outage }
        #expect(Set(outageNotices.map(\.episode_id)) == [outage.episode_id, next.episode_id])
        #expect(try Self.carried(h).filter { $0 == next.notice_id }.count == 1)
        #expect(try h.run("rgov", ["check-state"]).status == 0)
        // The record, the receipts and attempts naming their binding, and the outage's notices
        // validate against `schemas/` with Python's jsonschema.
        let result = try ChildProcess.run(
            ChildSpec(
                executable: "/usr/bin/env",
                arguments: [
                    "python3", Harness.repoRoot + "/scripts/validate_artifacts.py", h.state,
                    Harness.repoRoot + "/schemas",
                ],
                deadline: 60))
        #expect(result.stdoutText.contains("provider-outage 1"), "\(result.stdoutText)")
        let mine = result.stdoutText.split(separator: "\n").filter {
            $0.hasPrefix("FAIL")
                && ($0.contains("binding") || $0.contains("provider-outage") || $0.contains("provider_outage"))
        }
        #expect(mine.isEmpty, "\(mine)")
    }

    @Test func aPrimaryThatCannotRunOpensTheOutageAtOnce() throws {
        let h = try Harness()
        try Self.overdueMission(h, "m-send")
        let fallback = try h.script("fallback.sh", "cat >> \(h.dir)/fallback.log; exit 0")
        let profile = try SenderTests.profile(
            h, "missing",
            sender: "      mode: command\n      binding:\n        command: [\(h.dir)/not-installed.sh]\n"
                + "    fallback:\n      mode: command\n      binding:\n        command: [\(fallback)]\n")
        try tick(h, profile, at: 0)
        let outage = try #require(try Self.record(h).open)
        #expect(outage.cause.hasPrefix("sender_unavailable: "))
        let doctor = try h.run("rgov", ["doctor", "--profile", profile])
        #expect(doctor.stdout.contains("not-installed.sh"), "the doctor names the primary that cannot run")
        #expect(doctor.stdout.contains("fallback sender") && doctor.stdout.contains(fallback), "\(doctor.stdout)")
        try tick(h, profile, at: 1)
        #expect(try Self.carried(h) == [outage.notice_id], "the outage notice, through the fallback")
        #expect(
            try h.notices().filter { $0.notice_kind == .finding }.allSatisfy { $0.state_reason == "sender_unavailable" }
        )
    }

    @Test func aFallbackTheRuntimeCannotProvideIsRefused() throws {
        let h = try Harness()
        // A runtime with a queue and a bridge, and no way to send.
        let descriptor = h.dir + "/no-send.json"
        try DurableFile.write(
            Data(
                """
                {"schema": "rgov.capability-descriptor/v1", "id": "no-send", "version": "1.0.0", "runtime": "openclaw",
                 "capabilities": {"queue": true, "bridge": true, "direct_send": false, "scheduler": true}}
                """.utf8), to: descriptor)
        let profile = try h.profile(
            named: "no-send",
            replacing: [
                (
                    "    sender:\n      mode: shim\n      timeout_ms: 10000\n",
                    "    sender:\n      mode: dry-run\n    fallback:\n      mode: command\n      binding:\n        command: [/bin/true]\n"
                ),
                ("descriptor: openclaw-watchdog-reference", "descriptor: \(descriptor)"),
            ])
        let lines = try String(contentsOfFile: profile, encoding: .utf8).split(
            separator: "\n", omittingEmptySubsequences: false)
        // The line of `mode:` under `fallback:` (1-based).
        let line = try #require(lines.firstIndex { $0.contains("fallback:") }) + 2
        let run = try h.run("rgov-bridge", ["--profile", profile])
        #expect(run.status == 78, "\(run.stderr)")
        #expect(run.stderr.contains("\(profile):\(line): spec.adapters.fallback:"), "\(run.stderr)")
        #expect(run.stderr.contains("needs direct_send"))
        // Without the fallback the same profile runs.
        let plain = try h.profile(
            named: "plain",
            replacing: [
                ("descriptor: openclaw-watchdog-reference", "descriptor: \(descriptor)"),
                ("    sender:\n      mode: shim\n", "    sender:\n      mode: dry-run\n"),
            ])
        #expect(try h.run("rgov-bridge", ["--profile", plain]).status == 0)
    }

    @Test func aFallbackWithoutAModeIsRefusedAtItsLine() throws {
        let h = try Harness()
        let profile = try h.profile(
            named: "no-mode",
            replacing: [("    sender:\n", "    fallback:\n      fallback_after: 2\n    sender:\n")])
        let run = try h.run("rgov", ["validate", "--profile", profile])
        #expect(run.status == 78)
        #expect(
            run.stderr.contains("spec.adapters.fallback.mode: is required when adapters.fallback is given"),
            "\(run.stderr)")
    }
}
