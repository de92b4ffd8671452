import Foundation
import Testing

@testable import GovernanceCore

/// `acked` means proven: a late ack is taken only for a message a sender sent, with the key only
/// its receiver saw; an operator attests only what was handed to a sender; and `check-state` and
/// `verify` find an external ack that no send backs.
@Suite struct LateAckProofTests {
    static func drop(_ h: Harness, _ name: String, notice: String, key: String) throws {
        let ack: JSONValue = .object([
            "notice_id": .string(notice), "idempotency_key": .string(key), "message_id": .string("relay-1"),
            "acked_at": .string("2026-11-20T12:05:00Z"), "by": .string("relay"),
        ])
        try DurableFile.write(try CanonicalJSON.encodeFile(ack), to: h.layout.bridgeAcks + "/" + name)
    }

    /// The key only the message's receiver (and the state, from its secret) knows.
    static func key(_ h: Harness, _ id: String) throws -> String {
        IdempotencyKey.of(id, secret: String(decoding: try Sys.readFile(h.layout.idempotencySecret), as: UTF8.self))
    }

    static func state(_ h: Harness, _ id: String) throws -> Notice? { try h.notices().first { $0.notice_id == id } }

    @Test func aKeyComputedFromTheNoticeIDAloneAcksNothing() throws {
        let h = try Harness()
        try AdversarialTests.sentUnconfirmed(h)
        let target = try #require(try h.notices().first { $0.state == .pending_external_send })
        let guessed = "idem-" + String(SHA256.hex(of: target.notice_id).prefix(24))
        #expect(try Self.key(h, target.notice_id) != guessed, "the key is not derived from the notice id")
        try Self.drop(h, "guessed.json", notice: target.notice_id, key: guessed)
        #expect(try h.run("rgov-bridge", ["--now", "2026-11-20T12:06:00Z"]).status == 0)
        #expect(try Self.state(h, target.notice_id)?.state == .pending_external_send)
        #expect(try h.quarantineReasons().first?.reason.contains("idempotency_key does not match") == true)
        // `rgov show` prints the key's hash, never the key.
        let key = try Self.key(h, target.notice_id)
        let shown = try h.run("rgov", ["show", target.notice_id, "--json"])
        #expect(shown.status == 0 && !shown.stdout.contains(key) && shown.stdout.contains("idempotency_key_sha256"))
        let text = try h.run("rgov", ["show", target.notice_id]).stdout
        #expect(!text.contains(key) && text.contains("key sha256:"), "\(text)")
    }

    /// The key is kept apart from every record: the handoff and the attempt hold its SHA-256, and a
    /// bundle carries no key.
    @Test func noRecordAndNoBundleHoldsTheKey() throws {
        let h = try Harness()
        try AdversarialTests.sentUnconfirmed(h)
        let target = try #require(try h.notices().first { $0.state == .pending_external_send })
        let key = try Self.key(h, target.notice_id)
        let handoff = try CanonicalJSON.decode(
            SpoolHandoff.self, from: try Sys.readFile(h.layout.spoolHandoff(target.notice_id)))
        #expect(handoff.idempotency_key == nil && handoff.idempotency_key_sha256 == SHA256.hex(of: key))
        #expect(Sys.status(h.layout.idempotencySecret)?.mode == 0o600)
        let export = try h.run("rgov", ["export", "--task", target.mission_id, "--json"])
        #expect(export.status == 0, "\(export.stderr)")
        for (file, bytes) in try h.snapshot(excluding: ["idempotency.secret", "outbox/"]) {
            #expect(!String(decoding: bytes, as: UTF8.self).contains(key), "the key in \(file)")
        }
        // A legitimate relay still acks with it.
        try Self.drop(h, "relay.json", notice: target.notice_id, key: key)
        #expect(try h.run("rgov-bridge", ["--now", "2026-11-20T12:06:00Z"]).status == 0)
        #expect(try Self.state(h, target.notice_id)?.ack_evidence?.kind == .external_ack)
    }

    @Test func aLateAckForANoticeNoSenderSentAcksNothing() throws {
        // Dry-run: the key is right, but nothing was sent.
        let h = try Harness()
        try h.importExamples()
        #expect(try h.tick().status == 0)
        let first = try h.notices()
        let dry = try #require(
            first.first { $0.state_reason == "dry_run" }, "\(first.map { "\($0.state) \($0.state_reason)" })")
        try Self.drop(h, "dry.json", notice: dry.notice_id, key: try Self.key(h, dry.notice_id))
        #expect(try h.run("rgov-bridge", ["--now", "2026-11-20T12:06:00Z"]).status == 0)
        #expect(try Self.state(h, dry.notice_id)?.state == .pending_external_send)
        let reasons = try h.quarantineReasons().map(\.reason)
        #expect(reasons.contains { $0.contains("never sent by a sender") }, "\(reasons)")

        // Dispatched, no sender run yet: the ack is refused before the send, which then happens.
        let d = try Harness()
        try d.importExamples()
        let script = try d.script("relay-send", "cat > /dev/null; exit 0")
        let relay = try SenderTests.profile(
            d, "relay",
            sender: "      mode: command\n      timeout_ms: 5000\n      binding:\n        command: [\(script)]\n")
        for stage in ["rgov-watchdog", "rgov-dispatcher"] {
            #expect(try d.run(stage, ["--profile", relay]).status == 0)
        }
        let waiting = try #require(try d.notices().first { $0.state == .dispatched })
        // An operator cannot attest it either: it was never handed to a sender.
        let attested = try d.run("rgov", ["ack", waiting.notice_id, "--by", "e2e"])
        #expect(attested.status == 65 && attested.stderr.contains("never handed to a sender"), "\(attested.stderr)")
        try Self.drop(d, "early.json", notice: waiting.notice_id, key: try Self.key(d, waiting.notice_id))
        #expect(try d.run("rgov-bridge", ["--now", "2026-11-20T12:06:00Z"]).status == 0)
        #expect(try Self.state(d, waiting.notice_id)?.state_reason == "sent_unconfirmed", "sent, not acked")

        // Held after its send: the evidence waits for the release, then proves the send.
        let held = try Harness()
        try AdversarialTests.sentUnconfirmed(held)
        let sent = try #require(try held.notices().first { $0.state == .pending_external_send })
        #expect(try held.run("rgov", ["hold", sent.notice_id, "--by", "e2e", "--reason", "check"]).status == 0)
        try Self.drop(held, "held.json", notice: sent.notice_id, key: try Self.key(held, sent.notice_id))
        #expect(try held.run("rgov-bridge", ["--now", "2026-11-20T12:06:00Z"]).status == 0)
        #expect(try Self.state(held, sent.notice_id)?.state == .pending_external_send)
        #expect(try Sys.listDirectory(held.layout.bridgeAcks).contains("held.json"), "it waits")
        #expect(try held.run("rgov", ["release", sent.notice_id, "--by", "e2e"]).status == 0)
        #expect(try held.run("rgov-bridge", ["--now", "2026-11-20T12:07:00Z"]).status == 0)
        #expect(try Self.state(held, sent.notice_id)?.ack_evidence?.kind == .external_ack)
    }

    /// A writer who bypasses the bridge (the ledger called directly, as anyone with the state's
    /// files could) acks a dry-run notice by "external" evidence: the state check and the bundle's
    /// verify both name it.
    @Test func checkStateAndVerifyRefuseAnExternalAckNoSendBacks() throws {
        let h = try Harness()
        try h.importExamples()
        #expect(try h.tick().status == 0)
        let deployment = try Deployment.load(
            Deployment.Request(
                profile: "minimal-solo-mode", capabilities: nil, stateDirectory: h.state, clock: .pinned(Harness.t0)))
        let store = NoticeStore(layout: h.layout)
        let first = try #require(try h.notices().first?.notice_id)
        let path = try #require(store.locate(first))
        let notice = try store.read(path)
        _ = try Transaction.run(anchor: h.state) {
            try deployment.ledger.staged(in: $0).acknowledge(
                notice, at: path,
                evidence: AckEvidence(
                    kind: .external_ack, at: Harness.t0, message_id: "forged", sender_mode: .external, by: "forger"),
                receiptID: StateLayout.receiptID(notice.notice_id + ".ext9"), mode: .external,
                reason: .external_ack,
                moveReason: "forged", by: "forger", recordedBy: "forger", now: Harness.t0)
        }
        let check = try h.run("rgov", ["check-state", "--json"])
        #expect(check.status != 0 && check.stdout.contains("no sender ever sent it"), "\(check.stdout)")
        let export = try h.run("rgov", ["export", "--task", notice.mission_id, "--json"])
        let bundle = try #require(export.json?["bundle"]?.stringValue, "\(export.stderr)")
        let verified = try h.run("rgov", ["verify", bundle])
        #expect(verified.status != 0 && verified.stdout.contains("no sender ever sent it"), "\(verified.stdout)")
    }
}
