import Foundation

extension Verb {
    static let mission = Verb(
        CommandSpec(
            "rgov mission",
            summary: "fail or replay a mission stuck in a non-terminal state (recorded, with who and why)",
            arguments: [ArgumentSpec("fail|replay", "what to do"), ArgumentSpec("ID", "the mission")],
            options: [.by("who acts; required"), .requiredReason],
            shared: SharedOption.authority,
            exits: [
                (.dataError, "refused by the mission's state"), (.noInput, "no such mission"),
                (.noPermission, "not an operator"),
            ],
            example: "rgov mission fail crm-overdue-02 --by alice --reason \"worker lost\"")
    ) { options in
        let mission = try OperatorDesk.forVerb(options).mission(
            options.positionals[0], id: options.positionals[1], reason: options.value("reason") ?? "")
        options.emit(mission, "mission \(mission.mission_id): \(mission.status.rawValue)")
        return 0
    }
}
