import Foundation
import GovernanceCore

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The webhook binding's HTTP, through `URLSession`: the only code that links libcurl.
///
/// Only `rgov-sender` links this module, so the other executables start without loading
/// FoundationNetworking and the libraries behind it.
public final class URLSessionTransport: HTTPTransport, @unchecked Sendable {
    /// One session per timeout, so a batch reuses its connections.
    private var sessions: [Double: URLSession] = [:]
    private let lock = NSLock()

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
        let session = URLSession(configuration: configuration)
        sessions[timeoutSeconds] = session
        return session
    }

    private final class Box: @unchecked Sendable {
        var response: HTTPURLResponse?
        var error: URLError?
    }

    public func post(url: URL, headers: [String: String], body: Data, timeoutSeconds: Double) -> HTTPOutcome {
        var request = URLRequest(url: url, timeoutInterval: timeoutSeconds.rounded(.up) + 1)
        request.httpMethod = "POST"
        request.httpBody = body
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let box = Box()
        let done = DispatchSemaphore(value: 0)
        let task = session(timeoutSeconds: timeoutSeconds).dataTask(with: request) { _, response, error in
            box.response = response as? HTTPURLResponse
            box.error = error as? URLError
            done.signal()
        }
        task.resume()
        if done.wait(timeout: .now() + timeoutSeconds) == .timedOut {
            task.cancel()
            done.wait()
            if box.response == nil {
                return .unknown(
                    detail:
                        "no answer within \(Int((timeoutSeconds * 1000).rounded())) ms; the request may have been written"
                )
            }
        }
        if let error = box.error {
            switch error.code {
            case .cannotConnectToHost, .cannotFindHost, .dnsLookupFailed:
                return .notConnected(detail: "\(error.code.rawValue)")
            default:
                return .unknown(detail: "URLError \(error.code.rawValue) after the request may have been written")
            }
        }
        guard let response = box.response else { return .unknown(detail: "no response and no error") }
        var fields: [String: String] = [:]
        for (name, value) in response.allHeaderFields {
            if let name = name as? String, let value = value as? String { fields[name.lowercased()] = value }
        }
        return .response(status: response.statusCode, headers: fields)
    }
}
