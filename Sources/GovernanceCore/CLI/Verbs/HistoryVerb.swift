import Foundation

extension Verb {
    static let history = Verb(
        CommandSpec(
            "rgov history", summary: "profile activations and rollbacks: who, when, why, snapshot hash (* in force)",
            example: "rgov history --state /var/lib/rgov/state")
    ) { options in
        let layout = StateLayout(root: options.stateDirectory)
        let lifecycle = ProfileLifecycle(layout: layout, clock: try options.clock())
        let events = try lifecycle.history()
        if options.json {
            Sys.writeStandardOutput(events.map { CanonicalJSON.line($0) + "\n" }.joined())
        } else if events.isEmpty {
            Sys.writeStandardOutput("no profile activations in \(layout.root)\n")
        } else {
            let active = lifecycle.active()?.event_id
            for e in events {
                Sys.writeStandardOutput(
                    "\(e.event_id == active ? "*" : " ") \(Timestamp.format(e.at))  \(e.action.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0)) "
                        + "\(e.profile)  sha256 \(e.snapshot_sha256.prefix(12))  by \(e.by) (\(e.os_user)): \(e.reason)\n"
                )
            }
        }
        return 0
    }
}
