import Foundation

extension Verb {
    /// `rgov ack`: operator attestation, the only non-sender path to acked.
    static let ack = Verb(
        CommandSpec(
            "rgov ack", summary: "attest that a person saw the notice: the only path to acked that is not a sender's",
            discussion: "Refused (exit 65) on blocked, on already acked, and on notices never handed to a sender.",
            arguments: [ArgumentSpec("ID", "the notice")],
            options: [
                OptionSpec("by", value: "NAME", "who attests; required"),
                OptionSpec("note", value: "TEXT", "where or how it was seen"),
            ],
            shared: SharedOption.authority,
            exits: [
                (.dataError, "refused by the notice's state"), (.noInput, "no such notice"),
                (.noPermission, "not an operator"),
            ],
            example: "rgov ack ntc-0123 --by alice --note \"seen in #ops\"")
    ) { options in
        let desk = try OperatorDesk.forVerb(options)
        let notice = try desk.ack(options.argument, note: options.value("note"))
        try Metrics.record(desk.deployment, now: desk.deployment.clock.now()) { _ in }
        options.emit(notice, "acked \(notice.notice_id) by \(desk.identity.by) (\(desk.identity.osUser))")
        return 0
    }
}

extension OperatorDesk {
    /// The desk of a verb that changes the state: the profile in force for that state, and who acts.
    static func forVerb(_ options: Options) throws -> OperatorDesk {
        OperatorDesk(
            deployment: try Deployment.inForce(options), identity: try OperatorIdentity.current(by: options.value("by"))
        )
    }
}

extension Deployment {
    /// The deployment whose profile judges who may act on a state: the profile activated for it,
    /// else the one its last watchdog run used (by content hash), else minimal-solo-mode.
    ///
    /// Never one the caller names: `--profile` is not an option of these verbs, and `RGOV_PROFILE` is refused.
    static func inForce(_ options: Options) throws -> Deployment {
        if Sys.environment("RGOV_PROFILE") != nil {
            throw UsageError(
                "who may act is judged by the profile in force for the state, not by RGOV_PROFILE; unset it for operator verbs"
            )
        }
        let layout = StateLayout(root: options.stateDirectory)
        var source = ProfileLifecycle.activeSnapshotPath(layout)
        if source == nil, let sha = Watchdog.latestRun(layout)?.profile_sha256 {
            let snapshot = layout.profileSnapshot(sha)
            if Sys.kind(snapshot) == .regular { source = snapshot }
        }
        var resolved = options
        resolved.setValue("profile", source ?? "minimal-solo-mode")
        return try load(resolved)
    }
}
