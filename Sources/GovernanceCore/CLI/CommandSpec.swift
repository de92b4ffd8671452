import Foundation

/// One option a command accepts: what the parser allows and what the help says, from one place.
public struct OptionSpec: Sendable, Equatable {
    /// Without the leading `--`.
    public var name: String
    /// The value's placeholder (`DIR`, `N`); nil for a flag.
    public var value: String?
    public var help: String
    public var defaultText: String?
    public var repeatable: Bool

    public init(
        _ name: String, value: String? = nil, _ help: String, default defaultText: String? = nil,
        repeatable: Bool = false
    ) {
        self.name = name
        self.value = value
        self.help = help
        self.defaultText = defaultText
        self.repeatable = repeatable
    }

    var label: String { "--" + name + (value.map { " " + $0 } ?? "") }

    /// `--by NAME`, the name an operator acts under; `help` says who, for this verb.
    static func by(_ help: String) -> OptionSpec { OptionSpec("by", value: "NAME", help) }
    static let requiredReason = OptionSpec("reason", value: "TEXT", "why; required")
}

/// One positional argument.
public struct ArgumentSpec: Sendable, Equatable {
    public var name: String
    public var help: String
    public var optional: Bool

    public init(_ name: String, _ help: String, optional: Bool = false) {
        (self.name, self.help, self.optional) = (name, help, optional)
    }
}

/// The options every rgov executable may opt into, declared once (DESIGN §8).
public enum SharedOption: String, CaseIterable, Sendable {
    case state, profile, capabilities, now, json
    case logFormat = "log-format"

    public var spec: OptionSpec {
        switch self {
        case .state: return OptionSpec("state", value: "DIR", "state folder (env RGOV_STATE_DIR)", default: "./state")
        case .profile:
            return OptionSpec(
                "profile", value: "FILE|ID",
                "deployment profile (env RGOV_PROFILE): must be the state's active profile, which runs when none is given "
                    + "(exit 78 when it differs); a state with none yet takes it", default: "minimal-solo-mode")
        case .capabilities:
            return OptionSpec("capabilities", value: "ID", "capability descriptor", default: "the profile's")
        case .now: return OptionSpec("now", value: "TIME", "pin the clock to an RFC 3339 time (tests, replays)")
        case .json: return OptionSpec("json", "machine-readable output on stdout (logs stay on stderr)")
        case .logFormat:
            return OptionSpec(
                "log-format", value: "text|json",
                "stderr log lines as text or one JSON object each (env RGOV_LOG_FORMAT)",
                default: "text")
        }
    }

    /// What a stage or a state-changing verb takes.
    public static let deployment: [SharedOption] = [.state, .profile, .capabilities, .now, .json, .logFormat]
    /// What a verb that changes the state for an operator takes: never `--profile` or
    /// `--capabilities`, since who may act is judged by the profile in force for the state.
    public static let authority: [SharedOption] = [.state, .now, .json, .logFormat]
    /// What a verb that only reads the state takes.
    public static let reading: [SharedOption] = [.state, .now, .json]
}

/// A command's whole declaration: the parser refuses anything not declared here, and the help is
/// generated from it, so the two cannot drift apart.
public struct CommandSpec: Sendable {
    /// The words that start the command: `rgov ls`, `rgov-watchdog`.
    public var command: String
    public var summary: String
    public var discussion: String?
    public var arguments: [ArgumentSpec]
    public var options: [OptionSpec]
    public var shared: [SharedOption]
    /// Exit statuses beyond 0 and 64 (which every command has), with what each means here.
    public var exits: [(ExitCode, String)]
    public var example: String

    public init(
        _ command: String, summary: String, discussion: String? = nil, arguments: [ArgumentSpec] = [],
        options: [OptionSpec] = [], shared: [SharedOption] = SharedOption.reading, exits: [(ExitCode, String)] = [],
        example: String
    ) {
        self.command = command
        self.summary = summary
        self.discussion = discussion
        self.arguments = arguments
        self.options = options
        self.shared = shared
        self.exits = exits
        self.example = example
    }

    static let helpOption = OptionSpec("help", "show this help")

    /// Every option the command takes, its own first.
    public var allOptions: [OptionSpec] { options + shared.map(\.spec) + [Self.helpOption] }

    public var usage: String {
        let words = [command] + arguments.map { $0.optional ? "[\($0.name)]" : $0.name }
        return "usage: " + (words + (allOptions.isEmpty ? [] : ["[options]"])).joined(separator: " ")
    }

    /// The help text: usage, what it does, arguments, options with defaults, exit statuses, an example.
    public var help: String {
        var lines = [usage, "", summary + "."]
        if let discussion { lines += ["", discussion] }
        func table(_ rows: [(String, String)]) -> [String] {
            let width = min(28, (rows.map(\.0.count).max() ?? 0) + 2)
            return rows.map { left, right in
                "  " + left + String(repeating: " ", count: max(2, width - left.count)) + right
            }
        }
        if !arguments.isEmpty {
            lines +=
                ["", "arguments:"] + table(arguments.map { ($0.name, $0.help + ($0.optional ? " (optional)" : "")) })
        }
        lines += ["", "options:"]
        lines += table(
            allOptions.map { option in
                var text = option.help
                if let value = option.defaultText { text += "; default \(value)" }
                if option.repeatable { text += "; repeatable" }
                return (option.label, text)
            })
        let statuses = [(ExitCode.ok, "done")] + exits + [(ExitCode.usage, "usage")]
        lines += ["", "exit: " + statuses.map { "\($0.0.rawValue) \($0.1)" }.joined(separator: ", ") + "."]
        lines += ["example: " + example]
        return lines.joined(separator: "\n")
    }

    /// Prints the help for `--help`, else the version line for `--version`; false when neither was asked.
    func answersHelpOrVersion(_ options: Options) -> Bool {
        guard let answer = options.has("help") ? help : options.has("version") ? PackageInfo.versionLine(command) : nil
        else { return false }
        Sys.writeStandardOutput(answer + "\n")
        return true
    }

    /// Reads `arguments` against the declaration: an undeclared option, a missing value, or the
    /// wrong number of arguments is a usage error that names this command.
    public func parse(_ arguments: [String]) throws -> Options {
        let declared = Dictionary(uniqueKeysWithValues: allOptions.map { ($0.name, $0) })
        var options = Options()
        var i = 0
        var onlyPositionals = false
        while i < arguments.count {
            let argument = arguments[i]
            i += 1
            if onlyPositionals || !argument.hasPrefix("-") || argument == "-" {
                options.positionals.append(argument)
                continue
            }
            if argument == "--" {
                onlyPositionals = true
                continue
            }
            guard argument.hasPrefix("--") else {
                throw UsageError(
                    "\(command): unknown option \(argument) (options are spelled --name; see \(command) --help)")
            }
            var name = String(argument.dropFirst(2))
            var inline: String? = nil
            if let eq = name.firstIndex(of: "=") {
                inline = String(name[name.index(after: eq)...])
                name = String(name[..<eq])
            }
            guard let option = declared[name] else {
                let guess =
                    ConfigMap.closest(to: name, in: declared.keys.sorted()).map { "; did you mean --\($0)?" } ?? ""
                throw UsageError("\(command): unknown option --\(name)\(guess) (see \(command) --help)")
            }
            guard option.value != nil else {
                guard inline == nil else { throw UsageError("\(command): --\(name) takes no value") }
                options.flags.insert(name)
                continue
            }
            let value: String
            if let inline {
                value = inline
            } else {
                guard i < arguments.count else { throw UsageError("\(command): --\(name) needs a value") }
                value = arguments[i]
                i += 1
            }
            if options.values[name] != nil && !option.repeatable {
                throw UsageError("\(command): --\(name) given twice")
            }
            options.values[name] = value
            options.repeated[name, default: []].append(value)
        }
        if options.has("help") { return options }
        let required = self.arguments.filter { !$0.optional }.count
        if options.positionals.count < required || options.positionals.count > self.arguments.count {
            let extra = options.positionals.count > self.arguments.count
            throw UsageError(
                "\(command): "
                    + (extra
                        ? "unexpected argument \(Identifier.quoted(options.positionals[self.arguments.count]))"
                        : "missing \(self.arguments[options.positionals.count].name)") + " (\(usage))")
        }
        return options
    }
}
