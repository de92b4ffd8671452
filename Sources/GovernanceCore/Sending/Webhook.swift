import Foundation

/// What one HTTP POST came to, as the webhook binding reads it.
public enum HTTPOutcome: Sendable, Equatable {
    /// The server answered; header names are lowercased. A redirect (3xx) is an answer too: it is
    /// never followed. `bodyCut`: the reply body went past `replyBodyLimit`, and the rest of it was
    /// not read (the connection was closed).
    case response(status: Int, headers: [String: String], bodyCut: Bool = false)
    /// No connection was made: nothing was sent.
    case notConnected(detail: String)
    /// The request may have been written before the exchange failed (a timeout, a connection lost).
    case unknown(detail: String)

    /// Bytes of a reply body read at most; the body itself is never kept.
    public static let replyBodyLimit = 64 << 10
}

/// Posts one request: the one place HTTP happens.
///
/// GovernanceCore holds no network code, so the stages do not load libcurl and its libraries at
/// start; `rgov-sender` injects the `URLSession` transport from the `SenderNetworking` module.
public protocol HTTPTransport: Sendable {
    func post(url: URL, headers: [String: String], body: Data, timeoutSeconds: Double) -> HTTPOutcome
}

/// The `webhook` binding: a POST of the message as JSON, with an `Idempotency-Key` header.
///
/// Only 2xx counts as sent; 408, 429 and 5xx are temporary (honouring `Retry-After`); other 4xx
/// are permanent; a timeout or a connection lost after the request went out is outcome unknown;
/// a connection that could not be made is temporary (nothing was sent).
///
/// A redirect is not followed (the message and its credential headers go to the configured URL
/// only) and is not a send: 302, 303 and 307 say "elsewhere, for now" and are temporary; 301, 308
/// and any other 3xx say the URL moved and are permanent (blocked until the binding is fixed).
/// The receipt keeps the status and the `Location`.
public struct Webhook: Sendable {
    public var url: URL
    /// Header values; `env:NAME` takes the value from the environment (secrets stay out of files).
    public var headers: [String: String]
    public var timeoutSeconds: Double
    /// Requests under way at once (the profile's `max_concurrent_sends`).
    public var concurrency: Int = 1
    /// One transport for every send of this sender process, so a batch reuses its connection.
    let transport: any HTTPTransport

    /// The bridge hands the binding to `rgov-sender` in the environment, never in argv.
    public static func fromEnvironment(_ env: [String: String], transport: any HTTPTransport) throws -> Webhook {
        guard let text = env["RGOV_WEBHOOK_URL"], let url = URL(string: text) else {
            throw ConfigurationError("webhook mode needs RGOV_WEBHOOK_URL (set by rgov-bridge from the binding)")
        }
        let headers =
            try env["RGOV_WEBHOOK_HEADERS"].map { try CanonicalJSON.decode([String: String].self, from: Data($0.utf8)) }
            ?? [:]
        let timeout = Double(env["RGOV_WEBHOOK_TIMEOUT_MS"] ?? "") ?? 10_000
        return Webhook(
            url: url, headers: headers, timeoutSeconds: max(0.1, timeout / 1000),
            concurrency: min(64, max(1, Int(env["RGOV_WEBHOOK_CONCURRENCY"] ?? "") ?? 1)), transport: transport)
    }

    /// Posts each handoff, up to `concurrency` at once; `each` hears every result as it comes,
    /// one at a time.
    ///
    /// Asked to stop (`Shutdown`), it begins no other request and at once answers each handoff it
    /// never posted as not sent, to be retried, while the requests under way finish: the bridge never
    /// takes a send that did not happen for one whose outcome is unknown, even if it must kill the
    /// sender before a slow request ends.
    public func send(
        _ handoffs: [SpoolHandoff], environment: [String: String], each: @escaping @Sendable (SenderResult) -> Void
    ) {
        let lock = NSLock()
        let neverPosted = { (rest: Range<Int>) in
            lock.withLock {
                for handoff in handoffs[rest] {
                    each(
                        .notSent(
                            handoff.notice_id, .webhook, .stopped_before_send, retryable: true,
                            detail: "rgov-sender was asked to stop before this request began; nothing was sent"))
                }
            }
        }
        Workers.forEach(handoffs.count, width: concurrency, notRun: neverPosted) { i in
            let result = send(handoffs[i], environment: environment)
            lock.withLock { each(result) }
        }
    }

    public func send(_ handoff: SpoolHandoff, environment: [String: String]) -> SenderResult {
        let body =
            (try? CanonicalJSON.encode([
                "notice_id": handoff.notice_id, "mission_id": handoff.mission_id, "rule_id": handoff.rule_id,
                "severity": handoff.severity.rawValue, "target": handoff.target, "title": handoff.message.title,
                "text": handoff.message.text, "idempotency_key": handoff.key,
            ])) ?? Data()
        var fields = ["Content-Type": "application/json", "Idempotency-Key": handoff.key]
        for (name, value) in headers {
            fields[name] = value.hasPrefix("env:") ? (environment[String(value.dropFirst(4))] ?? "") : value
        }
        let outcome = transport.post(url: url, headers: fields, body: body, timeoutSeconds: timeoutSeconds)
        let id = handoff.notice_id
        let code: Int
        let answer: [String: String]
        let cut: String
        switch outcome {
        case .notConnected(let detail):
            return .notSent(id, .webhook, .connection_failed, retryable: true, detail: detail)
        case .unknown(let detail):
            return .notSent(id, .webhook, .outcome_unknown, detail: detail, outcomeUnknown: true)
        case .response(let status, let headers, let bodyCut):
            code = status
            answer = headers
            cut = bodyCut ? "; reply body cut at \(HTTPOutcome.replyBodyLimit) bytes" : ""
        }
        if (200..<300).contains(code) {
            return .sent(id, .webhook, messageID: answer["x-message-id"], detail: "HTTP \(code)" + cut)
        }
        let http = DeliveryReason(rawValue: "http_\(code)")
        if (300..<400).contains(code) {
            // Temporary: "elsewhere, for now"; any other 3xx says the URL itself moved.
            let temporary = [302, 303, 307].contains(code)
            let location = answer["location"].map { "to " + Identifier.quoted($0, limit: 200) } ?? "without a Location"
            return .notSent(
                id, .webhook, http, retryable: temporary,
                detail: "HTTP \(code) redirect \(location), not followed (rgov posts only to the configured url)"
                    + (temporary ? "; temporary" : "; permanent: fix the binding's url") + cut)
        }
        if code == 408 || code == 429 || code >= 500 {
            let retryAfter = answer["retry-after"].flatMap {
                Int64($0.trimmingCharacters(in: .whitespaces))
            }.map { $0 * 1000 }
            return .notSent(id, .webhook, http, retryable: true, detail: "HTTP \(code)" + cut, retryAfterMs: retryAfter)
        }
        return .notSent(id, .webhook, http, detail: "HTTP \(code)" + cut)
    }
}
