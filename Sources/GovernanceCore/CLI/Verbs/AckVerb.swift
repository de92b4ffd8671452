import Foundation

extension Verb {
    static let ack = Verb(
        CommandSpec(
            "rgov ack", summary: "attest that a person saw the notice: the only path to acked that is not a sender's",
            discussion: "Refused (exit 65) on blocked, on already acked, and on notices never handed to a sender.",
            arguments: [ArgumentSpec("ID", "the notice")],
            options: [.by("who attests; required"), OptionSpec("note", value: "TEXT", "where or how it was seen")],
            shared: SharedOption.authority,
            exits: [
                (.dataError, "refused by the notice's state"), (.noInput, "no such notice"),
                (.noPermission, "not an operator"),
            ],
            example: "rgov ack ntc-0123 --by alice --note \"seen in #ops\"")
    ) { options in
        let desk = try OperatorDesk.forVerb(options)
        let notice = try desk.ack(options.argument, note: options.value("note"))
        try Metrics.record(desk.deployment, now: desk.deployment.clock.now(), Metrics.acked([notice]))
        options.emit(notice, "acked \(notice.notice_id) by \(desk.identity.by) (\(desk.identity.osUser))")
        return 0
    }
}

extension OperatorDesk {
    /// The desk of a verb that changes the state: the profile in force for that state (never one
    /// the caller names: `--profile` is not an option of these verbs, and an `RGOV_PROFILE` that
    /// differs from the active profile is refused), and who acts.
    static func forVerb(_ options: Options) throws -> OperatorDesk {
        OperatorDesk(
            deployment: try Deployment.inForce(options, run: "rgov", adopting: false),
            identity: try OperatorIdentity.current(by: options.value("by")))
    }
}
