import Foundation
import GovernanceCore

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The webhook binding's HTTP, through `URLSession`: the only code that links libcurl.
///
/// Only `rgov-sender` links this module, so the other executables start without loading
/// FoundationNetworking and the libraries behind it.
///
/// A redirect is never followed: the 3xx itself is the answer (`Webhook` judges it), so neither
/// the message nor a credential header reaches another origin. A reply body is read up to
/// `HTTPOutcome.replyBodyLimit` bytes; past that the request is cancelled (the connection
/// closed) and the status kept, so a huge or endless body costs no memory.
public final class URLSessionTransport: HTTPTransport, @unchecked Sendable {
    /// One session per timeout, so a batch reuses its connections.
    private var sessions: [Double: URLSession] = [:]
    private let lock = NSLock()
    private let exchanges = Exchanges()

    public init() {}

    /// The session's own timeouts are only a backstop: swift-corelibs-foundation counts them in
    /// whole seconds, cut down (under one second, a request not answered at once times out), so
    /// `post` keeps the exact deadline itself.
    private func session(timeoutSeconds: Double) -> URLSession {
        lock.lock()
        defer { lock.unlock() }
        if let session = sessions[timeoutSeconds] { return session }
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeoutSeconds.rounded(.up) + 1
        configuration.timeoutIntervalForResource = timeoutSeconds.rounded(.up) + 1
        let session = URLSession(configuration: configuration, delegate: exchanges, delegateQueue: nil)
        sessions[timeoutSeconds] = session
        return session
    }

    /// What one request has come to so far, written by the session's delegate.
    final class Exchange: @unchecked Sendable {
        var response: HTTPURLResponse?
        var error: URLError?
        var bodyBytes = 0
        /// The body went past the limit and the request was cancelled for it.
        var cut = false
        let done = DispatchSemaphore(value: 0)
    }

    /// The delegate of every session: it refuses redirects, counts and drops the reply body, and
    /// cancels a request whose body goes past the limit.
    final class Exchanges: NSObject, URLSessionDataDelegate, @unchecked Sendable {
        private let lock = NSLock()
        private var byTask: [ObjectIdentifier: Exchange] = [:]

        func begin(_ task: URLSessionTask) -> Exchange {
            let exchange = Exchange()
            lock.withLock { byTask[ObjectIdentifier(task)] = exchange }
            return exchange
        }

        private func exchange(_ task: URLSessionTask) -> Exchange? { lock.withLock { byTask[ObjectIdentifier(task)] } }

        func urlSession(
            _ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
            newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void
        ) {
            // The 3xx is the answer; nothing goes to the Location.
            lock.withLock { if let e = byTask[ObjectIdentifier(task)], e.response == nil { e.response = response } }
            completionHandler(nil)
        }

        func urlSession(
            _ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
            completionHandler: @escaping (URLSession.ResponseDisposition) -> Void
        ) {
            lock.withLock { byTask[ObjectIdentifier(dataTask)]?.response = response as? HTTPURLResponse }
            completionHandler(.allow)
        }

        func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
            guard let exchange = exchange(dataTask) else { return }
            let over = lock.withLock { () -> Bool in
                exchange.bodyBytes += data.count
                guard exchange.bodyBytes > HTTPOutcome.replyBodyLimit, !exchange.cut else { return false }
                exchange.cut = true
                return true
            }
            // Not here: `cancel` waits for the session's work queue, which libcurl may keep busy
            // reading for a while, and this queue must go on dropping what it delivers meanwhile
            // (blocked, it would hold every chunk read until the cancel lands).
            if over { DispatchQueue.global().async { dataTask.cancel() } }
        }

        func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
            guard let exchange = lock.withLock({ byTask.removeValue(forKey: ObjectIdentifier(task)) }) else { return }
            lock.withLock {
                if exchange.response == nil { exchange.response = task.response as? HTTPURLResponse }
                exchange.error = error as? URLError
            }
            exchange.done.signal()
        }
    }

    public func post(url: URL, headers: [String: String], body: Data, timeoutSeconds: Double) -> HTTPOutcome {
        var request = URLRequest(url: url, timeoutInterval: timeoutSeconds.rounded(.up) + 1)
        request.httpMethod = "POST"
        request.httpBody = body
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let task = session(timeoutSeconds: timeoutSeconds).dataTask(with: request)
        let exchange = exchanges.begin(task)
        task.resume()
        if exchange.done.wait(timeout: .now() + timeoutSeconds) == .timedOut {
            task.cancel()
            exchange.done.wait()
            if exchange.response == nil {
                return .unknown(
                    detail:
                        "no answer within \(Int((timeoutSeconds * 1000).rounded())) ms; the request may have been written"
                )
            }
        }
        // A status that arrived is the server's answer, though the body was then cut, ran out of
        // time or lost its connection.
        guard let response = exchange.response else {
            switch exchange.error?.code {
            case .cannotConnectToHost?, .cannotFindHost?, .dnsLookupFailed?:
                return .notConnected(detail: "\(exchange.error?.code.rawValue ?? 0)")
            case let code?:
                return .unknown(detail: "URLError \(code.rawValue) after the request may have been written")
            case nil:
                return .unknown(detail: "no response and no error")
            }
        }
        var fields: [String: String] = [:]
        for (name, value) in response.allHeaderFields {
            if let name = name as? String, let value = value as? String { fields[name.lowercased()] = value }
        }
        return .response(status: response.statusCode, headers: fields, bodyCut: exchange.cut)
    }
}
