import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The `webhook` binding: a POST of the message as JSON, with an `Idempotency-Key` header.
///
/// Only 2xx counts as sent; 408, 429 and 5xx are temporary (honouring `Retry-After`); other 4xx
/// are permanent; a timeout or a connection lost after the request went out is outcome unknown;
/// a connection that could not be made is temporary (nothing was sent).
public struct Webhook: Sendable {
    public var url: URL
    /// Header values; `env:NAME` takes the value from the environment (secrets stay out of files).
    public var headers: [String: String]
    public var timeoutSeconds: Double
    /// One session for every send of this sender process, so a batch reuses its connection.
    private let session: URLSession

    public init(url: URL, headers: [String: String], timeoutSeconds: Double) {
        self.url = url
        self.headers = headers
        self.timeoutSeconds = timeoutSeconds
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeoutSeconds
        configuration.timeoutIntervalForResource = timeoutSeconds
        session = URLSession(configuration: configuration)
    }

    /// The bridge hands the binding to `rgov-sender` in the environment, never in argv.
    public static func fromEnvironment(_ env: [String: String]) throws -> Webhook {
        guard let text = env["RGOV_WEBHOOK_URL"], let url = URL(string: text) else {
            throw ConfigurationError("webhook mode needs RGOV_WEBHOOK_URL (set by rgov-bridge from the binding)")
        }
        let headers =
            try env["RGOV_WEBHOOK_HEADERS"].map { try CanonicalJSON.decode([String: String].self, from: Data($0.utf8)) }
            ?? [:]
        let timeout = Double(env["RGOV_WEBHOOK_TIMEOUT_MS"] ?? "") ?? 10_000
        return Webhook(url: url, headers: headers, timeoutSeconds: max(0.1, timeout / 1000))
    }

    private final class Box: @unchecked Sendable {
        var data: Data?
        var response: HTTPURLResponse?
        var error: URLError?
    }

    public func send(_ handoff: SpoolHandoff, environment: [String: String]) -> SenderResult {
        struct Body: Encodable {
            var notice_id: String
            var mission_id: String
            var rule_id: String
            var severity: String
            var target: String
            var title: String
            var text: String
            var idempotency_key: String
        }
        var request = URLRequest(url: url, timeoutInterval: timeoutSeconds)
        request.httpMethod = "POST"
        request.httpBody = try? CanonicalJSON.encode(
            Body(
                notice_id: handoff.notice_id, mission_id: handoff.mission_id, rule_id: handoff.rule_id,
                severity: handoff.severity.rawValue, target: handoff.target, title: handoff.message.title,
                text: handoff.message.text,
                idempotency_key: handoff.idempotency_key))
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.setValue(handoff.idempotency_key, forHTTPHeaderField: "Idempotency-Key")
        for (name, value) in headers {
            request.setValue(
                value.hasPrefix("env:") ? (environment[String(value.dropFirst(4))] ?? "") : value,
                forHTTPHeaderField: name)
        }
        let box = Box()
        let done = DispatchSemaphore(value: 0)
        session.dataTask(with: request) { data, response, error in
            box.data = data
            box.response = response as? HTTPURLResponse
            box.error = error as? URLError
            done.signal()
        }.resume()
        done.wait()
        let mode = SenderMode.webhook.rawValue
        let id = handoff.notice_id
        if let error = box.error {
            switch error.code {
            case .cannotConnectToHost, .cannotFindHost, .dnsLookupFailed:
                return SenderResult(
                    notice_id: id, mode: mode, ok: false, sent: false, acked: false, reason: "connection_failed",
                    retryable: true, detail: "\(error.code.rawValue)")
            default:
                return SenderResult(
                    notice_id: id, mode: mode, ok: false, sent: false, acked: false, reason: "outcome_unknown",
                    detail: "URLError \(error.code.rawValue) after the request may have been written",
                    outcome_unknown: true)
            }
        }
        guard let response = box.response else {
            return SenderResult(
                notice_id: id, mode: mode, ok: false, sent: false, acked: false, reason: "outcome_unknown",
                outcome_unknown: true)
        }
        let code = response.statusCode
        if (200..<300).contains(code) {
            return SenderResult(
                notice_id: id, mode: mode, ok: true, sent: true, acked: false,
                message_id: response.value(forHTTPHeaderField: "X-Message-Id"), reason: "sent", detail: "HTTP \(code)")
        }
        if code == 408 || code == 429 || code >= 500 {
            let retryAfter = response.value(forHTTPHeaderField: "Retry-After").flatMap {
                Int64($0.trimmingCharacters(in: .whitespaces))
            }.map { $0 * 1000 }
            return SenderResult(
                notice_id: id, mode: mode, ok: false, sent: false, acked: false, reason: "http_\(code)",
                retryable: true,
                detail: "HTTP \(code)", retry_after_ms: retryAfter)
        }
        return SenderResult(
            notice_id: id, mode: mode, ok: false, sent: false, acked: false, reason: "http_\(code)",
            detail: "HTTP \(code)")
    }
}
