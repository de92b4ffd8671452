import Foundation

extension Verb {
    static let reject = Verb(
        CommandSpec(
            "rgov reject", summary: "reject a proposed writeback: a decision record the watchdog then honours",
            arguments: [
                ArgumentSpec("WRITEBACK", "MISSION/WRITEBACK as rgov approvals prints it, or the writeback id")
            ], options: decisionOptions,
            shared: SharedOption.authority,
            exits: [
                (.dataError, "already decided"), (.noInput, "no such writeback"), (.noPermission, "not an operator"),
            ],
            example: "rgov reject crm-overdue-02/wb-17 --by alice --reason \"wrong account\"")
    ) { options in try decide(options, approve: false) }
}
