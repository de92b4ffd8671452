import Foundation

/// `webhook`: a POST per notice from `rgov-sender`, up to `max_concurrent_sends` at once.
///
/// The URL and headers reach it through the environment, never argv. A 2xx is sent, never acked.
struct WebhookBinding: SenderProcessBinding {
    func declaresAck(_ binding: SenderBinding) -> Bool { false }
    func supportsIdempotency(_ binding: SenderBinding) -> Bool { binding.flag("supports_idempotency") }

    func validate(_ binding: SenderBinding, profile: String) throws {
        guard let url = binding.text("url"), let parsed = URL(string: url),
            ["http", "https"].contains(parsed.scheme ?? "")
        else {
            throw ConfigurationError("\(profile): sender mode webhook needs binding.url (http or https)")
        }
    }

    func plan(
        _ handoff: SpoolHandoff, binding: SenderBinding, layout: StateLayout, senderExecutable: String,
        environment: [String: String], limits: SendLimits
    ) throws -> ChildSpec {
        var env = environment
        env["RGOV_WEBHOOK_URL"] = binding.text("url")
        if case .map(let headers)? = binding.values["headers"] {
            env["RGOV_WEBHOOK_HEADERS"] = CanonicalJSON.line(headers)
        }
        // Each request's own timeout, within the send's; a batch posts up to `concurrency` at once.
        env["RGOV_WEBHOOK_TIMEOUT_MS"] = String(Int64(max(0.1, limits.timeout - 0.5) * 1000))
        env["RGOV_WEBHOOK_CONCURRENCY"] = String(limits.concurrency)
        return ChildSpec(
            executable: senderExecutable, arguments: ["--mode", binding.mode.rawValue, "--state", layout.root],
            environment: env, standardInput: Array(CanonicalJSON.line(handoff).utf8) + [0x0a], deadline: limits.timeout)
    }
}
