import Foundation

extension Verb {
    static let holdOptions = [OptionSpec.by("who acts; required"), OptionSpec("reason", value: "TEXT", "why")]

    /// Prints what a bulk-capable verb changed and what it left, and why.
    static func emitBulk(_ options: Options, _ verb: String, _ result: OperatorDesk.BulkResult) -> Int32 {
        options.emit(
            result,
            "\(verb): \(result.changed.count) changed"
                + result.unchanged.sorted(by: { $0.key < $1.key }).map { "\n  \($0.key): unchanged (\($0.value))" }
                .joined())
        return 0
    }

    static let hold = Verb(
        CommandSpec(
            "rgov hold",
            summary:
                "hold a notice: queued -> prepared; a dispatched or pending one carries a hold the bridge respects",
            arguments: [ArgumentSpec("ID|ALL", "a notice, or ALL for every one that can be held")],
            options: holdOptions,
            shared: SharedOption.authority, exits: [(.noInput, "no such notice"), (.noPermission, "not an operator")],
            example: "rgov hold ALL --by alice --reason \"channel outage\"")
    ) { options in
        emitBulk(
            options, "hold", try OperatorDesk.forVerb(options).hold(options.argument, reason: options.value("reason")))
    }
}
