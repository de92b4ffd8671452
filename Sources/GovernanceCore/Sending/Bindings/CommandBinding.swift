import Foundation

/// `command`: the binding's own program per notice.
///
/// Its argv comes from a template (never a shell string), the message as JSON on stdin and the
/// notice's fields in the environment. It may answer with an envelope (`ok`, `acked`,
/// `message_id`, `retryable`, `outcome: unknown`).
struct CommandBinding: BindingKind {
    var perNotice: Bool { true }
    func declaresAck(_ binding: SenderBinding) -> Bool { binding.flag("declares_ack") }
    func supportsIdempotency(_ binding: SenderBinding) -> Bool { binding.flag("supports_idempotency") }

    func program(_ binding: SenderBinding, senderExecutable: String) -> String? {
        guard case .list(let argv)? = binding.values["command"], let first = argv.first, !first.isEmpty else {
            return nil
        }
        return first
    }

    func validate(_ binding: SenderBinding, profile: String) throws {
        guard program(binding, senderExecutable: "") != nil else {
            throw ConfigurationError(
                "\(profile): sender mode command needs spec.adapters.sender.binding.command (an argv list)")
        }
        switch binding.values["environment"] {
        case nil: break
        case .map(let variables)?:
            for name in variables.keys.sorted() where !Self.isVariableName(name) || name.hasPrefix("RGOV_") {
                throw ConfigurationError(
                    "\(profile): binding.environment.\(name) is not a variable the sender may be given "
                        + "(a name of letters, digits and _, not starting with RGOV_, which rgov sets)")
            }
        default:
            throw ConfigurationError(
                "\(profile): binding.environment is a map of variable names to values or env:NAME references")
        }
    }

    static func isVariableName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first,
            first == "_" || ("A"..."Z").contains(first) || ("a"..."z").contains(first)
        else { return false }
        return name.unicodeScalars.allSatisfy {
            $0 == "_" || ("A"..."Z").contains($0) || ("a"..."z").contains($0) || ("0"..."9").contains($0)
        }
    }

    /// The variables `binding.environment` gives the sender: a secret such as a webhook URL reaches
    /// it this way (`env:NAME` is read from rgov's environment), never through argv, where every
    /// process on the machine can read it.
    static func variables(_ binding: SenderBinding, environment: [String: String]) throws -> [String: String] {
        guard case .map(let variables)? = binding.values["environment"] else { return [:] }
        var out: [String: String] = [:]
        for (name, value) in variables {
            guard value.hasPrefix("env:") else {
                out[name] = value
                continue
            }
            let source = String(value.dropFirst(4))
            guard let resolved = environment[source], !resolved.isEmpty else {
                throw ConfigurationError(
                    "binding.environment.\(name) is env:\(source), and \(source) is not set in rgov's environment")
            }
            out[name] = resolved
        }
        return out
    }

    func plan(
        _ handoff: SpoolHandoff, binding: SenderBinding, layout: StateLayout, senderExecutable: String,
        environment: [String: String], limits: SendLimits
    ) throws -> ChildSpec {
        guard case .list(let template)? = binding.values["command"] else {
            throw ConfigurationError("command binding has no argv")
        }
        let argv = template.map { Self.substitute($0, environment: environment, handoff: handoff) }
        var env = environment
        for (name, value) in try Self.variables(binding, environment: environment) { env[name] = value }
        return ChildSpec(
            executable: try ChildProcess.resolve(argv[0], environment: environment), arguments: Array(argv.dropFirst()),
            environment: env, standardInput: Array(CanonicalJSON.line(handoff).utf8) + [0x0a],
            deadline: limits.timeout)
    }

    func interpret(_ child: ChildResult, noticeID: String) -> SenderResult? {
        let text = child.stdoutText
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard case .object(let o)? = try? CanonicalJSON.decode(JSONValue.self, from: Data(trimmed.utf8)) else {
            // Exit 0 without an envelope: sent, nothing proven.
            return .sent(noticeID, .command)
        }
        if case .string("unknown")? = o["outcome"] {
            return .notSent(noticeID, .command, .outcome_unknown, outcomeUnknown: true)
        }
        guard o["ok"]?.boolValue ?? true else {
            let reason = o["reason"]?.stringValue.map(DeliveryReason.init) ?? .sender_refused
            return .notSent(noticeID, .command, reason, retryable: o["retryable"]?.boolValue ?? false)
        }
        return .sent(noticeID, .command, acked: o["acked"]?.boolValue ?? false, messageID: o["message_id"]?.stringValue)
    }

    /// Placeholders are replaced inside one argument, which stays one argument: no shell ever sees it.
    static func substitute(_ argument: String, environment: [String: String], handoff: SpoolHandoff) -> String {
        var out = argument
        let values = [
            "{notice_id}": handoff.notice_id, "{target}": environment["RGOV_TARGET"] ?? handoff.target,
            "{idempotency_key}": handoff.key,
            "{mission_id}": handoff.mission_id, "{rule_id}": handoff.rule_id, "{severity}": handoff.severity.rawValue,
            "{title}": handoff.message.title, "{text}": handoff.message.text,
        ]
        for (placeholder, value) in values where out.contains(placeholder) {
            out = out.replacingOccurrences(of: placeholder, with: value)
        }
        return out
    }
}
