import Foundation

extension Verb {
    static let checkState = Verb(
        CommandSpec(
            "rgov check-state",
            summary:
                "check every invariant of a state folder (one state per notice, legal transitions, acks with evidence, whole chains, no orphans or stale temporaries)",
            discussion: """
                Reads only. A violation names the invariant, the file and why. Run it after a crash and a
                recovering tick: a clean state has none. scripts/check-state STATE runs the same.
                """,
            shared: [.state, .json],
            exits: [(.failure, "at least one violation"), (.noInput, "no state folder")],
            example: "rgov check-state --state /var/lib/rgov/state")
    ) { options in
        let report = try StateCheck(layout: try options.existingLayout()).run()
        let lines =
            report.violations.map { "VIOLATION \($0.invariant): \($0.path): \(TerminalText.field($0.detail))" }
            + [
                "checked \(report.notices) notices, \(report.receipts) receipts, \(report.chains) mission chains: "
                    + "\(report.violations.count) violations"
            ]
        options.emit(report, lines.joined(separator: "\n"))
        return report.violations.isEmpty ? 0 : 1
    }
}
