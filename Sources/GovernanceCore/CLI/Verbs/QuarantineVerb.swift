import Foundation

extension Verb {
    /// `rgov quarantine ls | show ID | restore ID`: files moved aside, never deleted.
    static let quarantine = Verb(
        CommandSpec(
            "rgov quarantine",
            summary: "list, show or restore files moved aside because they could not be read or validated",
            discussion:
                "ls lists them; show ID prints one with its reason and first bytes; restore ID puts it back once it validates.",
            arguments: [
                ArgumentSpec("ls|show|restore", "what to do"),
                ArgumentSpec("ID", "the entry (show, restore)", optional: true),
            ],
            options: [.by("who restores (restore); required there")],
            shared: SharedOption.authority,
            exits: [
                (.dataError, "the file still does not validate"), (.noInput, "no such entry"),
                (.noPermission, "not an operator"),
            ],
            example: "rgov quarantine show q-20261120T120000000Z-0001")
    ) { options in
        let layout = try options.existingLayout()
        let action = options.positionals[0]
        let records = try Sys.listDirectory(layout.quarantine).sorted().compactMap {
            try? CanonicalJSON.decode(QuarantineRecord.self, from: try Sys.readFile(layout.quarantineReason($0)))
        }
        switch action {
        case "ls":
            guard options.positionals.count == 1 else { throw UsageError("rgov quarantine ls takes no ID") }
            let lines = records.map {
                "\($0.quarantine_id)  \(TerminalText.field($0.original_path))  \(TerminalText.field($0.reason))"
            }
            options.emit(records, (lines + ["-- \(records.count) quarantined"]).joined(separator: "\n"))
        case "show":
            guard options.positionals.count == 2,
                let r = records.first(where: { $0.quarantine_id == options.positionals[1] })
            else { throw RgovError(.noInput, "no quarantine entry \(options.positionals.dropFirst().first ?? "")") }
            let file = layout.quarantinedFile(r.quarantine_id, fileName: r.file_name)
            let head =
                (try? Sys.readFile(file, limit: 256 << 20)).map { String(decoding: $0.prefix(2000), as: UTF8.self) }
                ?? "(unreadable)"
            options.emit(
                r,
                "\(r.quarantine_id)\n  from \(TerminalText.field(r.original_path)) by \(r.stage) at "
                    + "\(Timestamp.format(r.quarantined_at))\n  reason: \(TerminalText.field(r.reason))\n  sha256 "
                    + "\(r.sha256 ?? "-"), \(r.size_bytes ?? 0) bytes\n"
                    + head.split(separator: "\n", omittingEmptySubsequences: false).map {
                        "  | " + TerminalText.field(String($0), limit: 200)
                    }.joined(separator: "\n")
            )
        case "restore":
            guard options.positionals.count == 2 else {
                throw UsageError("usage: rgov quarantine restore ID --by NAME")
            }
            let path = try OperatorDesk.forVerb(options).restore(options.positionals[1])
            options.emit(["restored": path], "restored \(options.positionals[1]) to \(path)")
        default:
            throw UsageError("usage: rgov quarantine ls | show ID | restore ID --by NAME")
        }
        return 0
    }
}
