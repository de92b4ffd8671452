import Foundation

extension Verb {
    static let status = Verb(
        CommandSpec(
            "rgov status",
            summary:
                "notices per state, oldest undelivered, approval backlog, quarantine, each stage's last run, capability gaps, locks",
            discussion:
                "Warns (\"stale\": true in JSON) when the watchdog last ran more than twice its expected interval ago.",
            options: [
                OptionSpec(
                    "recount",
                    "count finished notices from their day folders again, rebuilding metrics/notice-history.json")
            ],
            shared: SharedOption.deployment, exits: [(.noInput, "no state folder")],
            example: "rgov status --state /var/lib/rgov/state")
    ) { options in
        // The JSON carries every record's detail: only a reader gets it.
        let layout = try options.json ? options.readableLayout("status", target: "--json") : options.existingLayout()
        let deployment = try? Deployment.inForce(options, run: nil)
        let backlog = deployment.flatMap { try? OperatorDesk.reading($0).approvalBacklog().count } ?? 0
        let status = try StatusReport.gather(
            layout: layout, now: try options.clock().now(), approvalBacklog: backlog, recount: options.has("recount"))
        options.emit(status, status.describe())
        return 0
    }
}
