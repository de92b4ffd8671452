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
    /// The webhook's HTTP; only `rgov-sender` has one.
    let transport: (any HTTPTransport)?

    /// Sends each spool handoff (one JSON line each) and hands each result to `each` at once.
    ///
    /// The bridge records each result before the next is read. The shim appends the whole batch
    /// and makes it durable with one fsync before it answers for any item.
    public func send(_ input: Data, each: @escaping @Sendable (SenderResult) -> Void) throws {
        var handoffs: [SpoolHandoff] = []
        for (index, line) in input.split(separator: 0x0a).enumerated()
        where !line.allSatisfy({ $0 == 0x20 || $0 == 0x0d }) {
            do {
                handoffs.append(try CanonicalJSON.decode(SpoolHandoff.self, from: Data(line)))
            } catch {
                throw RgovError.data("stdin line \(index + 1): not a spool handoff: \(error)")
            }
        }
        switch mode {
        case .dryRun:
            for handoff in handoffs {
                each(
                    SenderResult(
                        notice_id: handoff.notice_id, mode: mode, ok: true, sent: false, acked: false,
                        reason: .dry_run, detail: "dry run: nothing was sent"))
            }
        case .shim:
            for result in try shim(handoffs) { each(result) }
        case .webhook:
            guard let transport else {
                throw ConfigurationError("sender mode webhook runs in rgov-sender, which carries the HTTP transport")
            }
            let environment = ProcessInfo.processInfo.environment
            let hook = try Webhook.fromEnvironment(environment, transport: transport)
            hook.send(handoffs, environment: environment, each: each)
        case .openclawCLI, .command:
            throw ConfigurationError(
                "sender mode \(mode.rawValue) runs its own program; rgov-bridge starts it directly")
        }
    }

    /// Appends each message to `outbox/shim-outbox.jsonl`, makes them durable with one fsync,
    /// and acks each with a synthetic id.
    ///
    /// Idempotent in O(1): a key already sent has its marker in `outbox/shim-keys/`, written once
    /// its line is durable. `outbox/shim-pending.json` names the keys of the batch being appended
    /// and where the outbox ended before it, so a batch killed between its lines and its markers
    /// is finished by the next one, reading only what that batch appended.
    private func shim(_ handoffs: [SpoolHandoff]) throws -> [SenderResult] {
        try Sys.makeDirectory(layout.shimKeys)
        let path = layout.shimOutbox
        try finishInterruptedShimBatch()
        var results: [SenderResult] = []
        var appended: [String] = []
        let fd = try Sys.open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW, mode: 0o600)
        defer { Sys.close(fd) }
        let keys = handoffs.map(\.key).filter { Sys.kind(layout.shimKey($0)) != .regular }
        try DurableFile.write(
            try CanonicalJSON.encodeFile(ShimPending(offset: Int(lseek(fd, 0, SEEK_END)), keys: keys)),
            to: layout.shimPending)
        for handoff in handoffs {
            let key = handoff.key
            guard Identifier.isValid(key) else {
                throw RgovError.data("idempotency key \(Identifier.quoted(key)) is not an identifier")
            }
            let messageID = "shim-" + String(SHA256.hex(of: key).prefix(16))
            let already = Sys.kind(layout.shimKey(key)) == .regular || appended.contains(key)
            if !already {
                let entry =
                    CanonicalJSON.line([
                        "message_id": messageID, "notice_id": handoff.notice_id, "idempotency_key": key,
                        "target": handoff.target, "title": handoff.message.title, "text": handoff.message.text,
                    ]) + "\n"
                try Array(entry.utf8).withUnsafeBytes { try Sys.writeAll(fd, $0, path: path) }
                appended.append(key)
            }
            results.append(
                .sent(
                    handoff.notice_id, mode, acked: true, messageID: messageID,
                    detail: already ? "already in \(path) (same idempotency key)" : "appended to \(path)"))
        }
        if !appended.isEmpty { try Sys.fsync(fd, path: path) }
        FaultInjection.point("sender.after_shim_lines")
        for key in appended { Sys.close(try Sys.open(layout.shimKey(key), O_WRONLY | O_CREAT | O_NOFOLLOW)) }
        try Sys.unlink(layout.shimPending)
        return results
    }

    /// The keys of a shim batch being appended, and the outbox's size before it.
    struct ShimPending: Codable {
        var offset: Int
        var keys: [String]
    }

    /// Marks the keys a killed batch did append (their lines are in the outbox past its offset),
    /// so their resend is recognised; a key whose line never made it stays unmarked and is sent.
    private func finishInterruptedShimBatch() throws {
        guard Sys.kind(layout.shimPending) == .regular else { return }
        if let pending = try? CanonicalJSON.decode(ShimPending.self, from: try Sys.readFile(layout.shimPending)),
            let outbox = try? Sys.readFile(layout.shimOutbox, limit: 256 << 20)
        {
            let tail = String(decoding: outbox.dropFirst(min(pending.offset, outbox.count)), as: UTF8.self)
            for key in pending.keys where tail.contains("\"idempotency_key\":\"\(key)\"") {
                Sys.close(try Sys.open(layout.shimKey(key), O_WRONLY | O_CREAT | O_NOFOLLOW))
            }
        }
        try Sys.unlink(layout.shimPending)
    }
}
