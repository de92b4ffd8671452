import Foundation

extension Verb {
    static let history = Verb(
        CommandSpec(
            "rgov history",
            summary:
                "the profile lifecycle: activations and rollbacks (* in force), validations, simulations, evaluations",
            discussion: """
                Each line is one step: who, when, the profile's sha256, and the result. Activations and rollbacks
                (profile-history/) put a profile in force, with why and who approved; validations and simulations
                given --state, evaluations, and activations or rollbacks refused or waiting for approval are
                lifecycle records (lifecycle-records/). With --json, one object a line, each with its schema
                (rgov.profile-lifecycle/v1 or rgov.lifecycle-record/v1).
                """,
            example: "rgov history --state /var/lib/rgov/state")
    ) { options in
        let layout = StateLayout(root: options.stateDirectory)
        let lifecycle = ProfileLifecycle(layout: layout, clock: try options.clock())
        let entries = try lifecycle.entries()
        if options.json {
            Sys.writeStandardOutput(
                entries.map { entry in
                    switch entry {
                    case .event(let e): CanonicalJSON.line(e) + "\n"
                    case .record(let r): CanonicalJSON.line(r) + "\n"
                    }
                }.joined())
        } else if entries.isEmpty {
            Sys.writeStandardOutput("no profile activations in \(layout.root)\n")
        } else {
            let active = lifecycle.active()?.event_id
            for entry in entries {
                switch entry {
                case .event(let e):
                    Sys.writeStandardOutput(
                        "\(e.event_id == active ? "*" : " ") \(Timestamp.format(e.at))  \(e.action.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0)) "
                            + "\(e.profile)  sha256 \(e.snapshot_sha256.prefix(12))  by \(e.by) (\(e.os_user)): \(e.reason)"
                            + (e.evaluation_id.map {
                                "  [evaluation \($0), \(e.evaluation_environment?.rawValue ?? "-")]"
                            } ?? "")
                            + "\n")
                case .record(let r):
                    Sys.writeStandardOutput(
                        "  \(Timestamp.format(r.at))  \(r.action.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0)) "
                            + "\(r.profile ?? "-")  sha256 \((r.profile_sha256 ?? "-").prefix(12))  by \(r.by) (\(r.os_user)): "
                            + "\(r.result.rawValue.uppercased()) \(r.record_id) in \(r.environment.rawValue)"
                            + (r.reasons.isEmpty
                                ? ""
                                : "; " + (r.reasons.first ?? "")
                                    + (r.reasons.count > 1 ? " (+\(r.reasons.count - 1) more)" : ""))
                            + "\n")
                }
            }
        }
        return 0
    }
}
