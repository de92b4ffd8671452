import Foundation
import Testing

@testable import GovernanceCore

/// Sender bindings and the bridge supervisor, each through real processes: command scripts,
/// a fake `openclaw`, a loopback HTTP receiver, the curl recipe, retries and crashes mid-send.
@Suite struct SenderTests {
    static let t0 = Harness.t0

    /// A profile sending with `sender` (YAML lines under `spec.adapters.sender`).
    static func profile(_ h: Harness, _ name: String, sender: String, bridge: String = "") throws -> String {
        try h.profile(
            named: name,
            replacing: [
                ("    sender:\n      mode: shim\n      timeout_ms: 10000\n", "    sender:\n" + sender),
                ("      max_sends_per_tick: 500\n", "      max_sends_per_tick: 500\n" + bridge),
            ])
    }

    /// One overdue mission, so one notice flows.
    static func oneNotice(_ h: Harness, goal: String = "Rank the webinar leads") throws {
        try h.layout.prepare()
        let mission: JSONValue = .object([
            "mission_id": .string("m-send"), "mission_type": .string("crm_lead_intelligence"),
            "status": .string("running"),
            "stage": .string("worker"), "user_goal": .string(goal), "created_at": .string("2026-11-20T11:00:00Z"),
            "started_at": .string("2026-11-20T11:00:00Z"), "stage_entered_at": .string("2026-11-20T11:30:00Z"),
            "last_checkpoint_at": .string("2026-11-20T11:30:00Z"), "checkpoint_interval_ms": .number(900_000),
        ])
        try DurableFile.write(try CanonicalJSON.encodeFile(mission), to: h.layout.missions + "/m-send.json")
    }

    func tick(_ h: Harness, _ profile: String, at minutes: Double = 0, env: [String: String] = [:]) throws
        -> Harness.Run
    {
        let run = try h.run(
            "rgov",
            ["tick", "--profile", profile, "--now", Timestamp.format(Self.t0.addingTimeInterval(minutes * 60))],
            env: env)
        #expect(run.status == 0, "\(run.stderr)\(run.stdout)")
        return run
    }

    func notice(_ h: Harness) throws -> Notice { try #require(try h.notices().first { $0.notice_kind == .finding }) }

    // MARK: command binding

    @Test(arguments: [
        ("echo '{\"ok\":true,\"message_id\":\"chat-42\",\"acked\":true}'", DeliveryState.acked, "sender_ack"),
        ("echo 'not json at all'", .pending_external_send, "sent_unconfirmed"),
        ("exit 75", .pending_external_send, "temporary_failure"),
        ("echo 'boom token=hunter2' >&2; exit 1", .pending_external_send, "sender_failed"),
        ("echo '{\"ok\":false,\"reason\":\"recipient_unknown\"}'", .blocked, "recipient_unknown"),
        ("head -c 5000000 /dev/zero | tr '\\0' x", .pending_external_send, "sent_unconfirmed"),
    ])
    func commandResultsEndInTheRightState(body: String, state: DeliveryState, reason: String) throws {
        let h = try Harness()
        try Self.oneNotice(h)
        let script = try h.script("send.sh", "cat > /dev/null; " + body)
        let profile = try Self.profile(
            h, "cmd",
            sender:
                "      mode: command\n      timeout_ms: 5000\n      binding:\n        command: [\(script)]\n        declares_ack: \"true\"\n"
        )
        _ = try tick(h, profile)
        let n = try notice(h)
        #expect(n.state == state && n.state_reason == reason)
        let receipt = try #require(try h.receipts().first)
        if body.hasPrefix("head") {
            let expected = SHA256.hex(of: [UInt8](repeating: UInt8(ascii: "x"), count: 5_000_000))
            #expect(receipt.sha256 == expected, "the receipt hashes everything the sender printed")
        }
        if body.contains("hunter2") { #expect(receipt.sender_stderr_tail == "boom token=hunter2\n") }
        #expect(receipt.sender_mode == ReceiptMode(.command))
    }

    @Test func aHangingSenderIsKilledAtItsDeadlineAndTheOutcomeIsUnknown() throws {
        let h = try Harness()
        try Self.oneNotice(h)
        let script = try h.script("hang.sh", "trap '' TERM; sleep 30")
        let profile = try Self.profile(
            h, "hang",
            sender: "      mode: command\n      timeout_ms: 500\n      binding:\n        command: [\(script)]\n")
        let (marker, env) = Harness.marked()
        _ = try tick(h, profile, env: env)
        #expect(try notice(h).state_reason == "outcome_unknown")
        #expect(Harness.noneLeft(carrying: marker), "the sender that ignores SIGTERM was killed")
    }

    @Test func aGrandchildHoldingStdoutDoesNotHangTheBridge() throws {
        let h = try Harness()
        try Self.oneNotice(h)
        let script = try h.script("fork.sh", "cat > /dev/null; (sleep 30) & echo '{\"ok\":true}'; exit 0")
        let profile = try Self.profile(
            h, "fork",
            sender: "      mode: command\n      timeout_ms: 10000\n      binding:\n        command: [\(script)]\n")
        let (marker, env) = Harness.marked()
        _ = try tick(h, profile, env: env)
        #expect(try notice(h).state_reason == "sent_unconfirmed")
        #expect(Harness.noneLeft(carrying: marker), "the lingering grandchild was ended")
    }

    @Test func hostileTextArrivesByteForByteAndRunsNothing() throws {
        let h = try Harness()
        let marker = h.dir + "/pwned"
        let hostile = "$(touch \(marker)) `touch \(marker)` \"quoted\" 'single' ; rm -rf / \n second line"
        try Self.oneNotice(h, goal: hostile)
        let script = try h.script(
            "capture.sh",
            "cat > \"$RGOV_CAPTURE/stdin.json\"; printf '%s' \"$1\" > \"$RGOV_CAPTURE/arg1\"; echo '{\"ok\":true}'")
        let profile = try Self.profile(
            h, "capture",
            sender:
                "      mode: command\n      timeout_ms: 5000\n      binding:\n        command: [\(script), \"{text}\"]\n"
        )
        _ = try tick(h, profile, env: ["RGOV_CAPTURE": h.dir])
        #expect(!Sys.exists(marker), "nothing in the message was run")
        let stdin = try CanonicalJSON.decode(SpoolHandoff.self, from: try Sys.readFile(h.dir + "/stdin.json"))
        let arg = String(decoding: try Sys.readFile(h.dir + "/arg1"), as: UTF8.self)
        #expect(stdin.message.text.contains(String(hostile.prefix(200))))
        #expect(arg == stdin.message.text, "the placeholder became exactly one argument, unchanged")
    }

    // MARK: retries

    /// One notice and a sender that always answers "busy" (exit 75): 3 attempts, backoff 1–10 min.
    static func busy() throws -> (Harness, String) {
        let h = try Harness()
        try oneNotice(h)
        let script = try h.script("busy.sh", "cat > /dev/null; exit 75")
        let profile = try profile(
            h, "busy",
            sender: "      mode: command\n      timeout_ms: 5000\n      binding:\n        command: [\(script)]\n",
            bridge: "      max_attempts: 3\n      minimal_backoff_ms: 60000\n      maximal_backoff_ms: 600000\n")
        return (h, profile)
    }

    @Test func retryMakesADeferredNoticeDueNow() throws {
        let (h, profile) = try Self.busy()
        _ = try tick(h, profile)
        _ = try tick(h, profile, at: 0.5)
        #expect(try notice(h).attempts == 1, "not due yet")
        let id = try notice(h).notice_id
        let retried = try h.run(
            "rgov",
            ["retry", "ALL", "--by", "e2e", "--reason", "channel back", "--now", "2026-11-20T12:00:30Z", "--json"])
        #expect(retried.status == 0 && retried.json?["changed"] == .array([.string(id)]), "\(retried.stdout)")
        #expect(try notice(h).next_attempt_at == Self.t0.addingTimeInterval(30))
        _ = try tick(h, profile, at: 0.5)
        #expect(try notice(h).attempts == 2, "sent at once, not at its backoff")
        let actions = try h.layout.dayPartitions(in: h.layout.operatorActions).flatMap {
            try h.layout.files(in: h.layout.operatorActions(day: $0))
        }.map { try CanonicalJSON.decode(OperatorAction.self, from: try Sys.readFile($0)) }
        #expect(actions.filter { $0.action == "retry" }.map(\.result) == ["1 made due now"])
        let none = try h.run("rgov", ["retry", "ntc-none", "--by", "e2e"])
        #expect(none.status == 66, "\(none.stderr)")
    }

    @Test func temporaryFailuresBackOffFromCreationThenExhaustAttempts() throws {
        let (h, profile) = try Self.busy()
        _ = try tick(h, profile)
        var n = try notice(h)
        #expect(n.state == .pending_external_send && n.attempts == 1)
        #expect(n.next_attempt_at == Self.t0.addingTimeInterval(60), "the minimal backoff while the notice is young")
        _ = try tick(h, profile, at: 0.5)
        #expect(try notice(h).attempts == 1, "not due yet")
        _ = try tick(h, profile, at: 1.5)
        n = try notice(h)
        #expect(n.attempts == 2)
        #expect(n.next_attempt_at == Self.t0.addingTimeInterval(90 + 90), "the wait grows with the notice's age (90 s)")
        _ = try tick(h, profile, at: 3.1)
        n = try notice(h)
        #expect(n.state == .blocked && n.state_reason == "attempts_exhausted (last: temporary_failure)")
        #expect(n.transitions.map(\.to) == [.queued, .dispatched, .pending_external_send, .blocked])
        // One linear chain: every receipt and transition names the record before it.
        let receipts = try h.receipts().sorted { $0.receipt_id < $1.receipt_id }
        #expect(receipts.count == 3)
        #expect(receipts[0].prev_sha256 == (try CanonicalJSON.sha256(n.transitions[1])))
        #expect(n.transitions[2].prev_sha256 == (try CanonicalJSON.sha256(receipts[0])))
        #expect(receipts[1].prev_sha256 == (try CanonicalJSON.sha256(n.transitions[2])))
        #expect(receipts[2].prev_sha256 == (try CanonicalJSON.sha256(receipts[1])))
        #expect(n.transitions[3].prev_sha256 == (try CanonicalJSON.sha256(receipts[2])))
        #expect(n.chain_head_sha256 == (try CanonicalJSON.sha256(n.transitions[3])))
    }

    /// A clock set back after a retry was scheduled: the backoff is not stretched by how far it
    /// went back (the retry runs at the next tick), and the attempts still end.
    @Test func aClockSetBackDoesNotStretchTheBackoffAndAttemptsStillEnd() throws {
        let (h, profile) = try Self.busy()
        _ = try tick(h, profile)
        #expect(try notice(h).attempts == 1)
        // Two hours back: the retry scheduled for t0 + 60 s would otherwise wait 2 h 01 m.
        _ = try tick(h, profile, at: -120)
        var n = try notice(h)
        #expect(n.attempts == 2, "retried at once, not after the clock catches up")
        #expect(n.next_attempt_at.map { $0 > Self.t0.addingTimeInterval(-120 * 60) } == true)
        _ = try tick(h, profile, at: -119)
        n = try notice(h)
        #expect(n.state == .blocked && n.state_reason == "attempts_exhausted (last: temporary_failure)")
        #expect(try h.run("rgov", ["check-state"]).status == 0)
    }

    @Test func aNoticeTooOldToRetryEndsLifetimeExhausted() throws {
        let h = try Harness()
        try Self.oneNotice(h)
        let script = try h.script("busy.sh", "cat > /dev/null; exit 75")
        let profile = try Self.profile(
            h, "short-life",
            sender: "      mode: command\n      timeout_ms: 5000\n      binding:\n        command: [\(script)]\n",
            bridge: "      minimal_backoff_ms: 600000\n      max_lifetime_ms: 300000\n")
        _ = try tick(h, profile)
        let n = try notice(h)
        #expect(n.state == .blocked && n.state_reason == "lifetime_exhausted (last: temporary_failure)")
    }

    // MARK: crashes mid-send

    /// SIGKILL the bridge while the sender runs.
    ///
    /// The send completes without it; the next run
    /// cannot know, so it records outcome_unknown and does not resend, unless the binding makes
    /// a resend harmless with the same idempotency key.
    @Test(arguments: [false, true])
    func killTheBridgeWhileASenderRuns(idempotent: Bool) throws {
        let h = try Harness()
        try Self.oneNotice(h)
        let out = h.dir + "/sent.log"
        let script = try h.script(
            "slow.sh",
            "cat > /dev/null; touch \(h.dir)/sender-started; sleep 1; echo \"$RGOV_IDEMPOTENCY_KEY\" >> \(out); echo '{\"ok\":true}'"
        )
        let profile = try Self.profile(
            h, "slow",
            sender: "      mode: command\n      timeout_ms: 10000\n      binding:\n        command: [\(script)]\n"
                + (idempotent ? "        supports_idempotency: \"true\"\n" : ""))
        for stage in ["rgov-watchdog", "rgov-dispatcher"] {
            #expect(try h.run(stage, ["--profile", profile]).status == 0)
        }
        // Kill the bridge once the sender has started (a file says so), then wait for the orphaned
        // send to finish (its line in the log), never for a time.
        let killer = try h.script(
            "kill-bridge.sh",
            "\"$1\" --state \"$2\" --profile \"$3\" --now \(Harness.now) & pid=$!\n"
                + "while [ ! -f \(h.dir)/sender-started ]; do sleep 0.01; done; kill -9 $pid; wait $pid\n"
                + "while [ ! -s \(out) ]; do sleep 0.01; done; exit 0")
        _ = try ChildProcess.run(
            ChildSpec(executable: killer, arguments: [Harness.bin + "/rgov-bridge", h.state, profile], deadline: 30))
        #expect(try h.layout.artifactNames(in: h.layout.inflightAttempts).count == 1, "the intent survived the crash")
        #expect(
            String(decoding: try Sys.readFile(out), as: UTF8.self).split(separator: "\n").count == 1,
            "the orphaned send completed")
        let rerun = try h.run("rgov-bridge", ["--profile", profile, "--json"])
        #expect(rerun.status == 0, "\(rerun.stderr)")
        var n = try notice(h)
        #expect(n.state == .pending_external_send && n.state_reason == "outcome_unknown")
        if idempotent {
            #expect(n.next_attempt_at != nil, "retried with the same key")
            #expect(try h.run("rgov-bridge", ["--profile", profile, "--now", "2026-11-20T12:02:00Z"]).status == 0)
            let keys = String(decoding: try Sys.readFile(out), as: UTF8.self).split(separator: "\n")
            #expect(keys.count == 2 && Set(keys).count == 1, "two sends, one idempotency key")
            n = try notice(h)
            #expect(n.state_reason == "sent_unconfirmed" && n.attempts == 2)
        } else {
            #expect(n.next_attempt_at == nil, "waits for an operator")
            #expect(rerun.stderr.contains("not resent"))
            let operatorNotice = try #require(try h.notices().first { $0.notice_kind == .delivery_unknown })
            #expect(operatorNotice.follows == n.notice_id && operatorNotice.rule_id == "delivery/outcome-unknown")
            #expect(operatorNotice.message.text.contains("cannot tell whether notice \(n.notice_id) reached"))
            #expect(try h.run("rgov-bridge", ["--profile", profile, "--now", "2026-11-20T13:00:00Z"]).status == 0)
            #expect(
                String(decoding: try Sys.readFile(out), as: UTF8.self).split(separator: "\n").count == 1,
                "never resent blindly")
        }
    }

    @Test func aBacklogIsCappedPerTick() throws {
        let h = try Harness()
        try h.importExamples()
        let profile = try h.profile(
            named: "capped", replacing: [("      max_sends_per_tick: 500\n", "      max_sends_per_tick: 2\n")])
        let first = try h.run("rgov", ["tick", "--profile", profile, "--json"])
        #expect(first.json?["stages"]?.array.last?["report"]?["deferred_by_cap"]?.int == Harness.exampleNotices - 2)
        #expect(try h.notices().filter { $0.state == .acked }.count == 2)
        #expect(
            try h.notices().filter { $0.state == .dispatched }.count == Harness.exampleNotices - 2,
            "the rest wait for the next tick")
        for _ in 0..<2 { _ = try tick(h, profile) }
        #expect(try h.notices().allSatisfy { $0.state == .acked })
    }

    // MARK: concurrency

    /// Five slow sends with `max_concurrent_sends: 3` overlap, but never more than three at once.
    @Test func sendsRunConcurrentlyUpToTheBound() throws {
        let h = try Harness()
        try h.importExamples()
        // Each send counts the sends running beside it, then waits (on files, not on time) until three
        // have started: a bridge that ran fewer at once would leave the first ones waiting.
        let d = h.dir
        try Sys.makeDirectory(d + "/running")
        try Sys.makeDirectory(d + "/started")
        let script = try h.script(
            "slow.sh",
            "cat > /dev/null; touch \(d)/running/$$ \(d)/started/$$\n"
                + "ls \(d)/running | wc -l >> \(d)/peaks\n"
                + "while [ $(ls \(d)/started | wc -l) -lt 3 ]; do sleep 0.01; done\n"
                + "ls \(d)/running | wc -l >> \(d)/peaks; rm \(d)/running/$$; echo '{\"ok\":true}'")
        let profile = try Self.profile(
            h, "parallel",
            sender: "      mode: command\n      timeout_ms: 10000\n      binding:\n        command: [\(script)]\n",
            bridge: "      max_concurrent_sends: 3\n")
        _ = try tick(h, profile)
        let peaks = String(decoding: try Sys.readFile(d + "/peaks"), as: UTF8.self).split(separator: "\n").compactMap {
            Int($0.trimmingCharacters(in: .whitespaces))
        }
        #expect(try Sys.listDirectory(d + "/started").count == Harness.exampleNotices)
        #expect(peaks.max() == 3, "peak concurrency \(peaks)")
        #expect(
            try h.notices().filter { $0.notice_kind == .finding }.allSatisfy { $0.state_reason == "sent_unconfirmed" })
    }

    // MARK: openclaw-cli

    @Test(arguments: [
        ("ok", #"{"ok":true,"messageId":"oc-77"}"#, 0, DeliveryState.acked, "sender_ack"),
        (
            "failed", #"{"ok":false,"error":true,"errorMessage":"gateway unreachable"}"#, 1, .pending_external_send,
            "sender_failed"
        ),
        ("refused", #"{"ok":false,"reason":"invalid_delivery_target"}"#, 0, .blocked, "invalid_delivery_target"),
        (
            "suppressed",
            #"{"ok":true,"deliveryStatus":{"status":"suppressed","reason":"cancelled_by_message_sending_hook"}}"#, 0,
            .blocked, "suppressed:cancelled_by_message_sending_hook"
        ),
        (
            "partial",
            #"{"ok":false,"messageId":"oc-78","deliveryStatus":{"status":"partial_failed","sentBeforeError":true}}"#, 0,
            .pending_external_send, "partial_send"
        ),
    ])
    func aFakeOpenclawDrivesTheCliMode(name: String, envelope: String, exit: Int, state: DeliveryState, reason: String)
        throws
    {
        let h = try Harness()
        try Self.oneNotice(h)
        let bin = h.dir + "/bin"
        try Sys.makeDirectory(bin)
        _ = try h.script(
            "bin/openclaw",
            "printf '%s\\n' \"$@\" > \"$RGOV_CAPTURE/openclaw-args\"; echo '\(envelope)'; exit \(exit)")
        let profile = try Self.profile(
            h, "oc",
            sender:
                "      mode: openclaw-cli\n      timeout_ms: 5000\n      binding:\n        channel: slack\n        target: \"channel:C042\"\n        ack_policy: sender_ok\n"
        )
        let path = bin + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        _ = try tick(h, profile, env: ["PATH": path, "RGOV_CAPTURE": h.dir])
        let n = try notice(h)
        #expect(n.state == state && n.state_reason == reason, "\(name)")
        let args = String(decoding: try Sys.readFile(h.dir + "/openclaw-args"), as: UTF8.self).split(
            separator: "\n", omittingEmptySubsequences: false)
        #expect(Array(args.prefix(6)) == ["message", "send", "--channel", "slack", "--target", "channel:C042"])
        #expect(args.contains("--json"))
    }

    // MARK: webhook and the curl recipe, against a real receiver on 127.0.0.1

    /// Only `rgov-sender` loads the HTTP stack (FoundationNetworking, libcurl and the libraries
    /// behind it): the stages start without it.
    @Test func onlyTheSenderLoadsTheHTTPStack() throws {
        for name in ["rgov", "rgov-watchdog", "rgov-dispatcher", "rgov-bridge", "rgov-sender"] {
            let ldd = try ChildProcess.run(
                ChildSpec(executable: "/usr/bin/ldd", arguments: [Harness.bin + "/" + name], deadline: 30))
            #expect(ldd.status == 0, "\(name): \(ldd.stderrText)")
            let loads = ldd.stdoutText.contains("libFoundationNetworking") || ldd.stdoutText.contains("libcurl")
            #expect(loads == (name == "rgov-sender"), "\(name): \(ldd.stdoutText)")
        }
    }

    /// Starts the loopback receiver; returns its base URL and request log path.
    static func receiver(_ h: Harness) throws -> (String, String) {
        let portFile = h.dir + "/port"
        let log = h.dir + "/requests.jsonl"
        let start = try h.script(
            "start-receiver.sh",
            "setsid python3 \(Harness.repoRoot)/Tests/fixtures/http_receiver.py \(portFile) \(log) > /dev/null 2>&1 < /dev/null &"
        )
        _ = try ChildProcess.run(ChildSpec(executable: start, arguments: [], deadline: 10))
        for _ in 0..<200 where Sys.kind(portFile) != .regular { Sys.sleep(milliseconds: 25) }
        let port = String(decoding: try Sys.readFile(portFile), as: UTF8.self)
        return ("http://127.0.0.1:" + port, log)
    }

    @Test(arguments: [
        ("/ok", DeliveryState.pending_external_send, "sent_unconfirmed"),
        ("/bad", .blocked, "http_400"),
        ("/busy", .pending_external_send, "temporary_failure"),
        ("/fail", .pending_external_send, "temporary_failure"),
        ("/hang", .pending_external_send, "outcome_unknown"),
        ("/reset", .pending_external_send, "outcome_unknown"),
    ])
    func webhookAgainstALoopbackReceiver(path: String, state: DeliveryState, reason: String) throws {
        let h = try Harness()
        try Self.oneNotice(h)
        let (base, log) = try Self.receiver(h)
        let profile = try Self.profile(
            h, "hook",
            sender:
                "      mode: webhook\n      timeout_ms: 2000\n      binding:\n        url: \"\(base)\(path)\"\n        headers:\n          Authorization: \"env:HOOK_TOKEN\"\n"
        )
        _ = try tick(h, profile, env: ["HOOK_TOKEN": "Bearer s3cret-hook-token"])
        let n = try notice(h)
        #expect(n.state == state && n.state_reason == reason, "\(path)")
        // The receipt keeps what the sender said, which the state alone does not tell.
        let said = [
            "/ok": "sent: HTTP 200", "/bad": "http_400: HTTP 400", "/busy": "http_429: HTTP 429",
            "/fail": "http_500: HTTP 500", "/hang": "outcome_unknown: ", "/reset": "outcome_unknown: ",
        ][path]
        let receipt = try #require(try h.receipts().first { $0.notice_id == n.notice_id })
        #expect(receipt.sender_detail?.hasPrefix(said ?? "?") == true, "\(receipt.sender_detail ?? "none")")
        let show = try h.run("rgov", ["show", n.notice_id])
        #expect(show.stdout.contains("the sender said: " + (said ?? "?")), "\(show.stdout)")
        if path == "/busy" {
            #expect(n.next_attempt_at == Self.t0.addingTimeInterval(120), "Retry-After wins over the shorter backoff")
        }
        let requests = String(decoding: try Sys.readFile(log), as: UTF8.self).split(separator: "\n")
        #expect(requests.count == 1)
        let request = try CanonicalJSON.decode(JSONValue.self, from: Data(requests[0].utf8))
        let key = try LateAckProofTests.key(h, n.notice_id)
        #expect(request["headers"]?["Idempotency-Key"]?.stringValue == key)
        #expect(request["headers"]?["Authorization"]?.stringValue == "Bearer s3cret-hook-token")
        for (file, bytes) in try h.snapshot(excluding: []) {
            #expect(!String(decoding: bytes, as: UTF8.self).contains("s3cret-hook-token"), "secret written to \(file)")
        }
    }

    /// A profile sending through a webhook to `url`.
    static func webhookProfile(
        _ h: Harness, _ name: String, url: String, timeoutMs: Int = 30000, concurrency: Int = 4
    ) throws -> String {
        try profile(
            h, name,
            sender: "      mode: webhook\n      timeout_ms: \(timeoutMs)\n      binding:\n        url: \"\(url)\"\n",
            bridge: "      max_concurrent_sends: \(concurrency)\n")
    }

    /// The requests the loopback receiver logged, one JSON line each.
    static func requests(_ log: String) -> [String] {
        String(decoding: (try? Sys.readFile(log)) ?? Data(), as: UTF8.self).split(separator: "\n").map(String.init)
    }

    /// One tick sending through a webhook to the loopback receiver's `path`; the requests it got.
    func webhook(_ h: Harness, _ path: String, timeoutMs: Int, concurrency: Int = 4) throws -> Int {
        let (base, log) = try Self.receiver(h)
        _ = try tick(
            h, try Self.webhookProfile(h, "hook", url: base + path, timeoutMs: timeoutMs, concurrency: concurrency))
        return Self.requests(log).count
    }

    /// A request may take its whole timeout, even under a second (URLSession alone would give up on
    /// anything not answered at once): an answer after 0.1 s within 0.99 s is a send.
    @Test func aTimeoutUnderASecondStillWaitsForTheAnswer() throws {
        let h = try Harness()
        try Self.oneNotice(h)
        #expect(try webhook(h, "/slow", timeoutMs: 1490) == 1)
        #expect(try notice(h).state_reason == "sent_unconfirmed")
    }

    /// A webhook batch posts up to `max_concurrent_sends` requests at once: this receiver answers
    /// none until two are under way, so a sender posting one at a time would give up on the first.
    @Test func aWebhookBatchPostsSideBySide() throws {
        let h = try Harness()
        try h.importExamples()
        #expect(try webhook(h, "/together", timeoutMs: 30000, concurrency: 2) == Harness.exampleNotices)
        let findings = try h.notices().filter { $0.notice_kind == .finding }
        #expect(findings.count == Harness.exampleNotices)
        #expect(findings.allSatisfy { $0.state_reason == "sent_unconfirmed" }, "\(findings.map(\.state_reason))")
    }

    /// Stopped mid-batch (`systemctl stop`), the webhook sender says at once which sends it never began.
    ///
    /// Those were not sent, so they wait for the next run instead of being reported as unknown
    /// outcomes, each with an alert. The request under way finishes if it can (`/linger` answers
    /// after 0.5 s); one that outlasts the stop's grace (`/hang`) is killed and is the one unknown.
    @Test(arguments: ["/linger", "/hang"])
    func aStoppedWebhookBatchSaysWhatItNeverSent(path: String) throws {
        let h = try Harness()
        try h.importExamples()
        let (base, log) = try Self.receiver(h)
        let profile = try Self.webhookProfile(h, "hook", url: base + path, concurrency: 1)
        func requests() -> [String] { Self.requests(log) }
        let tick = try h.startTick(profile)
        // Wait for the effect (the first request reached the receiver), not for a time.
        for _ in 0..<6000 where requests().isEmpty { Sys.sleep(milliseconds: 10) }
        try #require(!requests().isEmpty, "the first request arrived")
        kill(tick.processIdentifier, SIGTERM)
        tick.waitUntilExit()
        #expect(tick.terminationStatus == 128 + SIGTERM)
        let sent = requests().count
        let receipts = try h.receipts().filter { $0.attempt_id != nil }
        #expect(receipts.count == Harness.exampleNotices)
        let answered = receipts.filter { $0.reason.rawValue == "sent_unconfirmed" }.map(\.notice_id)
        let unknown = receipts.filter { $0.reason.rawValue == "outcome_unknown" }.map(\.notice_id)
        #expect(answered.count + unknown.count == sent, "\(receipts.map(\.reason))")
        #expect(path == "/linger" ? unknown.isEmpty : answered.isEmpty, "\(receipts.map(\.reason))")
        let notStarted = receipts.filter {
            $0.reason.rawValue == "temporary_failure" && $0.next_attempt_at != nil
                && $0.sender_detail?.hasPrefix("stopped_before_send: ") == true
        }
        #expect(notStarted.count == Harness.exampleNotices - sent && sent < Harness.exampleNotices)
        let alerts = try h.notices().filter { $0.notice_kind == .delivery_unknown }.compactMap(\.follows)
        #expect(alerts.sorted() == unknown.sorted(), "an alert for each unknown outcome, none for what was never sent")
        // The next run sends the ones never begun, each once (to a receiver answering at once); an
        // unknown outcome is not resent blindly.
        let quick = try Self.webhookProfile(h, "hook-ok", url: base + "/ok")
        #expect(try h.activate(quick).status == 0)
        _ = try self.tick(h, quick, at: 60)
        let posted = requests().compactMap { try? CanonicalJSON.decode(JSONValue.self, from: Data($0.utf8)) }
            .compactMap { $0["body"]?.stringValue }
            .compactMap { try? CanonicalJSON.decode(JSONValue.self, from: Data($0.utf8))["notice_id"]?.stringValue }
        for receipt in receipts {
            let notice = try #require(try h.notices().first { $0.notice_id == receipt.notice_id })
            let expected = unknown.contains(notice.notice_id) ? "outcome_unknown" : "sent_unconfirmed"
            #expect(notice.state_reason == expected, "\(notice.notice_id)")
            #expect(posted.filter { $0 == receipt.notice_id }.count == 1, "\(receipt.notice_id): \(posted)")
        }
    }

    /// A stop that reaches `rgov-sender` while it starts waits for its handler, which says nothing was sent.
    ///
    /// Here a shell sends itself SIGTERM, then becomes the sender the bridge would run. Without the
    /// stop signals held it is killed unheard, and every send of its batch would be an unknown outcome.
    @Test(arguments: [true, false])
    func aStopWhileTheSenderStartsWaitsForItsAnswer(held: Bool) throws {
        let h = try Harness()
        try h.importExamples()
        let profile = try Self.webhookProfile(h, "hook", url: "http://127.0.0.1:9/x")
        for stage in ["rgov-watchdog", "rgov-dispatcher"] {
            #expect(try h.run(stage, ["--profile", profile]).status == 0)
        }
        let handoffs = try h.layout.files(in: h.layout.spool).map {
            try CanonicalJSON.decode(SpoolHandoff.self, from: try Sys.readFile($0))
        }
        let limits = SendLimits(timeout: 30, concurrency: 1)
        let plan = { (binding: SenderBinding) in
            try binding.plan(
                handoffs[0], layout: h.layout, senderExecutable: Harness.bin + "/rgov-sender",
                environment: ProcessInfo.processInfo.environment, limits: limits)
        }
        var spec = try plan(SenderBinding(mode: .webhook, values: ["url": .text("http://127.0.0.1:9/x")]))
        #expect(spec.holdsStopUntilReady, "the bridge runs rgov-sender with the stop held")
        #expect(try !plan(SenderBinding(mode: .command, values: ["command": .list(["/bin/true"])])).holdsStopUntilReady)
        spec.arguments = ["-c", "kill -TERM $$; exec \"$0\" \"$@\"", spec.executable] + spec.arguments
        spec.executable = "/bin/sh"
        spec.standardInput = handoffs.flatMap { Array(CanonicalJSON.line($0).utf8) + [0x0a] }
        spec.holdsStopUntilReady = held
        let child = try ChildProcess.run(spec)
        #expect(child.status == 128 + SIGTERM)
        let said = child.stdoutText.split(separator: "\n").compactMap {
            try? CanonicalJSON.decode(SenderResult.self, from: Data($0.utf8))
        }
        if held {
            #expect(said.count == Harness.exampleNotices)
            #expect(
                said.allSatisfy { !$0.sent && $0.retryable && $0.reason.rawValue == "stopped_before_send" }, "\(said)")
        } else {
            #expect(child.signaled && said.isEmpty, "the default action ended it before it could answer")
        }
    }

    /// Each request of a batch has the send's own timeout, not the batch's: against a receiver
    /// that never answers, the sender itself gives up on each one and says so (exit 0, a result
    /// line each), well before the bridge's deadline for the batch would kill it.
    @Test func eachRequestOfABatchHasTheSendsTimeout() throws {
        let h = try Harness()
        try h.importExamples()
        #expect(try webhook(h, "/hang", timeoutMs: 1000, concurrency: 1) == Harness.exampleNotices)
        let receipts = try h.receipts().filter { $0.attempt_id != nil }
        #expect(receipts.count == Harness.exampleNotices)
        for receipt in receipts {
            #expect(receipt.reason.rawValue == "outcome_unknown" && receipt.sender_exit_status == 0, "\(receipt)")
        }
    }

    @Test(arguments: [
        ("/ok", "sent_unconfirmed"), ("/fail", "temporary_failure"), ("/busy", "temporary_failure"),
        ("/bad", "sender_failed"),
        ("/reset", "outcome_unknown"), ("/hang", "outcome_unknown"),
    ])
    func theCurlRecipe(path: String, reason: String) throws {
        let h = try Harness()
        try Self.oneNotice(h)
        let (base, log) = try Self.receiver(h)
        let profile = try Self.profile(
            h, "curl",
            sender:
                "      mode: command\n      timeout_ms: 15000\n      binding:\n        command: [\(Harness.repoRoot)/examples/senders/curl-post.sh, \"\(base)\(path)\"]\n"
        )
        _ = try tick(h, profile, env: ["RGOV_CURL_MAX_TIME": "1"])
        #expect(try notice(h).state_reason == reason, "\(path)")
        let request = try CanonicalJSON.decode(
            JSONValue.self,
            from: Data(String(decoding: try Sys.readFile(log), as: UTF8.self).split(separator: "\n")[0].utf8))
        let body = try CanonicalJSON.decode(SpoolHandoff.self, from: Data((request["body"]?.stringValue ?? "").utf8))
        #expect(body.notice_id == (try notice(h)).notice_id, "the message arrived as JSON")
    }

    // MARK: secrets

    @Test func secretsNeverReachAFile() throws {
        let h = try Harness()
        try Self.oneNotice(h)
        let script = try h.script(
            "leaky.sh", "cat > /dev/null; echo \"using $MY_API_TOKEN and $RGOV_BINDING_TOKEN\" >&2; exit 1")
        let profile = try Self.profile(
            h, "leaky",
            sender: "      mode: command\n      timeout_ms: 5000\n      binding:\n        command: [\(script)]\n")
        _ = try tick(h, profile, env: ["MY_API_TOKEN": "tok-planted-1234", "RGOV_BINDING_TOKEN": "bind-planted-5678"])
        let receipt = try #require(try h.receipts().first)
        #expect(receipt.sender_stderr_tail == "using [redacted] and [redacted]\n")
        for (file, bytes) in try h.snapshot(excluding: []) {
            let text = String(decoding: bytes, as: UTF8.self)
            #expect(!text.contains("tok-planted-1234") && !text.contains("bind-planted-5678"), "secret in \(file)")
        }
    }

    /// A receipt keeps the last 2,000 characters of the sender's stderr: a secret that the cut
    /// goes through is redacted all the same, not left half visible.
    @Test func aSecretCutByTheStderrTailIsStillRedacted() throws {
        let h = try Harness()
        try Self.oneNotice(h)
        let script = try h.script(
            "leaky-long.sh",
            "cat > /dev/null; printf '%s' \"$MY_API_TOKEN\" >&2; head -c 1985 /dev/zero | tr '\\0' y >&2; exit 1")
        let profile = try Self.profile(
            h, "leaky",
            sender: "      mode: command\n      timeout_ms: 5000\n      binding:\n        command: [\(script)]\n")
        _ = try tick(h, profile, env: ["MY_API_TOKEN": "tok-planted-abcdefghij-1234"])
        let receipt = try #require(try h.receipts().first)
        #expect(receipt.sender_stderr_tail?.hasSuffix("yyyy") == true, "\(receipt.sender_stderr_tail ?? "")")
        for (file, bytes) in try h.snapshot(excluding: []) {
            #expect(!String(decoding: bytes, as: UTF8.self).contains("abcdefghij"), "part of the secret in \(file)")
        }
    }

    /// A command sender that prints pieces of the binding's 24-character token (14 characters of
    /// it, 12 more in base64, the whole upper-cased, the whole split over two lines) and its
    /// send's idempotency key, then exits 75: none of it is in any file of the state or of a
    /// bundle, and the receipt still says what happened.
    @Test func piecesOfASecretNeverReachTheStateOrABundle() throws {
        let h = try Harness()
        try Self.oneNotice(h)
        let token = "Zq7tP3vLm9Xw2KcR8bN4yHs6"
        let t = Array(token)
        let piece = String(t[5..<19])
        let encoded = Data(String(t[2..<14]).utf8).base64EncodedString()
        let script = try h.script(
            "leaky-pieces.sh",
            "cat > /dev/null; t=\"$RGOV_BINDING_TOKEN\"\n"
                + "echo \"piece: $(printf '%s' \"$t\" | cut -c6-19)\" >&2\n"
                + "echo \"b64: $(printf '%s' \"$t\" | cut -c3-14 | tr -d '\\n' | base64)\" >&2\n"
                + "echo \"upper: $(printf '%s' \"$t\" | tr a-z A-Z)\" >&2\n"
                + "printf 'wrapped: %s\\n  %s\\n' \"$(printf '%s' \"$t\" | cut -c1-11)\" \"$(printf '%s' \"$t\" | cut -c12-)\" >&2\n"
                + "echo \"key: $RGOV_IDEMPOTENCY_KEY\" >&2\n"
                + "exit 75")
        let profile = try Self.profile(
            h, "leaky",
            sender: "      mode: command\n      timeout_ms: 5000\n      binding:\n        command: [\(script)]\n")
        _ = try tick(h, profile, env: ["RGOV_BINDING_TOKEN": token])
        let receipt = try #require(try h.receipts().first { $0.attempt_id != nil })
        let tail = receipt.sender_stderr_tail ?? ""
        #expect(receipt.reason.rawValue == "temporary_failure" && receipt.sender_detail?.hasPrefix("exit 75") == true)
        #expect(tail.contains("piece: [redacted]") && tail.contains("b64: [redacted]"), "\(tail)")
        #expect(tail.contains("upper: [redacted]") && tail.contains("wrapped: [redacted]"), "\(tail)")
        #expect(tail.contains("key: [redacted]"), "the idempotency key is the proof a late ack must show: \(tail)")
        let key = try #require(
            try h.notices().first.flatMap { h.layout.spoolHandoff($0.notice_id) }.map {
                try CanonicalJSON.decode(SpoolHandoff.self, from: try Sys.readFile($0)).key
            })
        let export = try h.run("rgov", ["export", "--task", "m-send", "--json", "--now", Harness.now])
        #expect(export.status == 0, "\(export.stderr)")
        let bundle = try #require(export.json?["bundle"]?.stringValue)
        var files = try h.snapshot(excluding: ["spool/"])
        if let enumerator = FileManager.default.enumerator(atPath: bundle) {
            while let relative = enumerator.nextObject() as? String {
                guard Sys.kind(bundle + "/" + relative) == .regular else { continue }
                files["bundle/" + relative] = try Sys.readFile(bundle + "/" + relative)
            }
        }
        #expect(files.keys.contains { $0.hasPrefix("bundle/") } && files.count > 10)
        for (file, bytes) in files {
            let text = String(decoding: bytes, as: UTF8.self)
            for secret in [piece, encoded.replacingOccurrences(of: "=", with: ""), token.uppercased(), key] {
                #expect(!text.lowercased().contains(secret.lowercased()), "\(secret) in \(file)")
            }
            #expect(!text.contains(String(t[0..<11])), "the first line of the wrapped token in \(file)")
        }
    }

    /// The curl recipe takes its URL through the binding's environment, from a variable of rgov's:
    /// the request arrives, and neither the URL nor a piece of its path is in the state or the
    /// bundle; without the variable the notice waits as `sender_unavailable`, naming it, and
    /// doctor fails naming it.
    @Test func aCommandTakesItsURLThroughTheEnvironment() throws {
        let h = try Harness()
        try Self.oneNotice(h)
        let (base, log) = try Self.receiver(h)
        let profile = try Self.profile(
            h, "curl-env",
            sender: "      mode: command\n      timeout_ms: 15000\n      binding:\n"
                + "        command: [\(Harness.repoRoot)/examples/senders/curl-post.sh]\n"
                + "        environment:\n          HOOK_URL: env:RGOV_HOOK_URL\n")
        let unset = try h.run("rgov", ["tick", "--profile", profile, "--now", Timestamp.format(Self.t0)])
        #expect(unset.status == 0, "\(unset.stderr)")
        #expect(try notice(h).state_reason == "sender_unavailable")
        #expect(unset.stderr.contains("RGOV_HOOK_URL is not set"), "\(unset.stderr)")
        let doctor = try h.run("rgov", ["doctor"])
        #expect(doctor.status == 1 && doctor.stdout.contains("command binding secrets not set: RGOV_HOOK_URL"))
        let url = base + "/T0SECRETHOOKPATH/ok"
        _ = try tick(h, profile, at: 10, env: ["RGOV_HOOK_URL": url, "RGOV_CURL_MAX_TIME": "2"])
        #expect(try notice(h).state_reason == "sent_unconfirmed")
        let request = String(decoding: try Sys.readFile(log), as: UTF8.self)
        #expect(request.contains("T0SECRETHOOKPATH"), "the request went to the URL of the environment")
        #expect(try h.run("rgov", ["export", "--task", "m-send", "--now", Harness.now]).status == 0)
        for (file, bytes) in try h.snapshot(excluding: []) {
            #expect(!String(decoding: bytes, as: UTF8.self).contains("SECRETHOOK"), "\(file)")
        }
        let snapshots = try Sys.listDirectory(h.layout.profileSnapshots).map {
            String(decoding: try Sys.readFile(h.layout.profileSnapshots + "/" + $0), as: UTF8.self)
        }
        #expect(snapshots.contains { $0.contains("HOOK_URL: env:RGOV_HOOK_URL") })
    }

    @Test func aWebhookURLAndHeadersNeverReachTheStateOrABundle() throws {
        let h = try Harness()
        try Self.oneNotice(h)
        let (url, _) = try Self.receiver(h)
        let secretURL = url + "/T0SECRETPATH/ok"
        let profile = try Self.profile(
            h, "hook",
            sender: "      mode: webhook\n      timeout_ms: 5000\n      binding:\n        url: \"\(secretURL)\"\n"
                + "        headers:\n          X-Api-Key: hdr-planted-9999\n          Authorization: env:HOOK_TOKEN\n")
        _ = try tick(h, profile, env: ["HOOK_TOKEN": "env-planted-4242"])
        #expect(try notice(h).state_reason == "sent_unconfirmed", "the URL was used for the send")
        let export = try h.run("rgov", ["export", "--task", "m-send", "--json"])
        #expect(export.status == 0, "\(export.stderr)")
        // The state keeps the profile as written, privately, to run it; no record or bundle holds it.
        for (file, bytes) in try h.snapshot(excluding: ["profile-private/"]) {
            let text = String(decoding: bytes, as: UTF8.self)
            for secret in ["T0SECRETPATH", "hdr-planted-9999", "env-planted-4242"] {
                #expect(!text.contains(secret), "\(secret) in \(file)")
            }
        }
        let kept = try Sys.listDirectory(h.layout.privateProfiles)
        #expect(kept.count == 1 && Sys.status(h.layout.privateProfiles + "/" + kept[0])?.mode == 0o600)
        let snapshot = try #require(
            try Sys.listDirectory(h.layout.profileSnapshots).first { name in
                String(decoding: (try? Sys.readFile(h.layout.profileSnapshots + "/" + name)) ?? Data(), as: UTF8.self)
                    .contains("webhook")
            })
        let stored = String(decoding: try Sys.readFile(h.layout.profileSnapshots + "/" + snapshot), as: UTF8.self)
        #expect(stored.contains("url: \"[redacted]\"") && stored.contains("Authorization: env:HOOK_TOKEN"))
        #expect(SHA256.hex(of: stored) + ".yaml" == snapshot, "a snapshot still matches its name")
    }

    @Test func aProfileRequiringAcksFromABindingThatCannotGiveThemIsRefused() throws {
        let h = try Harness()
        let profile = try h.profile(
            from: "strict-manager-trial", named: "strict-hook",
            replacing: [
                (
                    "      mode: shim\n      timeout_ms: 5000\n",
                    "      mode: webhook\n      binding:\n        url: \"http://127.0.0.1:9/x\"\n"
                )
            ])
        let run = try h.run("rgov-bridge", ["--profile", profile])
        #expect(run.status == 78)
        #expect(run.stderr.contains("requires ack_receipts, but its webhook binding cannot give an ack"))
    }
}
