import Foundation

/// The tick's heartbeat (`spec.notifications.heartbeat`): an outside service learns that rgov
/// still runs, Healthchecks.io's convention.
///
/// After every tick the URL is pinged (`URL` on success, `URL/fail` when the tick failed, the
/// tick's summary as the POST body, secrets redacted, at most `bodyLimit` bytes), and `URL/start`
/// before it when `start` is set. A URL goes through rgov's own HTTP client (`rgov-sender --mode webhook`, a child process with a deadline,
/// never a shell; the URL reaches it in its environment and the body on stdin, never on a command line); a command gets
/// `start`, `success` or `fail` as its last argument and the summary on stdin. A heartbeat that
/// fails never fails the tick: it is logged, and its outcome is kept in `STATE/metrics/heartbeat.json`
/// (this type is its one writer) for `rgov doctor`.
public struct Heartbeat: Sendable {
    public enum Kind: String, Codable, Sendable { case start, success, fail }

    /// The last heartbeat's outcome, as `STATE/metrics/heartbeat.json` holds it.
    public struct Record: Codable, Sendable, Equatable {
        public var schema = "rgov.heartbeat/v1"
        public var at: Date
        public var run_id: String
        public var kind: Kind
        /// The URL pinged, secrets redacted, or the command's program.
        public var target: String
        public var ok: Bool
        public var error: String?
    }

    /// Seconds a ping has before it is given up.
    public static let deadline = 10.0
    /// The most of the summary sent: Healthchecks.io keeps the first 100 kB of a body; a summary
    /// longer than this is cut at the end.
    public static let bodyLimit = 10_000

    public let deployment: Deployment

    public init(deployment: Deployment) { self.deployment = deployment }

    public var configured: Bool {
        deployment.profile.heartbeatURL != nil || !deployment.profile.heartbeatCommand.isEmpty
    }

    /// The URL in force: `env:NAME` read from the environment.
    func url() throws -> String? {
        guard let given = deployment.profile.heartbeatURL else { return nil }
        guard given.hasPrefix("env:") else { return given }
        let name = String(given.dropFirst(4))
        guard let value = Sys.environment(name), !value.isEmpty else {
            throw RgovError(.configuration, "notifications.heartbeat.url names \(name), which is not set")
        }
        return value
    }

    /// A URL with its path and query replaced by `[redacted]`: Healthchecks' ping URLs carry
    /// their key in the path.
    public static func redacted(_ url: String) -> String {
        guard let parsed = URLComponents(string: url), let scheme = parsed.scheme, let host = parsed.host else {
            return "[redacted]"
        }
        let port = parsed.port.map { ":\($0)" } ?? ""
        return "\(scheme)://\(host)\(port)/[redacted]"
    }

    /// Pings once, records the outcome, logs a failure; never throws.
    @discardableResult
    public func ping(_ kind: Kind, runID: String, summary: String) -> Record? {
        guard configured else { return nil }
        let secret = (try? url()).map { [$0] } ?? []
        let redactor = Redactor(
            environment: ProcessInfo.processInfo.environment, extra: deployment.binding.secretValues + secret)
        var body = redactor.redact(summary)
        if body.utf8.count > Self.bodyLimit {
            body = String(decoding: Array(body.utf8.prefix(Self.bodyLimit)), as: UTF8.self)
        }
        var target = deployment.profile.heartbeatCommand.first ?? "(heartbeat)"
        var failure: String? = nil
        do {
            let spec: ChildSpec
            if let url = try url() {
                target = Self.redacted(url)
                let full = kind == .success ? url : url.trimmingSuffix("/") + "/" + kind.rawValue
                // Through rgov's own HTTP client (rgov-sender's webhook mode): no outside tool.
                spec = ChildSpec(
                    executable: Sys.environment("RGOV_SENDER_BIN") ?? PackageLayout.executable("rgov-sender"),
                    arguments: ["--mode", "webhook", "--state", deployment.layout.root],
                    environment: ProcessInfo.processInfo.environment.merging([
                        "RGOV_WEBHOOK_URL": full, "RGOV_WEBHOOK_TIMEOUT_MS": String(Int(Self.deadline * 1000)),
                        "RGOV_WEBHOOK_CONCURRENCY": "1",
                    ]) { $1 },
                    standardInput: Array(
                        (CanonicalJSON.line(try Self.handoff(kind, runID: runID, body: body)) + "\n").utf8),
                    deadline: Self.deadline + 1)
            } else {
                let argv = deployment.profile.heartbeatCommand
                spec = ChildSpec(
                    executable: try ChildProcess.resolve(argv[0], environment: ProcessInfo.processInfo.environment),
                    arguments: Array(argv.dropFirst()) + [kind.rawValue], standardInput: Array(body.utf8),
                    deadline: Self.deadline)
            }
            let result = try ChildProcess.run(spec)
            let said =
                try url() == nil
                ? nil
                : result.stdoutText.split(separator: "\n").last.flatMap {
                    try? CanonicalJSON.decode(SenderResult.self, from: Data($0.utf8))
                }
            if let said, !said.sent {
                failure = said.reason.rawValue + (said.detail.map { ": " + redactor.redact($0) } ?? "")
            } else if try url() != nil, said == nil, !result.timedOut, result.status == 0 {
                failure = "the sender said nothing"
            } else if result.timedOut {
                failure = "no answer within \(Int(Self.deadline)) s"
            } else if result.status != 0 {
                let detail = redactor.redact(result.stderrText).trimmingCharacters(in: .whitespacesAndNewlines)
                failure =
                    "exited \(result.status)" + (detail.isEmpty ? "" : ": " + TerminalText.field(detail, limit: 300))
            }
        } catch {
            failure = redactor.redact("\(error)")
        }
        let record = Record(
            at: deployment.clock.now(), run_id: runID, kind: kind, target: target, ok: failure == nil, error: failure)
        if let failure {
            Log.error(
                "rgov", "heartbeat \(kind.rawValue) to \(target) failed: \(failure); the tick's outcome is unchanged",
                ["event": .string("heartbeat_failed")])
        }
        try? Sys.makeDirectory(deployment.layout.metrics)
        try? DurableFile.write(CanonicalJSON.encodeFile(record), to: Self.recordPath(deployment.layout))
        return record
    }

    public static func recordPath(_ layout: StateLayout) -> String { layout.metrics + "/heartbeat.json" }

    /// The last heartbeat's outcome, or nil when none was recorded (or it cannot be read).
    public static func last(_ layout: StateLayout) -> Record? {
        (try? Sys.readFile(recordPath(layout))).flatMap { try? CanonicalJSON.decode(Record.self, from: $0) }
    }

    /// The ping as one spool handoff for the webhook sender: POSTed as its JSON message.
    static func handoff(_ kind: Kind, runID: String, body: String) throws -> SpoolHandoff {
        let id = Identifier.derived("hb", runID, kind.rawValue)
        return SpoolHandoff(
            spool_id: id, notice_id: id, mission_id: "rgov-heartbeat", task_id: runID, correlation_id: runID,
            rule_id: "rgov/heartbeat", severity: kind == .fail ? .critical : .info, target: "heartbeat",
            idempotency_key: id, idempotency_key_sha256: SHA256.hex(of: id),
            message: NoticeMessage(title: "rgov heartbeat: \(kind.rawValue)", text: body), sender_mode: .webhook,
            dispatched_at: Date(timeIntervalSince1970: 0), dispatched_by: "rgov", profile: "heartbeat",
            capability_descriptor: "heartbeat")
    }
}

extension String {
    fileprivate func trimmingSuffix(_ suffix: String) -> String {
        var s = self
        while s.hasSuffix(suffix) { s.removeLast(suffix.count) }
        return s
    }
}
