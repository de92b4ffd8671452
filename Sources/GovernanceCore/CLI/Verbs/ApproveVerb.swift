import Foundation

extension Verb {
    static let decisionOptions = [
        OptionSpec.by("who decides; required"), .requiredReason,
        OptionSpec("mission", value: "ID", "the mission, when the writeback id is not unique"),
    ]

    static func decide(_ options: Options, approve: Bool) throws -> Int32 {
        if approve && options.argument == "activation" { return try approveActivation(options) }
        guard options.positionals.count == 1 else {
            throw UsageError("usage: rgov \(approve ? "approve" : "reject") WRITEBACK --by NAME --reason TEXT")
        }
        let approval = try OperatorDesk.forVerb(options).decide(
            options.argument, mission: options.value("mission"), approve: approve, reason: options.value("reason") ?? ""
        )
        options.emit(
            approval,
            "\(approval.decision.rawValue) \(approval.mission_id)/\(approval.writeback_id) by \(approval.by) (decision \(approval.decision_id))"
                + (approval.after_application == true
                    ? "\n  it was already applied without approval: the approval is recorded, the violation stands"
                    : ""))
        return 0
    }

    static let approve = Verb(
        CommandSpec(
            "rgov approve", summary: "approve a proposed writeback: a decision record the watchdog then honours",
            discussion: """
                rgov approve activation ID puts a pending profile activation or rollback in force; it must be a
                different operating-system user than the one who asked. On a production state an activation is
                admitted as rgov activate admits one (a passing evaluation of its sha256: --evaluation BUNDLE, else
                the bundle given when it was asked for, else one made on this state), checked again now; a
                rollback is not (it returns to a profile that already ran here).
                """,
            arguments: [
                ArgumentSpec(
                    "WRITEBACK|activation",
                    "MISSION/WRITEBACK as rgov approvals prints it, the writeback id, or the word activation"),
                ArgumentSpec("ID", "with activation: the pending activation's id", optional: true),
            ],
            options: decisionOptions + [
                OptionSpec(
                    "evaluation", value: "BUNDLE",
                    "with activation, on a production state: a staging bundle holding a passing evaluation"),
                OptionSpec(
                    "allowed-signers", value: "FILE",
                    "with --evaluation: the bundle must be signed by one of these keys"),
            ],
            shared: SharedOption.authority,
            exits: [
                (.dataError, "already decided"), (.noInput, "no such writeback or activation"),
                (.noPermission, "not an operator, or the operator who asked"),
                (.configuration, "a production state lacks the evaluation the activation needs"),
            ],
            example: "rgov approve crm-overdue-02/wb-17 --by alice --reason \"reviewed the diff\"")
    ) { options in try decide(options, approve: true) }

    /// `rgov approve activation ID`: a second operator puts a pending profile change in force.
    static func approveActivation(_ options: Options) throws -> Int32 {
        guard options.positionals.count == 2 else {
            throw UsageError("usage: rgov approve activation ID --by NAME --reason TEXT")
        }
        let id = options.positionals[1]
        let layout = StateLayout(root: options.stateDirectory)
        let desk = try OperatorDesk.forVerb(options)
        try desk.authorize("approve activation", target: id, reason: options.value("reason"))
        let lifecycle = ProfileLifecycle(layout: layout, clock: try options.clock())
        let event = try lifecycle.approve(
            id, by: desk.identity.by, reason: options.value("reason") ?? "",
            validate: try profileValidator(layout: layout, options: options)
        ) { deployment, pending in
            guard pending.action == .activate else { return nil }
            return try Verb.admitted(
                deployment, action: .approve_activation, lifecycle: lifecycle, desk: desk, options: options,
                bundle: options.value("evaluation") ?? pending.evaluation_bundle)
        }
        try desk.record(
            "approve activation", target: id, reason: options.value("reason"),
            result: "\(event.action.rawValue) of \(event.profile) in force (asked by \(event.os_user))")
        options.emit(
            event,
            "\(event.profile) is in force (\(event.action.rawValue) asked by \(event.by) as \(event.os_user), "
                + "approved by \(desk.identity.by) as \(desk.identity.osUser)) as \(event.event_id)")
        return 0
    }
}
