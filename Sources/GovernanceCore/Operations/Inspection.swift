import Foundation

/// `rgov ls` and `rgov show`: read-only views of the queue, as postqueue -p and postcat give.
public struct Inspection: Sendable {
    public let layout: StateLayout
    public let now: Date

    public struct Line: Codable, Sendable {
        public var notice_id: String
        public var state: DeliveryState
        public var reason: String
        public var age_ms: Int64
        public var mission_id: String
        /// The mission's tenant, as the notice carries it.
        public var tenant_id: String?
        public var rule_id: String
        public var severity: Severity
        public var kind: NoticeKind
        public var attempts: Int
        public var held: Bool
        public var next_attempt_at: Date?
        /// For an acked notice, its evidence kind (`synthetic` for the trial shim).
        public var ack_kind: String?
    }

    /// The notices that match, oldest first; `rule` is a rule id or a pack's (every rule of it).
    public func list(state: DeliveryState?, mission: String?, rule: String?, since: Date?, tenant: String? = nil)
        throws -> [Line]
    {
        try NoticeStore(layout: layout).all().map(\.notice).filter { n in
            (state == nil || n.state == state) && (mission == nil || n.mission_id == mission)
                && (rule.map { Self.rule(n.rule_id, isIn: $0) } ?? true) && (tenant == nil || n.tenant_id == tenant)
                && (since.map { n.created_at >= $0 } ?? true)
        }.sorted { ($0.created_at, $0.notice_id) < ($1.created_at, $1.notice_id) }.map {
            Line(
                notice_id: $0.notice_id, state: $0.state, reason: $0.state_reason,
                age_ms: now.milliseconds(since: $0.created_at),
                mission_id: $0.mission_id, tenant_id: $0.tenant_id, rule_id: $0.rule_id, severity: $0.severity,
                kind: $0.notice_kind,
                attempts: $0.attempts, held: $0.hold != nil, next_attempt_at: $0.next_attempt_at,
                ack_kind: $0.ack_evidence?.kind.rawValue)
        }
    }

    /// Whether `ruleID` is `selector` or one of its pack's rules (`budget` selects `budget/...`).
    public static func rule(_ ruleID: String, isIn selector: String) -> Bool {
        ruleID == selector || ruleID.hasPrefix(selector + "/")
    }

    /// Whether `selector` names a rule or a pack rgov knows, or one a listed notice carries.
    public static func knows(rule selector: String, besides carried: [String]) -> Bool {
        (RuleBook.byID.keys.map { $0 } + carried).contains { rule($0, isIn: selector) }
    }

    /// The columns of `rgov ls`, under a header, aligned.
    public static func table(_ lines: [Line]) -> [String] {
        let header = ["NOTICE", "STATE", "KIND", "SEVERITY", "AGE", "MISSION", "RULE", "REASON"]
        let rows = lines.map { line in
            [
                line.notice_id,
                line.state.rawValue + (line.ack_kind == AckEvidence.Kind.synthetic.rawValue ? "(synthetic)" : "")
                    + (line.held ? "!" : ""),
                line.kind == .delivery_unknown ? "alert" : line.kind.rawValue, line.severity.rawValue,
                DurationText.describe(ms: line.age_ms), f(line.mission_id), f(line.rule_id), f(line.reason),
            ]
        }
        let widths = header.indices.map { column in
            ([header] + rows).map { $0[column].count }.max() ?? 0
        }
        return ([header] + rows).map { row in
            row.indices.map { column in
                column == row.count - 1
                    ? row[column] : row[column].padding(toLength: widths[column], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }
    }

    /// An untrusted value, made safe for one line of a terminal (`TerminalText`).
    static func f(_ text: String) -> String { TerminalText.field(text) }

    /// Every artifact of one notice's chain, in order, with its path and hash.
    public struct Chain: Codable, Sendable {
        public var notice: Notice
        public var mission: MissionSnapshot?
        public var event: CanonicalEvent?
        public var decision: DecisionRecord?
        public var spool: SpoolHandoff?
        public var attempts: [SenderAttempt]
        public var receipts: [Receipt]
        public var files: [String: String]
    }

    public func chain(of notice: Notice, at path: String) throws -> Chain {
        var files: [String: String] = ["notice": path]
        /// `path` decoded as `type`; with `key`, the chain lists the file under it.
        func read<T: Decodable>(_ type: T.Type, _ path: String?, key: String? = nil, limit: Int = 8 << 20) -> T? {
            guard let path, let data = try? Sys.readFile(path, limit: limit),
                let value = try? CanonicalJSON.decode(type, from: data)
            else { return nil }
            if let key { files[key] = path }
            return value
        }
        let mission = read(
            MissionSnapshot.self, layout.mission(notice.mission_id), key: "mission", limit: MissionStore.sizeLimit)
        let spoolPath = layout.locate(notice.notice_id, in: layout.spool) ?? layout.spoolHandoff(notice.notice_id)
        var spool = read(SpoolHandoff.self, spoolPath, key: "spool")
        // The idempotency key is what only the message's receiver knows (a late ack presents it):
        // never shown; an older rgov's handoff that still holds it is shown by its hash alone.
        if let key = spool?.idempotency_key {
            spool?.idempotency_key = nil
            spool?.idempotency_key_sha256 = SHA256.hex(of: key)
        }
        let attempts = try Sys.unlessRefused { try layout.attemptFiles(of: notice.notice_id, inflight: true) } ?? []
        let receipts = try Sys.unlessRefused { try layout.receiptFiles(of: notice.notice_id) } ?? []
        return Chain(
            notice: notice, mission: mission,
            event: read(CanonicalEvent.self, layout.locate(notice.event_id, in: layout.events), key: "event"),
            decision: read(
                DecisionRecord.self, layout.locate(notice.decision_id, in: layout.decisions), key: "decision"),
            spool: spool,
            attempts: attempts.compactMap { read(SenderAttempt.self, $0) }.sorted {
                $0.attempt_number < $1.attempt_number
            },
            receipts: receipts.compactMap { read(Receipt.self, $0) }.sorted { $0.recorded_at < $1.recorded_at },
            files: files)
    }

    public static func describe(_ c: Chain) -> String {
        let n = c.notice
        var lines = [
            "notice \(n.notice_id)  \(n.state.rawValue) (\(f(n.state_reason)))\(n.hold.map { "  HELD by \(f($0.by))" } ?? "")",
            "  \(f(n.message.title))",
            "  to \(f(n.target)); kind \(n.notice_kind.rawValue); attempts \(n.attempts); profile \(n.profile)",
        ]
        if let m = c.mission {
            lines.append(
                "mission \(m.mission_id) (\(f(m.mission_type))): \(m.status.rawValue), stage \(f(m.stage ?? "-")), "
                    + "last checkpoint \(m.last_checkpoint_at.map(Timestamp.format) ?? "none")")
        }
        if let e = c.event {
            lines.append(
                "event \(e.event_id) [\(e.severity.rawValue)] \(f(e.rule_id)) at \(Timestamp.format(e.occurred_at)): \(f(e.summary))"
            )
        }
        if let d = c.decision { lines.append("decision \(d.decision_id): \(d.outcome.rawValue) by \(f(d.decided_by))") }
        lines.append("transitions:")
        lines += n.transitions.map { t in
            "  \(Timestamp.format(t.at))  \(t.from?.rawValue ?? "(new)") -> \(t.to.rawValue)  by \(f(t.by)): \(f(t.reason))  "
                + "prev \(t.prev_sha256.prefix(12))"
        }
        if let s = c.spool {
            lines.append(
                "spool \(s.spool_id): \(s.sender_mode) to \(f(s.target)), key sha256:\(s.keySHA256.prefix(12))")
        }
        lines += c.attempts.map { a in
            "attempt \(a.attempt_id) at \(Timestamp.format(a.started_at)) (\(a.sender_mode), deadline \(a.deadline_ms) ms)"
        }
        for r in c.receipts {
            lines.append(
                "receipt \(r.receipt_id): \(r.delivery_state.rawValue) (\(f(r.reason.rawValue)))"
                    + (r.ack_evidence.map {
                        " evidence \($0.kind.rawValue)\($0.message_id.map { " " + f($0) } ?? "")\($0.by.map { " by " + f($0) } ?? "")"
                    } ?? "")
                    + "  output sha256 \(r.sha256.prefix(12))  prev \(r.prev_sha256.prefix(12))")
            if let said = r.sender_detail { lines.append("  the sender said: \(f(said))") }
            if let binding = r.binding { lines.append("  binding: \(binding.rawValue) (\(r.sender_mode))") }
        }
        if let kind = n.ack_evidence?.kind, kind == .synthetic {
            lines.append("  (acked by a trial sender's synthetic evidence: not proof that a person saw it)")
        }
        lines.append("chain head \(n.chain_head_sha256.prefix(12))")
        return lines.joined(separator: "\n")
    }
}
