import Foundation

/// The sender binding in force: the profile's mode and binding, after the local layer.
///
/// Bindings declare what they can prove (acks) and promise (idempotency keys); the bridge never
/// assumes more than they declare.
public struct SenderBinding: Sendable {
    /// Binding keys whose values are secrets: never written to an artifact, a log or `--explain`.
    public static func isSecret(_ key: String) -> Bool {
        let k = key.lowercased()
        // A webhook URL is a credential too (Slack-style URLs carry their token in the path).
        return ["token", "secret", "password", "api_key", "authorization", "url"].contains(k) || k.hasSuffix("_token")
            || k.hasSuffix("_secret") || k.hasSuffix("_key") || k.hasSuffix("_password") || k.hasPrefix("headers.")
    }

    public let mode: SenderMode
    public let values: [String: BindingValue]

    public init(mode: SenderMode, values: [String: BindingValue]) {
        self.mode = mode
        self.values = values
    }

    func text(_ key: String) -> String? { values[key]?.text }
    func flag(_ key: String) -> Bool { ["true", "yes", "1"].contains(text(key)?.lowercased() ?? "") }

    /// An explicit ok with a message id from this binding may count as delivery proof.
    public var declaresAck: Bool {
        switch mode {
        case .shim: return true
        case .command: return flag("declares_ack")
        case .openclawCLI: return text("ack_policy") == "sender_ok"
        case .dryRun, .webhook: return false
        }
    }

    /// Resending with the same idempotency key cannot deliver twice.
    public var supportsIdempotency: Bool {
        switch mode {
        case .dryRun, .shim: return true
        case .command, .webhook: return flag("supports_idempotency")
        case .openclawCLI: return false
        }
    }

    /// Secret values to redact wherever something is written: secret keys and header values.
    public var secretValues: [String] {
        var out: [String] = []
        for (key, value) in values {
            switch value {
            case .text(let v) where Self.isSecret(key): out.append(v)
            case .map(let m):
                out += m.values.map { $0.hasPrefix("env:") ? (Sys.environment(String($0.dropFirst(4))) ?? "") : $0 }
            default: break
            }
        }
        return out.filter { $0.count >= 4 }
    }

    /// Refuses a binding that cannot work before any stage acts.
    public func validate(requiresAck: Bool, profile: String) throws {
        switch mode {
        case .command:
            guard case .list(let argv)? = values["command"], let first = argv.first, !first.isEmpty else {
                throw ConfigurationError(
                    "\(profile): sender mode command needs spec.adapters.sender.binding.command (an argv list)")
            }
        case .webhook:
            guard let url = text("url"), let parsed = URL(string: url), ["http", "https"].contains(parsed.scheme ?? "")
            else {
                throw ConfigurationError("\(profile): sender mode webhook needs binding.url (http or https)")
            }
        case .openclawCLI, .dryRun, .shim: break
        }
        if requiresAck && !declaresAck && mode != .dryRun {
            throw ConfigurationError(
                "\(profile) requires ack_receipts, but its \(mode.rawValue) binding cannot give an ack "
                    + "(declare it with \(mode == .openclawCLI ? "ack_policy: sender_ok" : "declares_ack: true") only if the channel really confirms delivery)"
            )
        }
    }
}

/// How the bridge runs one send for a mode, and how it reads what came back.
///
/// dry-run, shim and webhook run `rgov-sender`; `command` and `openclaw-cli` run the binding's
/// program directly, with an argv (never a shell string), the message as JSON on stdin and the
/// notice's fields in the environment.
public enum SendPlan {
    public static func spec(
        for handoff: SpoolHandoff, binding: SenderBinding, layout: StateLayout, senderExecutable: String,
        environment: [String: String], deadline: Double
    ) throws -> ChildSpec {
        var env = environment
        let fields = [
            "RGOV_NOTICE_ID": handoff.notice_id, "RGOV_MISSION_ID": handoff.mission_id, "RGOV_RULE_ID": handoff.rule_id,
            "RGOV_SEVERITY": handoff.severity.rawValue, "RGOV_TARGET": binding.text("target") ?? handoff.target,
            "RGOV_IDEMPOTENCY_KEY": handoff.idempotency_key,
        ]
        for (k, v) in fields { env[k] = v }
        let input = Array(CanonicalJSON.line(handoff).utf8) + [0x0a]
        switch binding.mode {
        case .dryRun, .shim, .webhook:
            if binding.mode == .webhook {
                env["RGOV_WEBHOOK_URL"] = binding.text("url")
                if case .map(let headers)? = binding.values["headers"] {
                    env["RGOV_WEBHOOK_HEADERS"] = CanonicalJSON.line(headers)
                }
                env["RGOV_WEBHOOK_TIMEOUT_MS"] = String(Int64(max(0.1, deadline - 0.5) * 1000))
            }
            return ChildSpec(
                executable: senderExecutable, arguments: ["--mode", binding.mode.rawValue, "--state", layout.root],
                environment: env,
                standardInput: input, deadline: deadline)
        case .command:
            guard case .list(let template)? = binding.values["command"] else {
                throw ConfigurationError("command binding has no argv")
            }
            let argv = template.map { substitute($0, fields: fields, handoff: handoff) }
            return ChildSpec(
                executable: try resolve(argv[0], environment: env), arguments: Array(argv.dropFirst()),
                environment: env,
                standardInput: input, deadline: deadline)
        case .openclawCLI:
            var args = ["message", "send"]
            if let channel = binding.text("channel") { args += ["--channel", channel] }
            args += [
                "--target", binding.text("target") ?? handoff.target, "--message",
                handoff.message.title + "\n" + handoff.message.text, "--json",
            ]
            return ChildSpec(
                executable: try resolve(binding.text("binary") ?? "openclaw", environment: env), arguments: args,
                environment: env,
                standardInput: [], deadline: deadline)
        }
    }

    /// Placeholders are replaced inside one argument, which stays one argument: no shell ever sees it.
    static func substitute(_ argument: String, fields: [String: String], handoff: SpoolHandoff) -> String {
        var out = argument
        let values = [
            "{notice_id}": handoff.notice_id, "{target}": fields["RGOV_TARGET"] ?? handoff.target,
            "{idempotency_key}": handoff.idempotency_key,
            "{mission_id}": handoff.mission_id, "{rule_id}": handoff.rule_id, "{severity}": handoff.severity.rawValue,
            "{title}": handoff.message.title, "{text}": handoff.message.text,
        ]
        for (placeholder, value) in values where out.contains(placeholder) {
            out = out.replacingOccurrences(of: placeholder, with: value)
        }
        return out
    }

    /// A program name resolved on PATH, or the path as given.
    static func resolve(_ program: String, environment: [String: String]) throws -> String {
        if program.contains("/") { return program }
        for dir in (environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":") {
            let candidate = dir + "/" + program
            if Sys.kind(candidate) == .regular { return candidate }
        }
        throw ConfigurationError("sender program \(Identifier.quoted(program)) not found on PATH")
    }

    /// What the child said about `noticeID`, in the sender-result vocabulary; nil when unreadable.
    public static func interpret(_ child: ChildResult, mode: SenderMode, noticeID: String) -> SenderResult? {
        let text = child.stdoutText
        switch mode {
        case .dryRun, .shim, .webhook:
            for line in text.split(separator: "\n") {
                if let r = try? CanonicalJSON.decode(SenderResult.self, from: Data(line.utf8)), r.notice_id == noticeID
                {
                    return r
                }
            }
            return nil
        case .command:
            let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
            guard case .object(let o)? = try? CanonicalJSON.decode(JSONValue.self, from: Data(trimmed.utf8)) else {
                // Exit 0 without an envelope: sent, nothing proven.
                return SenderResult(
                    notice_id: noticeID, mode: mode.rawValue, ok: true, sent: true, acked: false, reason: "sent")
            }
            if case .string("unknown")? = o["outcome"] {
                return SenderResult(
                    notice_id: noticeID, mode: mode.rawValue, ok: false, sent: false, acked: false,
                    reason: "outcome_unknown", outcome_unknown: true)
            }
            let ok = o["ok"].flatMap { if case .bool(let b) = $0 { return b } else { return nil } } ?? true
            let acked = o["acked"].flatMap { if case .bool(let b) = $0 { return b } else { return nil } } ?? false
            let retryable =
                o["retryable"].flatMap { if case .bool(let b) = $0 { return b } else { return nil } } ?? false
            let id = o["message_id"].flatMap { if case .string(let s) = $0 { return s } else { return nil } }
            let reason = o["reason"].flatMap { if case .string(let s) = $0 { return s } else { return nil } }
            return ok
                ? SenderResult(
                    notice_id: noticeID, mode: mode.rawValue, ok: true, sent: true, acked: acked, message_id: id,
                    reason: "sent")
                : SenderResult(
                    notice_id: noticeID, mode: mode.rawValue, ok: false, sent: false, acked: false,
                    reason: reason ?? "sender_refused", retryable: retryable)
        case .openclawCLI:
            return OpenClawEnvelope.interpret(text, noticeID: noticeID)
        }
    }
}

/// `openclaw message send --json`: `ok` / `messageId`, and a `deliveryStatus` whose `status` is
/// `sent`, `suppressed`, `partial_failed` or `failed`, with `sentBeforeError` on partial sends
/// (possibly nested under `result`).
enum OpenClawEnvelope {
    /// Reasons that will not change on a retry.
    static let permanent: Set<String> = [
        "invalid_delivery_target", "unknown_channel", "no_delivery_target", "channel_resolved_to_internal",
    ]

    static func interpret(_ text: String, noticeID: String) -> SenderResult? {
        guard
            case .object(var o)? = try? CanonicalJSON.decode(
                JSONValue.self, from: Data(text.trimmingCharacters(in: .whitespacesAndNewlines).utf8))
        else { return nil }
        if case .object(let inner)? = o["result"] { o.merge(inner) { outer, _ in outer } }
        var status: String? = nil
        var sentBefore = false
        var reason: String? = nil
        if case .object(let d)? = o["deliveryStatus"] {
            if case .string(let s)? = d["status"] { status = s }
            if case .bool(true)? = d["sentBeforeError"] { sentBefore = true }
            if case .string(let r)? = d["reason"] { reason = r }
        }
        if case .bool(true)? = o["sentBeforeError"] { sentBefore = true }
        if case .string(let r)? = o["reason"] { reason = reason ?? r }
        let okFlag: Bool? = { if case .bool(let b)? = o["ok"] { return b } else { return nil } }()
        let messageID: String? = { if case .string(let s)? = o["messageId"] { return s } else { return nil } }()
        let mode = SenderMode.openclawCLI.rawValue
        if status == "suppressed" {
            return SenderResult(
                notice_id: noticeID, mode: mode, ok: false, sent: false, acked: false,
                reason: "suppressed" + (reason.map { ":" + $0 } ?? ""))
        }
        if sentBefore || status == "partial_failed" {
            return SenderResult(
                notice_id: noticeID, mode: mode, ok: true, sent: true, acked: false, message_id: messageID,
                reason: "partial_send")
        }
        if okFlag == false || status == "failed" {
            let r = reason ?? "send_failed"
            return SenderResult(
                notice_id: noticeID, mode: mode, ok: false, sent: false, acked: false, reason: r,
                retryable: !permanent.contains(r))
        }
        guard okFlag == true || status == "sent" else { return nil }
        return SenderResult(
            notice_id: noticeID, mode: mode, ok: true, sent: true, acked: messageID != nil, message_id: messageID,
            reason: "sent")
    }
}
