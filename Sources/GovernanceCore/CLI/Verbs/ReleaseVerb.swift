import Foundation

extension Verb {
    static let release = Verb(
        CommandSpec(
            "rgov release", summary: "release a held notice (prepared -> queued, or the hold removed)",
            arguments: [ArgumentSpec("ID|ALL", "a notice, or ALL for every held one")], options: holdOptions,
            shared: SharedOption.authority, exits: [(.noInput, "no such notice"), (.noPermission, "not an operator")],
            example: "rgov release ALL --by alice")
    ) { options in try bulk(options, "release", OperatorDesk.release) }
}
