import Foundation

/// Every `RGOV_*` environment variable rgov reads or sets: its default, who reads it and what it
/// may hold.
///
/// The README's table is this table; a test keeps the two, and the sources, in step.
///
/// Each executable checks the variables set in its environment before it acts: a bad value is
/// refused with exit 78 naming the variable, not discovered halfway through a tick.
public enum EnvironmentContract {
    public enum Role: String, Sendable {
        /// Set by an operator, a cron line or a unit file.
        case setting
        /// Set by rgov for its own children.
        case `internal`
        /// Set by the bridge for a `command` sender to read; rgov itself never reads it.
        case senderInput = "sender input"
    }

    public struct Variable: Sendable {
        public var name: String
        public var defaultValue: String
        public var readBy: String
        public var valid: String
        public var role: Role = .setting
        /// The reason a value is refused, or nil when it is acceptable.
        var check: @Sendable (String) -> String? = nonEmpty
    }

    static func nonEmpty(_ value: String) -> String? {
        value.isEmpty ? "must not be empty" : value.contains("\n") ? "must be one line" : nil
    }

    static func wholeNumber(_ value: String) -> String? {
        (Int64(value).map { $0 > 0 } ?? false) ? nil : "must be a whole number above 0"
    }

    public static let variables: [Variable] =
        [
            Variable(
                name: "RGOV_STATE_DIR", defaultValue: "./state", readBy: "every executable",
                valid: "a state folder made by rgov init (a missing one is refused, exit 66); --state wins",
                check: { value in
                    if let problem = nonEmpty(value) { return problem }
                    let kind = Sys.kind(value)
                    return kind == .missing || kind == .directory ? nil : "is not a folder"
                }),
            Variable(
                name: "RGOV_PROFILE", defaultValue: "the state's active profile",
                readBy: "every executable",
                valid:
                    "a shipped profile id or a path to a profile .yaml, which must be the state's active profile (exit 78 "
                    + "otherwise; a state with none yet takes it); --profile wins",
                check: { value in
                    if let problem = nonEmpty(value) { return problem }
                    if value.contains("/") || value.hasSuffix(".yaml") || value.hasSuffix(".yml") {
                        return Sys.kind(value) == .regular ? nil : "names no profile file"
                    }
                    return Identifier.isValid(value) ? nil : "is not a profile id"
                }),
            Variable(
                name: "RGOV_HOME", defaultValue: "PREFIX/share/rgov beside the binary, else the source tree",
                readBy: "every executable", valid: "a folder holding profiles/, capabilities/ and policy-packs/",
                check: { value in
                    PackageLayout(root: value).holdsData
                        ? nil : "does not hold profiles/, capabilities/ and policy-packs/"
                }
            ),
            Variable(
                name: "RGOV_BINDINGS_FILE", defaultValue: "STATE/bindings.local.yaml", readBy: "every executable",
                valid: "a readable YAML file of local bindings (targets, secrets)",
                check: { value in Sys.kind(value) == .regular ? nil : "is not a regular file" }),
            Variable(
                name: "RGOV_BINDING_<KEY>", defaultValue: "unset", readBy: "every executable",
                valid: "a value for sender binding key <key> (local layer, wins over the bindings file)"),
            Variable(
                name: "RGOV_FALLBACK_BINDING_<KEY>", defaultValue: "unset", readBy: "every executable",
                valid:
                    "a value for fallback binding key <key> (spec.adapters.fallback; local layer, wins over the bindings file)"
            ),
            Variable(
                name: "RGOV_DEFAULT_TARGET", defaultValue: "the profile's notifications.default_target",
                readBy: "every executable", valid: "a channel target"),
            Variable(
                name: "RGOV_ESCALATION_TARGET", defaultValue: "the profile's escalation target",
                readBy: "every executable", valid: "a channel target"),
            Variable(
                name: "RGOV_SENDER_BIN", defaultValue: "rgov-sender beside rgov-bridge", readBy: "rgov-bridge",
                valid: "an executable file that speaks rgov-sender's protocol (tests use it)",
                check: { value in
                    Sys.kind(value) == .regular && Sys.isExecutable(value) ? nil : "is not an executable file"
                }),
            Variable(
                name: "RGOV_FAULT", defaultValue: "unset", readBy: "every executable",
                valid: "fault points, comma-separated: the process SIGKILLs itself there (tests only)",
                check: { value in
                    let unknown = value.split(separator: ",").map(String.init).filter {
                        !FaultInjection.points.contains($0)
                    }
                    return unknown.isEmpty
                        ? nil
                        : "names unknown fault points \(unknown.joined(separator: ", ")) (known: \(FaultInjection.points.sorted().joined(separator: ", ")))"
                }),
            Variable(
                name: "RGOV_STORE_JOURNAL", defaultValue: "unset", readBy: "every executable",
                valid:
                    "a file to append every file-system operation to, for scripts/crash-states (tests only; slow)"),
            Variable(
                name: "RGOV_LOG_FORMAT", defaultValue: "text", readBy: "every executable",
                valid: "text or json: stderr log lines for a person, or one JSON object each; --log-format wins",
                check: { Log.Format(rawValue: $0) == nil ? "must be text or json" : nil }),
            Variable(
                name: "RGOV_LOGROTATE_DIR", defaultValue: "/etc/logrotate.d", readBy: "rgov doctor",
                valid: "the folder of logrotate snippets doctor looks through for one naming STATE/logs"),
            Variable(
                name: Log.parentRunVariable, defaultValue: "set by rgov tick", readBy: "the stages",
                valid: "the tick's run id, named as the parent of each stage's run", role: .internal),
            Variable(
                name: Shutdown.parentVariable, defaultValue: "set by rgov tick", readBy: "the stages",
                valid: "the tick's process id: a stage stops when that process dies", role: .internal,
                check: wholeNumber),
            Variable(
                name: Containment.variable, defaultValue: "set by rgov-bridge",
                readBy: "rgov-bridge, in what a sender left running",
                valid: "one send's mark, inherited by all it starts: what is left of it is ended when it ends",
                role: .internal),
            Variable(
                name: "RGOV_WEBHOOK_URL", defaultValue: "set by rgov-bridge", readBy: "rgov-sender --mode webhook",
                valid: "the binding's url", role: .internal),
            Variable(
                name: "RGOV_WEBHOOK_HEADERS", defaultValue: "set by rgov-bridge", readBy: "rgov-sender --mode webhook",
                valid: "the binding's headers as a JSON object", role: .internal, check: { _ in nil }),
            Variable(
                name: "RGOV_WEBHOOK_TIMEOUT_MS", defaultValue: "set by rgov-bridge",
                readBy: "rgov-sender --mode webhook",
                valid: "milliseconds", role: .internal, check: wholeNumber),
            Variable(
                name: "RGOV_WEBHOOK_CONCURRENCY", defaultValue: "set by rgov-bridge",
                readBy: "rgov-sender --mode webhook",
                valid: "requests under way at once (max_concurrent_sends)", role: .internal, check: wholeNumber),
        ]
        + ["RGOV_NOTICE_ID", "RGOV_TARGET", "RGOV_IDEMPOTENCY_KEY", "RGOV_MISSION_ID", "RGOV_RULE_ID", "RGOV_SEVERITY"]
        .map {
            Variable(
                name: $0, defaultValue: "set by rgov-bridge", readBy: "a command sender",
                valid: "the notice's field", role: .senderInput, check: { _ in nil })
        }

    /// The contract entry for `name` (`RGOV_BINDING_TOKEN` is an instance of `RGOV_BINDING_<KEY>`).
    public static func variable(named name: String) -> Variable? {
        if let exact = variables.first(where: { $0.name == name }) { return exact }
        if name.hasPrefix("RGOV_BINDING_") && name.count > "RGOV_BINDING_".count {
            return variables.first { $0.name == "RGOV_BINDING_<KEY>" }
        }
        if name.hasPrefix("RGOV_FALLBACK_BINDING_") {
            return variables.first { $0.name == "RGOV_FALLBACK_BINDING_<KEY>" }
        }
        return nil
    }

    /// Problems with the `RGOV_*` variables in `environment`: refusals (exit 78) and, for names the
    /// contract does not know (a typo such as `RGOV_PROFLE`), warnings.
    public static func problems(in environment: [String: String]) -> (refused: [String], unknown: [String]) {
        var refused: [String] = []
        var unknown: [String] = []
        for (name, value) in environment.sorted(by: { $0.key < $1.key }) where name.hasPrefix("RGOV_") {
            guard let variable = variable(named: name) else {
                let names = variables.map(\.name)
                let guess = ConfigMap.closest(to: name, in: names).map { "; did you mean \($0)?" } ?? ""
                unknown.append("\(name) is not an rgov variable\(guess)")
                continue
            }
            // What rgov sets for its sender children is theirs to read, not ours to judge.
            guard variable.role == .setting else { continue }
            if let problem = variable.check(value) {
                refused.append("\(name)=\(Identifier.quoted(value)) \(problem) (valid: \(variable.valid))")
            }
        }
        return (refused, unknown)
    }

    /// Checks this process's environment before anything acts: refuses with exit 78, warns on stderr.
    public static func enforce(_ who: String) throws {
        let (refused, unknown) = problems(in: ProcessInfo.processInfo.environment)
        for warning in unknown { Sys.writeStandardError("\(who): warning: \(warning)\n") }
        guard refused.isEmpty else {
            throw ConfigurationError(refused.joined(separator: "; ") + " (see the environment table in the README)")
        }
    }

    /// The README's table, generated from the contract.
    public static func markdownTable() -> String {
        var lines = ["| variable | default | read by | valid values |", "| --- | --- | --- | --- |"]
        for v in variables {
            let valid = v.role == .setting ? v.valid : "\(v.valid) (\(v.role.rawValue))"
            lines.append("| `\(v.name)` | \(v.defaultValue) | \(v.readBy) | \(valid) |")
        }
        return lines.joined(separator: "\n")
    }
}
