import Foundation
import Testing

@testable import GovernanceCore

/// What a send's records say must be what happened, and a sender must not reach past its send:
/// redirects are not followed, a reply body is read only so far, a failed sender's receipt says how
/// it failed, and nothing a sender starts outlives it or sees the bridge's descriptors.
@Suite struct SenderEvidenceTests {
    /// A loopback receiver of its own in `h.dir/name/`, so a test can run two side by side.
    static func receiver(_ h: Harness, named name: String) throws -> (base: String, port: String, log: String) {
        let dir = h.dir + "/" + name
        try Sys.makeDirectory(dir)
        let portFile = dir + "/port"
        let log = dir + "/requests.jsonl"
        let start = try h.script(
            name + "/start-receiver.sh",
            "setsid python3 \(Harness.repoRoot)/Tests/fixtures/http_receiver.py \(portFile) \(log) > /dev/null 2>&1 < /dev/null &"
        )
        _ = try ChildProcess.run(ChildSpec(executable: start, arguments: [], deadline: 10))
        for _ in 0..<400 where Sys.kind(portFile) != .regular { Sys.sleep(milliseconds: 25) }
        let port = String(decoding: try Sys.readFile(portFile), as: UTF8.self)
        return ("http://127.0.0.1:" + port, port, log)
    }

    func tick(_ h: Harness, _ profile: String, env: [String: String] = [:]) throws -> Harness.Run {
        let run = try h.run("rgov", ["tick", "--profile", profile], env: env)
        #expect(run.status == 0, "\(run.stderr)\(run.stdout)")
        return run
    }

    func notice(_ h: Harness) throws -> Notice { try #require(try h.notices().first { $0.notice_kind == .finding }) }

    /// A command sender running `body` (after reading its input).
    static func commandProfile(_ h: Harness, _ body: String, timeoutMs: Int = 5000) throws -> String {
        let script = try h.script("send.sh", "cat > /dev/null; " + body)
        return try SenderTests.profile(
            h, "cmd",
            sender:
                "      mode: command\n      timeout_ms: \(timeoutMs)\n      binding:\n        command: [\(script)]\n")
    }

    // MARK: 1. a redirect is not a send

    /// A webhook answering 3xx: the redirect is not followed.
    ///
    /// Neither the message nor the credential reaches the other origin; the receipt names the
    /// status and where it pointed. 307 (and 302, 303) may work later: retried. 308 (and 301)
    /// says the URL moved: blocked.
    @Test(arguments: [
        (307, DeliveryState.pending_external_send, "temporary_failure"), (308, .blocked, "http_308"),
    ])
    func aRedirectIsNotASend(code: Int, state: DeliveryState, reason: String) throws {
        let h = try Harness()
        try SenderTests.oneNotice(h)
        let other = try Self.receiver(h, named: "other")
        let origin = try Self.receiver(h, named: "origin")
        let profile = try SenderTests.profile(
            h, "hook",
            sender: "      mode: webhook\n      timeout_ms: 5000\n      binding:\n"
                + "        url: \"\(origin.base)/redirect-\(code)-\(other.port)\"\n"
                + "        headers:\n          Authorization: \"env:HOOK_TOKEN\"\n")
        _ = try tick(h, profile, env: ["HOOK_TOKEN": "Bearer s3cret-hook-token"])
        #expect(SenderTests.requests(origin.log).count == 1, "the configured URL got the request")
        #expect(SenderTests.requests(other.log).isEmpty, "nothing, and no credential, reached the other origin")
        let n = try notice(h)
        #expect(n.state == state && n.state_reason == reason, "\(n.state) \(n.state_reason)")
        #expect(n.state_reason != "sent_unconfirmed")
        #expect((n.next_attempt_at != nil) == (code == 307), "a temporary redirect is retried, a permanent one is not")
        let receipt = try #require(try h.receipts().first { $0.notice_id == n.notice_id })
        let detail = try #require(receipt.sender_detail)
        #expect(detail.hasPrefix("http_\(code): HTTP \(code)"), "\(detail)")
        #expect(detail.contains("http://127.0.0.1:\(other.port)/ok"), "the Location is named: \(detail)")
        let show = try h.run("rgov", ["show", n.notice_id])
        #expect(show.stdout.contains("the sender said: http_\(code): HTTP \(code)"), "\(show.stdout)")
    }

    // MARK: 2. a bounded reply body

    /// A receiver answering 200 with a 1 GiB body: the sender reads 64 KiB of it, hangs up, and
    /// the send concludes on the status, in bounded memory.
    @Test func aHugeReplyBodyIsCutAndTheSenderStaysSmall() throws {
        let h = try Harness()
        try SenderTests.oneNotice(h)
        let receiver = try Self.receiver(h, named: "huge")
        let profile = try SenderTests.webhookProfile(h, "hook", url: receiver.base + "/huge", timeoutMs: 60000)
        // Peak RSS (KiB) of the children of a wrapper: of rgov-sender alone, and of the whole tick.
        let measure =
            "import resource,subprocess,sys\nr=subprocess.run(sys.argv[2:])\n"
            + "open(sys.argv[1],'w').write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))\n"
            + "sys.exit(r.returncode)"
        try DurableFile.write(Data(measure.utf8), to: h.dir + "/measure.py")
        let sender = try h.script(
            "measured-sender.sh",
            "exec python3 \(h.dir)/measure.py \(h.dir)/sender.rss \(Harness.bin)/rgov-sender \"$@\"")
        let run = try h.runProgram(
            "/usr/bin/env",
            [
                "python3", h.dir + "/measure.py", h.dir + "/tick.rss", Harness.bin + "/rgov", "tick", "--state",
                h.state,
                "--profile", profile, "--now", Harness.now,
            ], env: ["RGOV_SENDER_BIN": sender])
        #expect(run.status == 0, "\(run.stderr)")
        let senderKiB = try #require(Int(String(decoding: try Sys.readFile(h.dir + "/sender.rss"), as: UTF8.self)))
        let tickKiB = try #require(Int(String(decoding: try Sys.readFile(h.dir + "/tick.rss"), as: UTF8.self)))
        print("peak RSS: rgov-sender \(senderKiB / 1024) MB, the tick's processes \(tickKiB / 1024) MB")
        #expect(senderKiB < 64 << 10, "rgov-sender peaked at \(senderKiB) KiB")
        #expect(tickKiB < 128 << 10, "the tick peaked at \(tickKiB) KiB")
        let n = try notice(h)
        #expect(n.state_reason == "sent_unconfirmed", "a 2xx is a send, however long its body")
        let receipt = try #require(try h.receipts().first { $0.notice_id == n.notice_id })
        #expect(receipt.sender_detail?.contains("HTTP 200") == true, "\(receipt.sender_detail ?? "none")")
        #expect(receipt.sender_detail?.contains("65536") == true, "the cut is said: \(receipt.sender_detail ?? "none")")
    }

    // MARK: 3. receipts say what happened

    /// A command sender that fails says so in the receipt, in its own terms (exit status, the
    /// deadline), and `rgov show` prints it: never "sent" for a send that failed.
    @Test(arguments: [
        ("exit 75", "temporary_failure", "exit 75"), ("exit 3", "sender_failed", "exit 3"),
        ("trap '' TERM; sleep 30", "outcome_unknown", "deadline"),
    ])
    func aFailedSendersReceiptSaysHowItFailed(body: String, reason: String, said: String) throws {
        let h = try Harness()
        try SenderTests.oneNotice(h)
        let (marker, env) = Harness.marked()
        _ = try tick(h, try Self.commandProfile(h, body, timeoutMs: 500), env: env)
        #expect(Harness.noneLeft(carrying: marker))
        let n = try notice(h)
        #expect(n.state_reason == reason)
        let receipt = try #require(try h.receipts().first { $0.notice_id == n.notice_id })
        let detail = try #require(receipt.sender_detail, "the receipt says what the sender did")
        #expect(detail.contains(said) && !detail.hasPrefix("sent"), "\(detail)")
        let show = try h.run("rgov", ["show", n.notice_id])
        #expect(show.stdout.contains("the sender said: " + TerminalText.field(detail)), "\(show.stdout)")
    }

    // MARK: 4. senders stay contained

    /// A sender that starts a grandchild in a session of its own (out of reach of its process
    /// group), holding the sender's pipes or not: nothing of it outlives the run.
    @Test(arguments: ["", " > /dev/null 2>&1 < /dev/null"])
    func aGrandchildInItsOwnSessionDoesNotOutliveItsSender(redirect: String) throws {
        let h = try Harness()
        try SenderTests.oneNotice(h)
        let (marker, env) = Harness.marked()
        let profile = try Self.commandProfile(h, "setsid sh -c 'sleep 300'\(redirect) & echo '{\"ok\":true}'; exit 0")
        _ = try tick(h, profile, env: env)
        #expect(try notice(h).state_reason == "sent_unconfirmed")
        #expect(Harness.noneLeft(carrying: marker), "left running: \(Harness.processes(carrying: marker))")
    }

    /// A sender starts with only 0, 1 and 2 open, even when rgov itself was started with a stray
    /// descriptor (fd 7, not close-on-exec, as a careless cron wrapper leaves it).
    @Test func aSenderSeesOnlyItsStandardDescriptors() throws {
        let h = try Harness()
        try SenderTests.oneNotice(h)
        let profile = try Self.commandProfile(
            h, "ls /proc/self/fd > \"$RGOV_CAPTURE/fds\"; echo '{\"ok\":true}'")
        let wrapper = try h.script("stray-fd.sh", "exec 7< /dev/null; exec \"$@\"")
        let run = try h.runProgram(
            wrapper, [Harness.bin + "/rgov", "tick", "--state", h.state, "--profile", profile, "--now", Harness.now],
            env: ["RGOV_CAPTURE": h.dir])
        #expect(run.status == 0, "\(run.stderr)")
        let fds = String(decoding: try Sys.readFile(h.dir + "/fds"), as: UTF8.self).split(separator: "\n")
        // `ls` itself holds one more: the folder it lists.
        #expect(fds.sorted() == ["0", "1", "2", "3"], "\(fds)")
    }
}

extension Harness {
    /// Runs the program at `path` (a wrapper around an rgov executable) with the environment
    /// `run` gives rgov's executables.
    func runProgram(_ path: String, _ arguments: [String], env: [String: String] = [:]) throws -> Run {
        var environment = ProcessInfo.processInfo.environment
        for name in ["RGOV_STATE_DIR", "RGOV_PROFILE", "RGOV_FAULT", "RGOV_SENDER_BIN"] { environment[name] = nil }
        for (k, v) in env { environment[k] = v }
        let result = try ChildProcess.run(
            ChildSpec(executable: path, arguments: arguments, environment: environment, deadline: 180))
        return Run(status: result.status, stdout: result.stdoutText, stderr: result.stderrText)
    }
}
