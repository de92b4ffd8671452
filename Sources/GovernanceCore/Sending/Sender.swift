import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// `rgov-sender`: sends spool items through one binding and prints one result line per item.
///
/// Reads spool handoffs as JSON lines on stdin (one or a batch). Never decides delivery state.
public struct Sender {
    public let mode: SenderMode
    public let layout: StateLayout

    public init(mode: SenderMode, layout: StateLayout) {
        self.mode = mode
        self.layout = layout
    }

    /// Sends each spool handoff (one JSON line each) and hands each result to `each` at once,
    /// so the bridge can record it before the next item is sent.
    public func send(_ input: Data, each: (SenderResult) -> Void) throws {
        for (index, line) in input.split(separator: 0x0a).enumerated()
        where !line.allSatisfy({ $0 == 0x20 || $0 == 0x0d }) {
            let handoff: SpoolHandoff
            do {
                handoff = try CanonicalJSON.decode(SpoolHandoff.self, from: Data(line))
            } catch {
                throw RgovError.data("stdin line \(index + 1): not a spool handoff: \(error)")
            }
            each(try send(handoff))
        }
    }

    func send(_ handoff: SpoolHandoff) throws -> SenderResult {
        switch mode {
        case .dryRun:
            return SenderResult(
                notice_id: handoff.notice_id, mode: mode.rawValue, ok: true, sent: false, acked: false,
                reason: "dry_run",
                detail: "dry run: nothing was sent")
        case .shim:
            return try shim(handoff)
        case .webhook:
            let environment = ProcessInfo.processInfo.environment
            return try Webhook.fromEnvironment(environment).send(handoff, environment: environment)
        case .openclawCLI, .command:
            throw ConfigurationError(
                "sender mode \(mode.rawValue) runs its own program; rgov-bridge starts it directly")
        }
    }

    /// Appends the message to `outbox/shim-outbox.jsonl` (durably) and acks it with a synthetic id.
    ///
    /// Idempotent in O(1): a key already sent has its marker in `outbox/shim-keys/`, written once
    /// the line is durable (a power cut between the two can repeat a trial message, never lose one).
    private func shim(_ handoff: SpoolHandoff) throws -> SenderResult {
        guard Identifier.isValid(handoff.idempotency_key) else {
            throw RgovError.data("idempotency key \(Identifier.quoted(handoff.idempotency_key)) is not an identifier")
        }
        try Sys.makeDirectory(layout.shimKeys)
        let path = layout.shimOutbox
        let marker = layout.shimKey(handoff.idempotency_key)
        let messageID = "shim-" + String(SHA256.hex(of: handoff.idempotency_key).prefix(16))
        if Sys.kind(marker) == .regular {
            return SenderResult(
                notice_id: handoff.notice_id, mode: mode.rawValue, ok: true, sent: true, acked: true,
                message_id: messageID,
                reason: "sent", detail: "already in \(path) (same idempotency key)")
        }
        struct Line: Encodable {
            var message_id: String
            var notice_id: String
            var idempotency_key: String
            var target: String
            var title: String
            var text: String
        }
        let entry =
            CanonicalJSON.line(
                Line(
                    message_id: messageID, notice_id: handoff.notice_id, idempotency_key: handoff.idempotency_key,
                    target: handoff.target, title: handoff.message.title, text: handoff.message.text)) + "\n"
        let fd = try Sys.open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW, mode: 0o600)
        defer { Sys.close(fd) }
        try Array(entry.utf8).withUnsafeBytes { try Sys.writeAll(fd, $0, path: path) }
        try Sys.fsync(fd, path: path)
        Sys.close(try Sys.open(marker, O_WRONLY | O_CREAT | O_NOFOLLOW, mode: 0o600))
        return SenderResult(
            notice_id: handoff.notice_id, mode: mode.rawValue, ok: true, sent: true, acked: true, message_id: messageID,
            reason: "sent", detail: "appended to \(path)")
    }
}
