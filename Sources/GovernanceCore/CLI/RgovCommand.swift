import Foundation

/// `rgov`: the orchestrator (`tick`) and the operator verbs, each declared in `CLI/Verbs/`.
public enum RgovCommand {
    /// Every verb, in the order `rgov --help` lists them.
    public static let verbs: [Verb] = [
        .initialize, .tick, .status, .doctor, .validate, .report, .simulate, .diffProfiles, .evaluate, .activate,
        .rollback,
        .history, .actions, .cron,
        .ls, .show, .ack, .hold, .release, .retry, .requeue, .approve, .reject, .approvals, .mission, .quarantine,
        .prune,
        .export, .verify, .checkState,
    ]

    /// `rgov --help`: the verbs with their summaries, generated from their declarations.
    public static var overview: String {
        let width = (verbs.map(\.name.count).max() ?? 0) + 2
        var lines = ["usage: rgov VERB [options]", "", "verbs:"]
        lines += verbs.map { "  " + $0.name.padding(toLength: width, withPad: " ", startingAt: 0) + $0.spec.summary }
        lines += ["", "shared options (each verb's --help says which it takes; operator verbs never take --profile):"]
        lines += (SharedOption.allCases.map(\.spec) + [CommandSpec.helpOption]).map { option in
            "  " + option.label.padding(toLength: 24, withPad: " ", startingAt: 0) + option.help
                + (option.defaultText.map { "; default \($0)" } ?? "")
        }
        lines += [
            "  " + "--version".padding(toLength: 24, withPad: " ", startingAt: 0)
                + "print the version and the commit it was built from",
            "",
            "rgov VERB --help tells each verb's arguments, options, defaults and exit statuses;",
            "rgov help environment lists every RGOV_* variable; rgov help manual prints the whole manual;",
            "rgov help man [PAGE] prints a man page (rgov.1, one per stage); rgov help completion the bash completion.",
            "",
            "exit: 0 ok, 1 a stage failed, 64 usage, 65 bad data or refused, 66 no input, 73/74 cannot create / I/O,",
            "75 try again, 77 not permitted, 78 configuration refused, 128 + N stopped by signal N.",
        ]
        return lines.joined(separator: "\n")
    }

    static let topLevel = CommandSpec(
        "rgov", summary: "reporting governance for colony missions",
        options: [OptionSpec("version", "print the version and the commit it was built from")], shared: [],
        example: "rgov tick --missions-from examples/missions --now 2026-11-20T12:00:00Z")

    public static func main(arguments: [String] = Array(CommandLine.arguments.dropFirst())) -> Int32 {
        CommandRunner.run("rgov") {
            guard let name = arguments.first, !name.hasPrefix("-") else {
                let options = try topLevel.parse(arguments)
                if options.has("version") {
                    Sys.writeStandardOutput(PackageInfo.versionLine("rgov") + "\n")
                    return 0
                }
                Sys.writeStandardOutput(overview + "\n")
                return options.has("help") ? 0 : ExitCode.usage.rawValue
            }
            let rest = Array(arguments.dropFirst())
            if name == "help" {
                switch rest.first {
                case nil: Sys.writeStandardOutput(overview + "\n")
                case "environment"?: Sys.writeStandardOutput(EnvironmentContract.markdownTable() + "\n")
                case "manual"?: Sys.writeStandardOutput(Manual.markdown())
                case "man"?:
                    let name = rest.dropFirst().first ?? "rgov"
                    guard let page = ManPage.page(name) else {
                        throw UsageError(
                            "rgov help man: no page \(Identifier.quoted(name)) (pages: "
                                + ManPage.names.joined(separator: ", ") + ")")
                    }
                    Sys.writeStandardOutput(page)
                case "completion"?: Sys.writeStandardOutput(BashCompletion.bash(profiles: try shippedProfiles()))
                case let verbName?: Sys.writeStandardOutput(try verb(named: verbName).spec.help + "\n")
                }
                return 0
            }
            let verb = try Self.verb(named: name)
            let options = try verb.spec.parse(rest)
            if verb.spec.answersHelpOrVersion(options) { return 0 }
            try EnvironmentContract.enforce("rgov")
            // Before a verb reads anything of its state: no link below the state's root is followed.
            if verb.spec.allOptions.contains(where: { $0.name == "state" }) {
                Sys.confine(stateRoot: options.stateDirectory)
            }
            return try verb.run(options)
        }
    }

    /// The ids of the package's shipped profiles, for completion.
    static func shippedProfiles() throws -> [String] {
        try Sys.listDirectory(PackageLayout(root: try PackageRoot.locate()).profiles).filter { $0.hasSuffix(".yaml") }
            .map { String($0.dropLast(5)) }.sorted()
    }

    /// The verb `name` names, or a usage error that offers the closest one.
    static func verb(named name: String) throws -> Verb {
        if let verb = verbs.first(where: { $0.name == name }) { return verb }
        let guess = ConfigMap.closest(to: name, in: verbs.map(\.name)).map { "; did you mean \($0)?" } ?? ""
        throw UsageError("unknown verb \(Identifier.quoted(name))\(guess) (see rgov --help)")
    }
}
