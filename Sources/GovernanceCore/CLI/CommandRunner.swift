import Foundation

/// One verb of `rgov`: its declaration and what it does.
public struct Verb: Sendable {
    public var spec: CommandSpec
    var run: @Sendable (Options) throws -> Int32

    public init(_ spec: CommandSpec, run: @escaping @Sendable (Options) throws -> Int32) {
        (self.spec, self.run) = (spec, run)
    }

    /// The word after `rgov`.
    public var name: String { String(spec.command.split(separator: " ").dropFirst().first ?? "") }
}

/// The one error path of every executable: any error becomes one log line on stderr and the
/// sysexits status its type carries.
public enum CommandRunner {
    public static func run(_ who: String, _ body: () throws -> Int32) -> Int32 {
        do {
            return try body()
        } catch {
            return report(error, who: who).status
        }
    }

    /// Logs `error` and returns its exit status and message.
    @discardableResult
    public static func report(_ error: Error, who: String) -> (status: Int32, message: String) {
        let (code, message) =
            (error as? OperatorFacingError).map { ($0.exitCode, $0.description) } ?? (ExitCode.failure, "\(error)")
        Log.error(who, message)
        return (code.rawValue, message)
    }
}

extension Options {
    /// Prints `value` as one JSON line with `--json`, else `text`.
    func emit<T: Encodable>(_ value: T, _ text: String) {
        Sys.writeStandardOutput((json ? CanonicalJSON.line(value) : TerminalText.lines(text)) + "\n")
    }

    /// An RFC 3339 time option, or the error `refusal` makes of its message (a usage error).
    func time(_ name: String, refusal: (String) -> Error = { UsageError($0) }) throws -> Date? {
        guard let text = value(name) else { return nil }
        guard let date = Timestamp.parse(text) else {
            throw refusal("--\(name) \(Identifier.quoted(text)) is not an RFC 3339 time")
        }
        return date
    }

    /// The state folder named by the options, which must exist (verbs that only read never create it).
    func existingLayout() throws -> StateLayout {
        let layout = StateLayout(root: stateDirectory)
        try StateAccess.requireExisting(layout)
        Transaction.adopt(root: layout.root)
        return layout
    }

    /// `existingLayout`, once the state's active profile admits the caller as a reader of its
    /// evidence (`audit.readers`, `audit.operators`; exit 77 and a recorded refusal otherwise).
    func readableLayout(_ verb: String, target: String) throws -> StateLayout {
        let layout = try existingLayout()
        if Sys.kind(layout.activeProfile) != .missing {
            try OperatorDesk.reader(try Deployment.inForce(self, run: nil)).authorizeReading(verb, target: target)
        }
        return layout
    }

    /// The one positional argument a verb takes.
    var argument: String { positionals.first ?? "" }
}
