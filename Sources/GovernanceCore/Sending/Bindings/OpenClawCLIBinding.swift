import Foundation

/// `openclaw-cli`: `openclaw message send --json` per notice.
///
/// Its envelope says sent, suppressed, partially sent or failed. Never idempotent; acks only
/// with `ack_policy: sender_ok`.
struct OpenClawCLIBinding: BindingKind {
    var perNotice: Bool { true }
    func declaresAck(_ binding: SenderBinding) -> Bool { binding.text("ack_policy") == "sender_ok" }
    func supportsIdempotency(_ binding: SenderBinding) -> Bool { false }
    func validate(_ binding: SenderBinding, profile: String) throws {}

    func program(_ binding: SenderBinding, senderExecutable: String) -> String? {
        binding.text("binary") ?? "openclaw"
    }

    func plan(
        _ handoff: SpoolHandoff, binding: SenderBinding, layout: StateLayout, senderExecutable: String,
        environment: [String: String], limits: SendLimits
    ) throws -> ChildSpec {
        var args = ["message", "send"]
        if let channel = binding.text("channel") { args += ["--channel", channel] }
        args += [
            "--target", binding.text("target") ?? handoff.target, "--message",
            handoff.message.title + "\n" + handoff.message.text, "--json",
        ]
        return ChildSpec(
            executable: try ChildProcess.resolve(binding.text("binary") ?? "openclaw", environment: environment),
            arguments: args, environment: environment, standardInput: [], deadline: limits.timeout)
    }

    func interpret(_ child: ChildResult, noticeID: String) -> SenderResult? {
        OpenClawEnvelope.interpret(child.stdoutText, noticeID: noticeID)
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
        var delivery: [String: JSONValue] = [:]
        if case .object(let d)? = o["deliveryStatus"] { delivery = d }
        let status = delivery["status"]?.stringValue
        let sentBefore = delivery["sentBeforeError"]?.boolValue == true || o["sentBeforeError"]?.boolValue == true
        let reason = delivery["reason"]?.stringValue ?? o["reason"]?.stringValue
        let okFlag = o["ok"]?.boolValue
        let messageID = o["messageId"]?.stringValue
        let mode = SenderMode.openclawCLI
        if status == "suppressed" {
            return .notSent(noticeID, mode, DeliveryReason(rawValue: "suppressed" + (reason.map { ":" + $0 } ?? "")))
        }
        if sentBefore || status == "partial_failed" {
            return .sent(noticeID, mode, messageID: messageID, reason: .partial_send)
        }
        if okFlag == false || status == "failed" {
            let r = reason.map(DeliveryReason.init) ?? .send_failed
            return .notSent(noticeID, mode, r, retryable: !permanent.contains(r.rawValue))
        }
        guard okFlag == true || status == "sent" else { return nil }
        return .sent(noticeID, mode, acked: messageID != nil, messageID: messageID)
    }
}
