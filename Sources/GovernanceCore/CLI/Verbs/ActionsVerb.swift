import Foundation

extension Verb {
    /// `rgov actions`: the operator actions, allowed and refused, oldest first.
    static let actions = Verb(
        CommandSpec(
            "rgov actions",
            summary:
                "the operator actions, allowed and refused, oldest first: time, verb, target, by, os user, allowed, result",
            discussion: """
                Every operator verb (ack, hold, approve, activate, mission fail, ...) writes one record under
                STATE/operator-actions/<day>/, also when it is refused; this lists them. --json prints one object per
                line (the record as stored), nothing when none matches. A record that cannot be read is named on
                stderr and makes the exit status 65.
                """,
            options: [
                OptionSpec("since", value: "TIME", "only actions at or after TIME (RFC 3339)"),
                OptionSpec("by", value: "NAME", "only actions done by NAME (the --by name)"),
                OptionSpec("mission", value: "ID", "only actions on this mission (or on its notices)"),
                OptionSpec("verb", value: "VERB", "only this verb's actions (ack, hold, activate, ...)"),
            ],
            exits: [(.noInput, "no state folder"), (.dataError, "a record cannot be read")],
            example: "rgov actions --since 2026-11-20T00:00:00Z --verb hold")
    ) { options in
        let layout = try options.readableLayout("actions", target: "operator actions")
        let filter = OperatorActionLog.Filter(
            since: try options.time("since"), by: options.value("by"), mission: options.value("mission"),
            verb: options.value("verb"))
        let (actions, unreadable) = try OperatorActionLog(layout: layout).list(filter)
        for path in unreadable { Sys.writeStandardError("rgov actions: cannot read \(path)\n") }
        if options.json {
            Sys.writeStandardOutput(actions.map { CanonicalJSON.line($0) + "\n" }.joined())
        } else {
            let total = "-- \(actions.count) action\(actions.count == 1 ? "" : "s")"
            Sys.writeStandardOutput(
                ((actions.isEmpty ? [] : OperatorActionLog.table(actions)) + [total]).joined(separator: "\n") + "\n")
        }
        return unreadable.isEmpty ? 0 : ExitCode.dataError.rawValue
    }
}
