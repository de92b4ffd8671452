import Foundation

extension Verb {
    static let approvals = Verb(
        CommandSpec(
            "rgov approvals", summary: "proposed writebacks nobody has decided, oldest first",
            shared: SharedOption.deployment, exits: [(.noInput, "no state folder")], example: "rgov approvals --json")
    ) { options in
        _ = try options.existingLayout()
        let backlog = try OperatorDesk.reading(try Deployment.inForce(options, run: nil)).approvalBacklog()
        let lines = backlog.map {
            "\($0.mission_id)/\(TerminalText.field($0.writeback_id))  \(TerminalText.field($0.target ?? "-"))  "
                + "waiting \(DurationText.describe(ms: $0.waiting_ms))"
        }
        let total = "-- \(backlog.count) writeback\(backlog.count == 1 ? "" : "s") awaiting approval"
        options.emit(backlog, (lines + [total]).joined(separator: "\n"))
        return 0
    }
}
