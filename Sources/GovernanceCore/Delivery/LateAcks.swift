import Foundation

/// Late ack evidence, as an upper runtime or relay drops it in `operator-notify-bridge-acks/`:
/// one JSON file with `notice_id`, `idempotency_key`, `message_id`, `acked_at` and `by`.
struct LateAck: Codable {
    var notice_id: String
    var idempotency_key: String
    var message_id: String
    var acked_at: Date
    var by: String
}

extension Receipt {
    /// Whether this receipt records a send that reached, or may have reached, a channel.
    ///
    /// An attempt of a sender other than dry-run that ended sent (unconfirmed) or with its outcome
    /// unknown: only such a message can have a receiver whose ack is proof.
    public var recordsASend: Bool {
        attempt_id != nil && sender_mode != ReceiptMode(.dryRun)
            && [.sent_unconfirmed, .outcome_unknown].contains(reason)
    }
}

extension NoticeLedger {
    /// Promotes each waiting notice to `acked` on late evidence that matches it (its idempotency
    /// key, a message id, who), receipt first, and archives the evidence by day.
    ///
    /// Evidence that does not match is quarantined with the reason, never applied; evidence about
    /// a notice being sent waits for the next run. Returns the notices acked with their receipts,
    /// and the names of the files refused.
    public func acceptLateAcks(stage: String, by actor: String, now: Date) throws -> (
        accepted: [(notice: Notice, receipt: String)], refused: [String]
    ) {
        var accepted: [(notice: Notice, receipt: String)] = []
        var refused: [String] = []
        for path in try layout.files(in: layout.bridgeAcks) {
            let name = (path as NSString).lastPathComponent
            do {
                accepted.append(try acceptLateAck(at: path, by: actor, now: now))
                let archive = layout.lateAckArchive(day: Timestamp.day(now))
                try Sys.makeDirectory(archive)
                try writes.move(path, to: layout.file(name, in: archive))
            } catch let changed as NoticeChanged {
                Log.info(actor, "late ack \(name) waits for the next run: \(changed.reason)")
            } catch {
                try quarantine.isolate(
                    path, reason: "late ack evidence refused: \(error)", stage: stage, at: now)
                refused.append(name)
            }
        }
        return (accepted, refused)
    }

    private func acceptLateAck(at path: String, by actor: String, now: Date) throws -> (Notice, String) {
        let data = try Sys.readFile(path, limit: 1 << 20)
        if let duplicate = DuplicateKeys.first(in: data) {
            throw RgovError.data("key \(Identifier.quoted(duplicate.key)) appears twice")
        }
        let ack = try CanonicalJSON.decode(LateAck.self, from: data)
        guard let noticePath = store.locate(ack.notice_id) else {
            throw RgovError.data("no notice \(Identifier.quoted(ack.notice_id))")
        }
        let notice = try store.read(noticePath)
        guard notice.state == .pending_external_send || notice.state == .dispatched else {
            throw RgovError.data("notice \(notice.notice_id) is \(notice.state.rawValue), not waiting for an ack")
        }
        if notice.hold != nil {
            // Held by an operator: the evidence waits until the notice is released.
            throw NoticeChanged(noticeID: notice.notice_id, reason: "it is held")
        }
        let receipts = try layout.receiptFiles(of: notice.notice_id).map {
            try CanonicalJSON.decode(Receipt.self, from: try Sys.readFile($0, limit: 8 << 20))
        }
        guard receipts.contains(where: \.recordsASend) else {
            throw RgovError.data(
                "notice \(notice.notice_id) was never sent by a sender (\(notice.state.rawValue), \(notice.state_reason)): "
                    + "a late ack proves only a message a sender sent")
        }
        guard let handoff = handoff(of: notice) else {
            throw RgovError.data("notice \(notice.notice_id) has no spool handoff to match")
        }
        guard SHA256.hex(of: ack.idempotency_key) == handoff.keySHA256 else {
            throw RgovError.data("idempotency_key does not match notice \(notice.notice_id)'s")
        }
        guard !ack.message_id.isEmpty, !ack.by.isEmpty else { throw RgovError.data("message_id and by are required") }
        guard ack.acked_at >= notice.created_at, ack.acked_at <= now.adding(ms: 300_000) else {
            throw RgovError.data("acked_at \(Timestamp.format(ack.acked_at)) is before the notice or in the future")
        }
        return try acknowledge(
            notice, at: noticePath,
            evidence: AckEvidence(
                kind: .external_ack, at: ack.acked_at, message_id: ack.message_id, sender_mode: .external, by: ack.by),
            receiptID: StateLayout.receiptID(notice.notice_id + ".ext" + String(notice.transitions.count)),
            mode: .external, reason: .external_ack, sha256: SHA256.hex(of: [UInt8](data)),
            moveReason: "external_ack from \(ack.by)", by: actor, recordedBy: actor, now: now)
    }
}

/// A handoff's idempotency key: what only the message's receiver (and the state) can know.
///
/// It is made from the state's own secret (`idempotency.secret`, 384 random bits made once, 0600,
/// never exported) and the notice id, so it cannot be computed from anything a record, a log or a
/// bundle holds (they carry its SHA-256), yet a rerun after a crash makes the same key again.
public enum IdempotencyKey {
    /// `idem-` and 24 hex digits (96 bits) of SHA-256 over the secret and the notice id.
    public static func of(_ noticeID: String, secret: String) -> String {
        "idem-" + String(SHA256.hex(of: secret + "\u{1f}" + noticeID).prefix(24))
    }

    /// The state's secret; made, durably, on first use.
    ///
    /// Made durably on its own (never staged): a secret staged with the first handoffs could be
    /// lost with them by a power cut, and the keys of the handoffs that survived with it. Called
    /// before a stage's transaction begins.
    public static func secret(_ layout: StateLayout) throws -> String {
        let path = layout.idempotencySecret
        if let existing = existingSecret(layout) { return existing }
        _ = try DurableFile.create(Data((0..<4).map { _ in Identifier.random("s") }.joined().utf8), at: path)
        return String(decoding: try Sys.readFile(path, limit: 4096), as: UTF8.self)
    }

    /// The state's secret if it has one (readers never make it).
    public static func existingSecret(_ layout: StateLayout) -> String? {
        (try? Sys.readFile(layout.idempotencySecret, limit: 4096)).map { String(decoding: $0, as: UTF8.self) }
    }
}
