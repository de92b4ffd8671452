import Foundation

extension Verb {
    /// `rgov ls`: one line per notice, oldest first, under a header (postqueue -p).
    static let ls = Verb(
        CommandSpec(
            "rgov ls",
            summary:
                "one line per notice, oldest first, under a header: id, state (! when held), kind, severity, age, mission, "
                + "rule, reason; then each record that cannot be read",
            options: [
                OptionSpec("state-filter", value: "STATE", "only notices in STATE (prepared, queued, dispatched, ...)"),
                OptionSpec("mission", value: "ID", "only this mission's notices"),
                OptionSpec(
                    "rule", value: "RULE|PACK",
                    "only this rule's notices, or every rule's of a pack (budget: budget/...); an unknown one is warned about"
                ),
                OptionSpec("tenant", value: "T", "only notices about missions of tenant T (the snapshot's tenant_id)"),
                OptionSpec("since", value: "TIME", "only notices created at or after TIME"),
            ],
            exits: [(.noInput, "no state folder")], example: "rgov ls --state-filter pending_external_send")
    ) { options in
        let layout = try options.readableLayout("ls", target: "notices")
        let state = try options.value("state-filter").map { s in
            guard let parsed = DeliveryState(rawValue: s) else {
                throw UsageError(
                    "unknown state \(Identifier.quoted(s)) (states: \(DeliveryState.allCases.map(\.rawValue).joined(separator: ", ")))"
                )
            }
            return parsed
        }
        let lines = try Inspection(layout: layout, now: try options.clock().now()).list(
            state: state, mission: options.value("mission"), rule: options.value("rule"),
            since: try options.time("since"), tenant: options.value("tenant"))
        if let rule = options.value("rule"),
            !Inspection.knows(rule: rule, besides: try NoticeStore(layout: layout).all().map(\.notice.rule_id))
        {
            Sys.writeStandardError(
                "rgov ls: warning: --rule \(Identifier.quoted(rule)) names no rule or pack rgov knows, and no notice "
                    + "carries it\n")
        }
        // What cannot be read is listed too, whatever the filters: it has no state, mission or rule to match.
        let unreadable = try UnreadableRecords(layout: layout).find()
        if options.json {
            Sys.writeStandardOutput(
                (lines.map { CanonicalJSON.line($0) + "\n" }
                    + unreadable.map { CanonicalJSON.line(["unreadable": $0]) + "\n" }).joined())
        } else {
            var total = "-- \(lines.count) notice\(lines.count == 1 ? "" : "s")"
            if !unreadable.isEmpty {
                total += ", \(unreadable.count) UNREADABLE record\(unreadable.count == 1 ? "" : "s") (rgov check-state)"
            }
            Sys.writeStandardOutput(
                ((lines.isEmpty ? [] : Inspection.table(lines)) + UnreadableRecords.describe(unreadable) + [total])
                    .joined(separator: "\n") + "\n")
        }
        return 0
    }
}
