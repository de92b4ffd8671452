import Foundation

/// The operator verbs of `rgov` (Postfix's postqueue/postsuper/postcat and amtool are the model).
extension RgovCommand {
    public static let operatorHelp = """
        operator verbs (each with --json; who may act is spec.audit.operators, refusals exit 77):
          ls [--state-filter S] [--mission M] [--rule R] [--since T]   one line per notice
          show ID                     the whole chain of a notice, or every notice of a mission
          ack ID --by NAME [--note T] operator attestation: the only non-sender path to acked
          hold ID|ALL --by NAME       queued -> prepared; dispatched / pending carry a hold
          release ID|ALL --by NAME    undo a hold
          requeue ID|ALL --by NAME    a blocked notice gets a new, linked notice
          mission fail|replay ID --by NAME --reason TEXT
          approve|reject WRITEBACK --by NAME --reason TEXT [--mission M]
          approvals                   the writeback approval backlog, oldest first
          quarantine ls | show ID | restore ID --by NAME
          export --task ID | --since T [--until T] [--out DIR]   an audit bundle (folder + .tar)
          verify BUNDLE               hashes, chains and delivery truth of a bundle (exit 65 if broken)
          prune --by NAME [--dry-run] remove finished notice chains older than spec.audit.retention_days,
                                      only once exported (unless export_required is false)
        """

    static let operatorVerbs: Set<String> = [
        "ls", "show", "ack", "hold", "release", "requeue", "mission", "approve", "reject", "approvals", "quarantine",
        "export",
        "verify", "prune",
    ]

    static func operatorVerb(_ verb: String, _ rest: [String]) throws -> Int32 {
        let options = try Options(
            rest, valued: ["by", "note", "reason", "mission", "rule", "since", "until", "state-filter", "task", "out"],
            flags: ["dry-run"])
        if helpRequested(options, help + "\n" + operatorHelp) { return 0 }
        func emit<T: Encodable>(_ value: T, _ text: String) {
            Sys.writeStandardOutput((options.json ? CanonicalJSON.line(value) : text) + "\n")
        }
        func time(_ name: String) throws -> Date? {
            guard let text = options.value(name) else { return nil }
            guard let date = Timestamp.parse(text) else {
                throw RgovError.usage("--\(name) \(Identifier.quoted(text)) is not an RFC 3339 time")
            }
            return date
        }
        func one() throws -> String {
            guard options.positionals.count == 1 else {
                throw RgovError.usage("rgov \(verb) takes one ID (see rgov --help)")
            }
            return options.positionals[0]
        }
        if verb == "verify" {
            return verdict(
                try AuditVerify.verify(try one()), ok: "bundle verified: every hash, chain and transition holds",
                prefix: "FAIL",
                json: options.json)
        }
        let layout = StateLayout(root: options.stateDirectory)
        guard Sys.isDirectory(layout.root) else { throw RgovError(.noInput, "no state directory at \(layout.root)") }
        let clock = try options.clock()
        switch verb {
        case "ls":
            var state: DeliveryState? = nil
            if let s = options.value("state-filter") {
                guard let parsed = DeliveryState(rawValue: s) else {
                    throw RgovError.usage("unknown state \(Identifier.quoted(s))")
                }
                state = parsed
            }
            let lines = try Inspection(layout: layout, now: clock.now()).list(
                state: state, mission: options.value("mission"), rule: options.value("rule"), since: try time("since"))
            if options.json {
                Sys.writeStandardOutput(lines.map { CanonicalJSON.line($0) + "\n" }.joined())
            } else {
                Sys.writeStandardOutput(
                    (lines.map(Inspection.describe) + ["-- \(lines.count) notice\(lines.count == 1 ? "" : "s")"])
                        .joined(separator: "\n") + "\n")
            }
            return 0
        case "show":
            let id = try one()
            let store = NoticeStore(layout: layout)
            let inspection = Inspection(layout: layout, now: clock.now())
            if let path = store.locate(id) {
                let chain = try inspection.chain(of: try store.read(path), at: path)
                emit(chain, Inspection.describe(chain))
                return 0
            }
            let notices = try store.all().filter { $0.notice.mission_id == id }
            guard !notices.isEmpty || Sys.exists(layout.missions + "/" + id + ".json") else {
                throw RgovError(.noInput, "no notice or mission \(Identifier.quoted(id)) in \(layout.root)")
            }
            let chains = try notices.map { try inspection.chain(of: $0.notice, at: $0.path) }
            emit(
                chains,
                chains.isEmpty ? "mission \(id): no notices" : chains.map(Inspection.describe).joined(separator: "\n\n")
            )
            return 0
        case "approvals":
            let desk = OperatorDesk(
                deployment: try Deployment.load(options),
                identity: OperatorIdentity(by: "-", osUser: Sys.userName(), osGroups: []))
            let backlog = try desk.approvalBacklog()
            emit(
                backlog,
                (backlog.map {
                    "\($0.mission_id)/\($0.writeback_id)  \($0.target ?? "-")  waiting \(DurationText.describe(ms: $0.waiting_ms))"
                }
                    + ["-- \(backlog.count) writeback\(backlog.count == 1 ? "" : "s") awaiting approval"]).joined(
                        separator: "\n"))
            return 0
        case "quarantine":
            guard let sub = options.positionals.first else {
                throw RgovError.usage("usage: rgov quarantine ls | show ID | restore ID --by NAME")
            }
            let records = try Sys.listDirectory(layout.quarantine).sorted().compactMap {
                try? CanonicalJSON.decode(
                    QuarantineRecord.self, from: try Sys.readFile(layout.quarantine + "/" + $0 + "/reason.json"))
            }
            switch sub {
            case "ls":
                emit(
                    records,
                    (records.map { "\($0.quarantine_id)  \($0.original_path)  \($0.reason)" } + [
                        "-- \(records.count) quarantined"
                    ]).joined(separator: "\n"))
                return 0
            case "show":
                guard options.positionals.count == 2,
                    let r = records.first(where: { $0.quarantine_id == options.positionals[1] })
                else {
                    throw RgovError(.noInput, "no quarantine entry \(options.positionals.dropFirst().first ?? "")")
                }
                let file =
                    layout.quarantine + "/" + r.quarantine_id + "/"
                    + (r.file_name.hasPrefix(".") ? "_" + r.file_name : r.file_name)
                let head =
                    (try? Sys.readFile(file, limit: 256 << 20)).map { String(decoding: $0.prefix(2000), as: UTF8.self) }
                    ?? "(unreadable)"
                emit(
                    r,
                    "\(r.quarantine_id)\n  from \(r.original_path) by \(r.stage) at \(Timestamp.format(r.quarantined_at))\n  reason: \(r.reason)\n  sha256 \(r.sha256 ?? "-"), \(r.size_bytes ?? 0) bytes\n\(head)"
                )
                return 0
            case "restore":
                guard options.positionals.count == 2 else {
                    throw RgovError.usage("usage: rgov quarantine restore ID --by NAME")
                }
                let desk = OperatorDesk(
                    deployment: try Deployment.load(options),
                    identity: try OperatorIdentity.current(by: options.value("by")))
                let path = try desk.restore(options.positionals[1])
                emit(["restored": path], "restored \(options.positionals[1]) to \(path)")
                return 0
            default:
                throw RgovError.usage("usage: rgov quarantine ls | show ID | restore ID --by NAME")
            }
        case "export":
            let deployment = try Deployment.load(options)
            guard options.value("task") != nil || options.value("since") != nil else {
                throw RgovError.usage("rgov export needs --task ID or --since T [--until T]")
            }
            let result = try AuditExport(deployment: deployment).export(
                task: options.value("task"), since: try time("since"), until: try time("until"),
                to: options.value("out"))
            emit(
                result,
                "exported \(result.artifacts) artifacts (\(result.notices) notices) to \(result.bundle)\n  archive \(result.tar)"
            )
            return 0
        default:
            break
        }
        let deployment = try Deployment.load(options)
        let desk = OperatorDesk(deployment: deployment, identity: try OperatorIdentity.current(by: options.value("by")))
        switch verb {
        case "ack":
            let notice = try desk.ack(try one(), note: options.value("note"))
            emit(notice, "acked \(notice.notice_id) by \(desk.identity.by) (\(desk.identity.osUser))")
        case "hold", "release", "requeue":
            let target = try one()
            let result =
                verb == "hold"
                ? try desk.hold(target, reason: options.value("reason"))
                : verb == "release"
                    ? try desk.release(target, reason: options.value("reason"))
                    : try desk.requeue(target, reason: options.value("reason"))
            emit(
                result,
                "\(verb): \(result.changed.count) changed"
                    + result.unchanged.sorted(by: { $0.key < $1.key }).map { "\n  \($0.key): unchanged (\($0.value))" }
                    .joined())
        case "mission":
            guard options.positionals.count == 2 else {
                throw RgovError.usage("usage: rgov mission fail|replay ID --by NAME --reason TEXT")
            }
            let mission = try desk.mission(
                options.positionals[0], id: options.positionals[1], reason: options.value("reason") ?? "")
            emit(mission, "mission \(mission.mission_id): \(mission.status.rawValue)")
        case "prune":
            let result = try desk.prune(dryRun: options.has("dry-run"))
            emit(
                result,
                "\(result.dry_run ? "would prune" : "pruned") \(result.pruned.count) finished notices (\(result.files_removed) files) older than "
                    + "\(Timestamp.format(result.cutoff)); kept \(result.kept_not_exported.count) not yet exported"
                    + result.pruned.map { "\n  " + $0 }.joined())
        case "approve", "reject":
            let approval = try desk.decide(
                try one(), mission: options.value("mission"), approve: verb == "approve",
                reason: options.value("reason") ?? "")
            emit(
                approval,
                "\(approval.decision.rawValue) \(approval.mission_id)/\(approval.writeback_id) by \(approval.by) (decision \(approval.decision_id))"
            )
        default:
            throw RgovError.usage("unknown verb \(verb)")
        }
        return 0
    }
}
