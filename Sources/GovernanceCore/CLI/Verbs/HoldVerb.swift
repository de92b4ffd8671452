import Foundation

extension Verb {
    static let holdOptions = [OptionSpec.by("who acts; required"), OptionSpec("reason", value: "TEXT", "why")]

    /// Runs a bulk-capable verb (`act`, on the notice or `ALL` with `--reason`) and prints what it
    /// changed and what it left, and why.
    static func bulk(
        _ options: Options, _ verb: String,
        _ act: (OperatorDesk) -> (String, String?) throws -> OperatorDesk.BulkResult
    ) throws -> Int32 {
        let result = try act(try OperatorDesk.forVerb(options))(options.argument, options.value("reason"))
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
    ) { options in try bulk(options, "hold", OperatorDesk.hold) }
}
