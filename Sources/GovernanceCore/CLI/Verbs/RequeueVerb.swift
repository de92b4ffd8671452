import Foundation

extension Verb {
    static let requeue = Verb(
        CommandSpec(
            "rgov requeue",
            summary: "send a blocked notice again: it stays blocked, and a new notice linked to it is queued",
            arguments: [ArgumentSpec("ID|ALL", "a blocked notice, or ALL for every blocked one")], options: holdOptions,
            shared: SharedOption.authority, exits: [(.noInput, "no such notice"), (.noPermission, "not an operator")],
            example: "rgov requeue ntc-0123 --by alice --reason \"channel fixed\"")
    ) { options in try bulk(options, "requeue", OperatorDesk.requeue) }
}
