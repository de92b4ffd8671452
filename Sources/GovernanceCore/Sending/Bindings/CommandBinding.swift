import Foundation

/// `command`: the binding's own program per notice.
///
/// Its argv comes from a template (never a shell string), the message as JSON on stdin and the
/// notice's fields in the environment. It may answer with an envelope (`ok`, `acked`,
/// `message_id`, `retryable`, `outcome: unknown`).
struct CommandBinding: BindingKind {
    var perNotice: Bool { true }
    func declaresAck(_ binding: SenderBinding) -> Bool { binding.flag("declares_ack") }
    func supportsIdempotency(_ binding: SenderBinding) -> Bool { binding.flag("supports_idempotency") }

    func program(_ binding: SenderBinding, senderExecutable: String) -> String? {
        guard case .list(let argv)? = binding.values["command"], let first = argv.first, !first.isEmpty else {
            return nil
        }
        return first
    }

    func validate(_ binding: SenderBinding, profile: String) throws {
        guard case .list(let argv)? = binding.values["command"], let first = argv.first, !first.isEmpty else {
            throw ConfigurationError(
                "\(profile): sender mode command needs spec.adapters.sender.binding.command (an argv list)")
        }
    }

    func plan(
        _ handoff: SpoolHandoff, binding: SenderBinding, layout: StateLayout, senderExecutable: String,
        environment: [String: String], limits: SendLimits
    ) throws -> ChildSpec {
        guard case .list(let template)? = binding.values["command"] else {
            throw ConfigurationError("command binding has no argv")
        }
        let argv = template.map { Self.substitute($0, environment: environment, handoff: handoff) }
        return ChildSpec(
            executable: try ChildProcess.resolve(argv[0], environment: environment), arguments: Array(argv.dropFirst()),
            environment: environment, standardInput: Array(CanonicalJSON.line(handoff).utf8) + [0x0a],
            deadline: limits.timeout)
    }

    func interpret(_ child: ChildResult, noticeID: String) -> SenderResult? {
        let mode = SenderMode.command
        let text = child.stdoutText
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
    }

    /// Placeholders are replaced inside one argument, which stays one argument: no shell ever sees it.
    static func substitute(_ argument: String, environment: [String: String], handoff: SpoolHandoff) -> String {
        var out = argument
        let values = [
            "{notice_id}": handoff.notice_id, "{target}": environment["RGOV_TARGET"] ?? handoff.target,
            "{idempotency_key}": handoff.key,
            "{mission_id}": handoff.mission_id, "{rule_id}": handoff.rule_id, "{severity}": handoff.severity.rawValue,
            "{title}": handoff.message.title, "{text}": handoff.message.text,
        ]
        for (placeholder, value) in values where out.contains(placeholder) {
            out = out.replacingOccurrences(of: placeholder, with: value)
        }
        return out
    }
}
