import Foundation
import Testing

@testable import GovernanceCore

/// The three endings of the chain (watchdog → queue → dispatcher → bridge → sender → receipt),
/// each run through the real executables on a temporary state folder.
@Suite struct ChainTests {
    static let flagged = Set(["crm-overdue-02", "catalyst-silent-03", "crm-failed-07", "oracle-writeback-08"])

    @Test func shimEndsAckedWithSenderEvidence() throws {
        let h = try Harness()
        try h.importExamples()
        let run = try h.tick(profile: Harness.teamTrial)
        #expect(run.status == 0, "\(run.stderr)")
        let notices = try h.notices()
        #expect(Set(notices.map(\.mission_id)) == Self.flagged, "healthy missions stay quiet")
        for notice in notices {
            #expect(notice.state == .acked)
            #expect(notice.transitions.map(\.to) == [.queued, .dispatched, .acked])
            #expect(notice.transitions.map(\.by) == ["rgov-watchdog", "rgov-dispatcher", "rgov-bridge"])
            let evidence = try #require(notice.ack_evidence)
            #expect(
                evidence.kind == .synthetic && evidence.sender_mode == ReceiptMode(.shim), "a shim ack is synthetic")
            #expect(evidence.message_id?.hasPrefix("shim-") == true)
            #expect(notice.profile == "standard-team-trial@1.0.0")
            #expect(notice.capability_descriptor == "openclaw-watchdog-reference@1.0.0")
            #expect(Sys.kind(h.layout.notices(.acked, day: "2026-11-20") + "/\(notice.notice_id).json") == .regular)
        }
        let receipts = try h.receipts()
        #expect(receipts.count == Harness.exampleNotices)
        #expect(
            receipts.allSatisfy {
                $0.delivery_state == .acked && $0.sender_mode == ReceiptMode(.shim) && $0.ack_evidence != nil
            })
        #expect(h.outboxLines().count == Harness.exampleNotices)
        #expect(try h.layout.artifactNames(in: h.layout.inflightAttempts).isEmpty)
    }

    @Test func dryRunEndsPendingExternalSendAndSendsNothing() throws {
        let h = try Harness()
        try h.importExamples()
        let run = try h.tick(profile: "minimal-solo-mode")
        #expect(run.status == 0, "\(run.stderr)")
        let notices = try h.notices()
        #expect(notices.count == Harness.exampleNotices)
        for notice in notices {
            #expect(notice.state == .pending_external_send && notice.state_reason == "dry_run")
            #expect(notice.ack_evidence == nil)
            #expect(notice.attempts == 1)
        }
        let receipts = try h.receipts()
        #expect(
            receipts.count == Harness.exampleNotices
                && receipts.allSatisfy {
                    $0.delivery_state == .pending_external_send && $0.reason.rawValue == "dry_run"
                        && $0.ack_evidence == nil
                })
        #expect(h.outboxLines().isEmpty)
        #expect(run.json?["notices_by_state"]?["pending_external_send"]?.int == Harness.exampleNotices)
    }

    @Test func aProfileThatForbidsSendingEndsBlocked() throws {
        let h = try Harness()
        try h.importExamples()
        let profile = try h.profile(
            named: "no-send", replacing: [("      mode: shim", "      enabled: false\n      mode: shim")])
        let run = try h.tick(profile: profile)
        #expect(run.status == 0, "\(run.stderr)")
        let notices = try h.notices()
        #expect(notices.count == Harness.exampleNotices)
        #expect(notices.allSatisfy { $0.state == .blocked && $0.state_reason == "sending_disabled_by_profile" })
        #expect(try h.receipts().allSatisfy { $0.delivery_state == .blocked && $0.attempt_id == nil })
        #expect(h.outboxLines().isEmpty, "nothing was sent")
    }

    @Test func aSenderThatRefusesEndsBlockedWithItsReason() throws {
        let h = try Harness()
        try h.importExamples()
        let refusing = try h.script(
            "refusing-sender",
            #"while read line; do id=$(printf '%s' "$line" | sed 's/.*"notice_id":"\([^"]*\)".*/\1/'); "#
                + #"printf '{"schema":"rgov.sender-result/v1","notice_id":"%s","mode":"shim","ok":false,"sent":false,"acked":false,"reason":"recipient_unknown","retryable":false}\n' "$id"; done"#
        )
        let run = try h.tick(profile: Harness.teamTrial, env: ["RGOV_SENDER_BIN": refusing])
        #expect(run.status == 0, "\(run.stderr)")
        let notices = try h.notices()
        #expect(
            notices.count == Harness.exampleNotices
                && notices.allSatisfy { $0.state == .blocked && $0.state_reason == "recipient_unknown" })
    }

    @Test func aSenderThatFailsOrHangsIsNeverAcked() throws {
        let h = try Harness()
        try h.importExamples()
        let crashing = try h.script("crashing-sender", "echo 'token=abc' >&2; exit 1")
        let run = try h.tick(profile: Harness.teamTrial, env: ["RGOV_SENDER_BIN": crashing])
        #expect(run.status == 0)
        let failed = try h.notices()
        #expect(failed.allSatisfy { $0.state == .pending_external_send && $0.state_reason == "sender_failed" })
        #expect(
            failed.allSatisfy { $0.next_attempt_at == Timestamp.parse(Harness.now)!.addingTimeInterval(60) },
            "retried after the minimal backoff")
        #expect(try h.layout.artifactNames(in: h.layout.deferredNotices).count == Harness.exampleNotices)
        #expect(try h.receipts().allSatisfy { $0.sender_exit_status == 1 && $0.sender_stderr_tail == "token=abc\n" })

        let h2 = try Harness()
        try h2.importExamples()
        let slow = try h2.profile(named: "slow", replacing: [("timeout_ms: 10000", "timeout_ms: 300")])
        let hanging = try h2.script("hanging-sender", "sleep 30")
        let (marker, env) = Harness.marked()
        #expect(try h2.tick(profile: slow, env: env.merging(["RGOV_SENDER_BIN": hanging]) { a, _ in a }).status == 0)
        #expect(Harness.noneLeft(carrying: marker), "the hanging sender was ended at its deadline")
        #expect(
            try h2.notices().allSatisfy { $0.state == .pending_external_send && $0.state_reason == "outcome_unknown" })
    }

    @Test func aSecondTickChangesNothingAndSendsNothingTwice() throws {
        let h = try Harness()
        try h.importExamples()
        #expect(try h.tick(profile: Harness.teamTrial).status == 0)
        let before = try h.snapshot()
        let second = try h.tick(profile: Harness.teamTrial)
        #expect(second.status == 0)
        #expect(try h.snapshot() == before, "only the new watchdog run artifact may appear")
        #expect(h.outboxLines().count == Harness.exampleNotices)
        #expect(second.json?["stages"]?.array.first?["report"]?["notices_created"]?.array.isEmpty == true)
    }

    @Test func queueDisabledByProfileLeavesNoticesPrepared() throws {
        let h = try Harness()
        try h.importExamples()
        let profile = try h.profile(
            named: "no-queue",
            replacing: [
                ("    queue:\n      enabled: true", "    queue:\n      enabled: false"),
                ("required: [queue, bridge]", "required: []"),
            ])
        #expect(try h.tick(profile: profile).status == 0)
        let notices = try h.notices()
        #expect(
            notices.count == Harness.exampleNotices
                && notices.allSatisfy { $0.state == .prepared && $0.state_reason == "queue_disabled_by_profile" })
        #expect(try h.receipts().isEmpty && h.outboxLines().isEmpty)
    }

    @Test func runtimeWithoutAckReceiptsNeverYieldsAck() throws {
        let h = try Harness()
        try h.importExamples()
        let run = try h.run(
            "rgov", ["tick", "--profile", Harness.teamTrial, "--capabilities", "openclaw-basic", "--json"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.json?["capability_gaps"]?.array.contains(.string("ack_receipts")) == true)
        let notices = try h.notices()
        #expect(notices.count == Harness.exampleNotices)
        #expect(
            notices.allSatisfy {
                $0.state == .pending_external_send && $0.state_reason == "sent_unconfirmed" && $0.ack_evidence == nil
            })
        #expect(h.outboxLines().count == Harness.exampleNotices, "sent, but not proven delivered")
        #expect(
            try h.receipts().allSatisfy {
                $0.capability_gaps?.contains("ack_receipts") == true && $0.sender_message_id != nil
            })
    }

    @Test func runtimeWithoutABridgeLeavesNoticesPendingAndSendsNothing() throws {
        let h = try Harness()
        try h.importExamples()
        let run = try h.run(
            "rgov", ["tick", "--profile", "minimal-solo-mode", "--capabilities", "ci-queue-only", "--json"])
        #expect(run.status == 0, "\(run.stderr)")
        let notices = try h.notices()
        #expect(notices.count == Harness.exampleNotices)
        #expect(
            notices.allSatisfy { $0.state == .pending_external_send && $0.state_reason == "bridge_capability_missing" })
        #expect(try h.receipts().allSatisfy { $0.capability_gaps?.contains("bridge") == true })
    }

    /// Independent cross-check: every artifact of a real run validates against `schemas/` with
    /// Python's jsonschema, not with rgov's own decoder.
    @Test(arguments: ["minimal-solo-mode", Harness.teamTrial])
    func artifactsValidateAgainstTheSchemas(profile: String) throws {
        let h = try Harness()
        try h.importExamples()
        #expect(try h.tick(profile: profile).status == 0)
        try DurableFile.write(Data("{broken".utf8), to: h.layout.missions + "/broken.json")
        #expect(try h.run("rgov-watchdog", ["--profile", profile, "--now", "2026-11-20T13:00:00Z"]).status == 0)
        let result = try ChildProcess.run(
            ChildSpec(
                executable: "/usr/bin/env",
                arguments: [
                    "python3", Harness.repoRoot + "/scripts/validate_artifacts.py", h.state,
                    Harness.repoRoot + "/schemas",
                ],
                deadline: 60))
        #expect(result.status == 0, "\(result.stdoutText)\(result.stderrText)")
        #expect(result.stdoutText.contains(" 0 invalid"))
        for kind in [
            "attempt", "decision", "episode", "event", "mission-snapshot", "notice", "quarantine", "receipt", "spool",
            "watchdog-run",
        ] {
            #expect(result.stdoutText.contains(kind + " "), "no \(kind) artifact was checked")
        }
    }
}
