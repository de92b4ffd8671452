import Foundation

/// The sender binding in force: the profile's mode and binding, after the local layer.
///
/// Bindings declare what they can prove (acks) and promise (idempotency keys); the bridge never
/// assumes more than they declare.
public struct SenderBinding: Sendable {
    /// Binding keys whose values are secrets: never written to an artifact, a log or `--explain`.
    public static func isSecret(_ key: String) -> Bool {
        let k = key.lowercased()
        // A webhook URL is a credential too (Slack-style URLs carry their token in the path).
        return ["token", "secret", "password", "api_key", "authorization", "url"].contains(k) || k.hasSuffix("_token")
            || k.hasSuffix("_secret") || k.hasSuffix("_key") || k.hasSuffix("_password") || k.hasPrefix("headers.")
    }

    public let mode: SenderMode
    public let values: [String: BindingValue]

    func text(_ key: String) -> String? { values[key]?.text }
    func flag(_ key: String) -> Bool { ["true", "yes", "1"].contains(text(key)?.lowercased() ?? "") }

    /// What this binding's mode is (`Sending/Bindings/`, one file per mode).
    var kind: any BindingKind {
        switch mode {
        case .dryRun: return DryRunBinding()
        case .shim: return ShimBinding()
        case .webhook: return WebhookBinding()
        case .command: return CommandBinding()
        case .openclawCLI: return OpenClawCLIBinding()
        }
    }

    /// An explicit ok with a message id from this binding may count as delivery proof.
    public var declaresAck: Bool { kind.declaresAck(self) }

    /// The program this binding runs for each send, as written (a name is looked up on `PATH`);
    /// nil for the modes that run rgov's own `rgov-sender`.
    public var program: String? {
        switch mode {
        case .command:
            if case .list(let argv)? = values["command"] { return argv.first }
            return nil
        case .openclawCLI: return text("binary") ?? "openclaw"
        case .dryRun, .shim, .webhook: return nil
        }
    }

    public var supportsIdempotency: Bool { kind.supportsIdempotency(self) }

    /// The notice's fields, as a per-notice program sees them in its environment.
    static func fields(_ handoff: SpoolHandoff, target: String?) -> [String: String] {
        [
            "RGOV_NOTICE_ID": handoff.notice_id, "RGOV_MISSION_ID": handoff.mission_id, "RGOV_RULE_ID": handoff.rule_id,
            "RGOV_SEVERITY": handoff.severity.rawValue, "RGOV_TARGET": target ?? handoff.target,
            "RGOV_IDEMPOTENCY_KEY": handoff.key,
        ]
    }

    /// How the bridge runs one send (or a batch, for a mode that runs through `rgov-sender`).
    public func plan(
        _ handoff: SpoolHandoff, layout: StateLayout, senderExecutable: String, environment: [String: String],
        limits: SendLimits
    ) throws -> ChildSpec {
        var env = environment
        for (k, v) in Self.fields(handoff, target: text("target")) { env[k] = v }
        var spec = try kind.plan(
            handoff, binding: self, layout: layout, senderExecutable: senderExecutable, environment: env,
            limits: limits)
        // `rgov-sender` answers a stop itself (what it never began is not sent); one forwarded while
        // it starts waits for that answer. A per-notice program keeps the default: a stop ends it.
        spec.holdsStopUntilReady = !kind.perNotice
        return spec
    }

    /// Secret values to redact wherever something is written: secret keys and header values.
    public var secretValues: [String] {
        var out: [String] = []
        for (key, value) in values {
            switch value {
            case .text(let v) where Self.isSecret(key): out.append(v)
            case .map(let m):
                out += m.values.map { $0.hasPrefix("env:") ? (Sys.environment(String($0.dropFirst(4))) ?? "") : $0 }
            default: break
            }
        }
        return out.filter { $0.count >= 4 }
    }

    /// The variables named by the `env:NAME` values of the map `key` (`headers`, `environment`)
    /// that `environment` leaves unset or empty, sorted.
    public func unsetReferences(_ key: String, environment: [String: String]) -> [String] {
        guard case .map(let map)? = values[key] else { return [] }
        return map.values.filter { $0.hasPrefix("env:") }.map { String($0.dropFirst(4)) }
            .filter { (environment[$0] ?? "").isEmpty }.sorted()
    }

    /// Refuses a binding that cannot work before any stage acts.
    public func validate(requiresAck: Bool, profile: String) throws {
        try kind.validate(self, profile: profile)
        if requiresAck && !declaresAck && mode != .dryRun {
            throw ConfigurationError(
                "\(profile) requires ack_receipts, but its \(mode.rawValue) binding cannot give an ack "
                    + "(declare it with \(mode == .openclawCLI ? "ack_policy: sender_ok" : "declares_ack: true") only if the channel really confirms delivery)"
            )
        }
    }
}

/// A value of the sender binding: text, a list (an argv template) or a map (headers).
public enum BindingValue: Sendable, Equatable {
    case text(String)
    case list([String])
    case map([String: String])

    public var text: String? { if case .text(let v) = self { v } else { nil } }
}
