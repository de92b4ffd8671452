import Foundation

extension Verb {
    static let decisionOptions = [
        OptionSpec("by", value: "NAME", "who decides; required"), OptionSpec("reason", value: "TEXT", "why; required"),
        OptionSpec("mission", value: "ID", "the mission, when the writeback id is not unique"),
    ]

    static func decide(_ options: Options, approve: Bool) throws -> Int32 {
        let approval = try OperatorDesk.forVerb(options).decide(
            options.argument, mission: options.value("mission"), approve: approve, reason: options.value("reason") ?? ""
        )
        options.emit(
            approval,
            "\(approval.decision.rawValue) \(approval.mission_id)/\(approval.writeback_id) by \(approval.by) (decision \(approval.decision_id))"
                + (approval.after_application == true
                    ? "\n  it was already applied without approval: the approval is recorded, the violation stands"
                    : "")
        )
        return 0
    }

    /// `rgov approve`: a decision record the watchdog then honours.
    static let approve = Verb(
        CommandSpec(
            "rgov approve", summary: "approve a proposed writeback: a decision record the watchdog then honours",
            arguments: [ArgumentSpec("WRITEBACK", "the writeback id")], options: decisionOptions,
            shared: SharedOption.authority,
            exits: [
                (.dataError, "already decided"), (.noInput, "no such writeback"), (.noPermission, "not an operator"),
            ],
            example: "rgov approve wb-17 --by alice --reason \"reviewed the diff\"")
    ) { options in try decide(options, approve: true) }
}
