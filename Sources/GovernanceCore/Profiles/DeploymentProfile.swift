import Foundation

/// Sender modes a profile may choose (DESIGN §5).
public enum SenderMode: String, Codable, Sendable, CaseIterable {
    case dryRun = "dry-run"
    case shim
    case openclawCLI = "openclaw-cli"
    case command
    case webhook
}

/// Where an effective configuration value came from, lowest first; later layers win.
public enum ConfigLayer: String, Codable, Sendable, Comparable, CaseIterable {
    /// Built into this package.
    case package
    /// The default of the adapter in use (for example the sender mode's timeout).
    case adapter
    /// A policy pack's parameter default.
    case pack
    /// The deployment profile.
    case profile
    /// Environment-local bindings: `RGOV_BINDING_*` variables or the local bindings file.
    case local

    private var rank: Int { Self.allCases.firstIndex(of: self)! }
    public static func < (a: ConfigLayer, b: ConfigLayer) -> Bool { a.rank < b.rank }
}

/// One line of `rgov validate --explain`: a setting, its effective value, and its layer.
public struct ExplainEntry: Codable, Sendable, Equatable {
    public var path: String
    public var value: String
    public var layer: ConfigLayer
}

/// A value of the sender binding: text, a list (an argv template) or a map (headers).
public enum BindingValue: Sendable, Equatable, Codable {
    case text(String)
    case list([String])
    case map([String: String])

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .text(let v): try c.encode(v)
        case .list(let v): try c.encode(v)
        case .map(let v): try c.encode(v)
        }
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let v = try? c.decode(String.self) {
            self = .text(v)
        } else if let v = try? c.decode([String].self) {
            self = .list(v)
        } else {
            self = .map(try c.decode([String: String].self))
        }
    }

    public var text: String? {
        if case .text(let v) = self { return v }
        return nil
    }
}

/// A deployment profile: the posture one deployment runs under (DESIGN §5).
///
/// Read strictly: every key is known or the profile is refused with file:line and the closest
/// valid key. Each effective value remembers its layer, for `rgov validate --explain`.
public struct DeploymentProfile: Sendable, Equatable {
    public static let apiVersion = "reporting-governance/v1alpha1"
    public static let kind = "DeploymentProfile"

    public var id: String
    public var version: String
    public var runtime: String
    public var description: String
    public var pluginVersion: String
    public var enabledPacks: [String]
    /// `spec.policies.thresholds`: per rule, per parameter; checked against the packs on load.
    public var thresholds: [ThresholdSetting]
    /// `spec.policies.overrides`: per rule, a stronger severity.
    public var severityOverrides: [SeverityOverride]
    public var watchdogEnabled: Bool
    /// How often cron is expected to run the watchdog; a longer gap is reported as a late run.
    public var watchdogExpectedIntervalMs: Int64
    public var queueEnabled: Bool
    public var dispatcherEnabled: Bool
    public var bridgeEnabled: Bool
    public var sendingEnabled: Bool
    public var senderMode: SenderMode
    public var senderTimeoutMs: Int64
    /// The sender binding (`spec.adapters.sender.binding`), keys checked per mode.
    public var binding: [String: BindingValue]
    public var maxSendsPerTick: Int64
    /// Retry policy (Postfix's rule: the wait grows with the notice's age, within the bounds).
    public var maxAttempts: Int64
    public var minimalBackoffMs: Int64
    public var maximalBackoffMs: Int64
    public var maxLifetimeMs: Int64
    public var maxConcurrentSends: Int64
    public var stageDeadlineMs: Int64
    /// `spec.adapters.hook.inline_block`: refuse unbacked completions where the runtime can.
    public var hookInlineBlock: Bool
    public var defaultTarget: String
    /// Named targets this deployment may notify; empty: any.
    public var targets: [String]
    /// Notices below this severity are recorded `prepared`, never queued (quiet behaviour).
    public var minSeverity: Severity
    /// A condition still true this long after its last notice gets a reminder; nil: never.
    public var repeatIntervalMs: Int64?
    /// A notice not acked this long after creation is escalated; nil: no escalation.
    public var escalationWindowMs: Int64?
    public var escalationTarget: String?
    /// Send a notice when a condition clears (the episode's `resolved` event is always written).
    public var notifyResolved: Bool
    public var retentionDays: Int64
    public var exportRequired: Bool
    /// Who may ack, approve, reject, fail, replay, hold, release and requeue: Unix user names or
    /// `group:NAME`. Empty: anyone who can run rgov on this state.
    public var operators: [String]
    public var capabilityDescriptor: String
    public var requiredCapabilities: [String]
    public var optionalCapabilities: [String]
    /// Where the profile was read from, and the SHA-256 of its bytes.
    public var source: String
    public var sha256: String
    /// The effective settings with their layers (secrets already redacted).
    public var explain: [ExplainEntry]
    /// The profile's bytes as read, for the snapshot stored once per content hash.
    public var text: String

    /// `id@version`, as every artifact records it.
    public var reference: String { id + "@" + version }

    /// Binding keys each sender mode understands; anything else in a profile is an error.
    public static let bindingKeys: [SenderMode: [String]] = [
        .dryRun: ["target"],
        .shim: ["target", "outbox"],
        .openclawCLI: ["binary", "channel", "target", "ack_policy"],
        .command: ["command", "target", "supports_idempotency", "declares_ack"],
        .webhook: ["url", "headers", "target", "supports_idempotency"],
    ]

    /// Binding keys whose values are secrets: never written to an artifact, a log or `--explain`.
    public static func isSecret(_ key: String) -> Bool {
        let k = key.lowercased()
        return ["token", "secret", "password", "api_key", "authorization"].contains(k) || k.hasSuffix("_token")
            || k.hasSuffix("_secret") || k.hasSuffix("_key") || k.hasSuffix("_password") || k.hasPrefix("headers.")
    }

    /// Collects each value with its layer while the profile is read.
    private final class Recorder {
        var entries: [ExplainEntry] = []

        func note<T>(_ path: String, _ value: T?, given: Bool, fallback: ConfigLayer = .package) -> T? {
            if let value {
                entries.append(ExplainEntry(path: path, value: "\(value)", layer: given ? .profile : fallback))
            }
            return value
        }
    }

    public static func parse(_ text: String, file: String) throws -> DeploymentProfile {
        let root = try ConfigMap.document(text, file: file, kind: kind, body: "spec")
        let metadata = try root.map("metadata", allowed: ["id", "version", "runtime", "description"], required: true)!
        let id = try metadata.string("id", required: true)!
        guard Identifier.isValid(id) else { throw metadata.error("id", "must match [A-Za-z0-9][A-Za-z0-9._-]{0,127}") }
        let spec = try root.map(
            "spec", allowed: ["package", "policies", "adapters", "notifications", "audit", "capability_expectations"],
            required: true)!
        let package = try spec.map("package", allowed: ["pluginVersion"])
        let policies = try spec.map("policies", allowed: ["enabled", "thresholds", "overrides"])
        let thresholds = try policies?.map("thresholds", allowed: nil)
        let overrides = try policies?.map("overrides", allowed: nil)
        let adapters = try spec.map(
            "adapters", allowed: ["watchdog", "queue", "dispatcher", "bridge", "sender", "orchestrator", "hook"])
        let watchdog = try adapters?.map("watchdog", allowed: ["enabled", "expected_interval_ms"])
        let queue = try adapters?.map("queue", allowed: ["enabled"])
        let dispatcher = try adapters?.map("dispatcher", allowed: ["enabled"])
        let bridge = try adapters?.map(
            "bridge",
            allowed: [
                "enabled", "max_sends_per_tick", "max_attempts", "minimal_backoff_ms", "maximal_backoff_ms",
                "max_lifetime_ms",
                "max_concurrent_sends",
            ])
        let sender = try adapters?.map("sender", allowed: ["enabled", "mode", "timeout_ms", "binding"])
        let orchestrator = try adapters?.map("orchestrator", allowed: ["stage_deadline_ms"])
        let hook = try adapters?.map("hook", allowed: ["inline_block"])
        let notifications = try spec.map(
            "notifications",
            allowed: ["default_target", "targets", "repeat_interval_ms", "notify_resolved", "escalation", "quiet"])
        let escalation = try notifications?.map("escalation", allowed: ["target", "window_ms"])
        let quiet = try notifications?.map("quiet", allowed: ["min_severity"])
        let audit = try spec.map("audit", allowed: ["retention_days", "export_required", "operators"])
        let expectations = try spec.map("capability_expectations", allowed: ["descriptor", "required", "optional"])
        let r = Recorder()

        let modeText = try sender?.string("mode") ?? SenderMode.dryRun.rawValue
        guard let mode = SenderMode(rawValue: modeText) else {
            let modes = SenderMode.allCases.map(\.rawValue)
            let guess = ConfigMap.closest(to: modeText, in: modes).map { "; did you mean \"\($0)\"?" } ?? ""
            throw sender!.error(
                "mode", "unknown sender mode \"\(modeText)\"\(guess) (valid: \(modes.joined(separator: ", ")))")
        }
        _ = r.note("adapters.sender.mode", mode.rawValue, given: sender?.node("mode") != nil)
        let bindingMap = try sender?.map("binding", allowed: bindingKeys[mode]!)
        var binding: [String: BindingValue] = [:]
        for entry in bindingMap?.rawEntries ?? [] {
            let value: BindingValue
            switch entry.value {
            case .scalar(let s): value = .text(s.text)
            case .sequence:
                guard let list = try bindingMap!.strings(entry.key) else { continue }
                value = .list(list)
            case .mapping:
                let sub = try bindingMap!.map(entry.key, allowed: nil)!
                var map: [String: String] = [:]
                for e in sub.rawEntries { map[e.key] = try sub.string(e.key, required: true)! }
                value = .map(map)
            }
            binding[entry.key] = value
            r.entries.append(
                ExplainEntry(
                    path: "adapters.sender.binding." + entry.key,
                    value: isSecret(entry.key) ? "[redacted]" : describe(value), layer: .profile))
        }

        func bool(_ map: ConfigMap?, _ key: String, _ path: String, _ fallback: Bool) throws -> Bool {
            r.note(path, try map?.bool(key), given: true) ?? r.note(path, fallback, given: false)!
        }
        func integer(
            _ map: ConfigMap?, _ key: String, _ path: String, _ range: ClosedRange<Int64>, _ fallback: Int64?,
            layer: ConfigLayer = .package
        ) throws -> Int64? {
            if let v = try map?.integer(key, range: range) { return r.note(path, v, given: true) }
            return r.note(path, fallback, given: false, fallback: layer)
        }
        func string(_ map: ConfigMap?, _ key: String, _ path: String, _ fallback: String?) throws -> String? {
            if let v = try map?.string(key) { return r.note(path, v, given: true) }
            return r.note(path, fallback, given: false)
        }

        let required = try expectations?.strings("required") ?? []
        let optional = try expectations?.strings("optional") ?? []
        for name in required + optional where !CapabilityDescriptor.capabilityNames.contains(name) {
            let guess =
                ConfigMap.closest(to: name, in: CapabilityDescriptor.capabilityNames).map {
                    "; did you mean \"\($0)\"?"
                } ?? ""
            throw expectations!.error(
                required.contains(name) ? "required" : "optional", "unknown capability \"\(name)\"\(guess)")
        }
        var settings: [ThresholdSetting] = []
        for rule in thresholds?.rawEntries ?? [] {
            let params = try ConfigMap(rule.value, file: file, path: thresholds!.child(rule.key), allowed: nil)
            for entry in params.rawEntries {
                settings.append(
                    ThresholdSetting(
                        rule: rule.key, parameter: entry.key, node: entry.value, file: file, line: entry.line))
            }
        }
        var severityOverrides: [SeverityOverride] = []
        for rule in overrides?.rawEntries ?? [] {
            let map = try ConfigMap(rule.value, file: file, path: overrides!.child(rule.key), allowed: ["severity"])
            guard let text = try map.string("severity", required: true), let severity = Severity(rawValue: text) else {
                throw map.error(
                    "severity", "must be one of \(Severity.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            severityOverrides.append(
                SeverityOverride(rule: rule.key, severity: severity, file: file, line: map.lineOf("severity")))
            r.entries.append(
                ExplainEntry(path: "policies.overrides.\(rule.key).severity", value: text, layer: .profile))
        }
        let escalationWindow = try integer(
            escalation, "window_ms", "notifications.escalation.window_ms", 1_000...604_800_000, nil)
        if escalation != nil && escalationWindow == nil { throw notifications!.error("escalation", "needs window_ms") }
        let minSeverityText = try string(
            quiet, "min_severity", "notifications.quiet.min_severity", Severity.info.rawValue)!
        guard let minSeverity = Severity(rawValue: minSeverityText) else {
            throw quiet!.error(
                "min_severity", "must be one of \(Severity.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let targets = try notifications?.strings("targets") ?? []
        let defaultTarget = try string(notifications, "default_target", "notifications.default_target", "operator")!
        let escalationTarget = try string(
            escalation, "target", "notifications.escalation.target", escalation != nil ? "manager" : nil)
        for (key, target) in [("default_target", defaultTarget), ("escalation", escalationTarget ?? defaultTarget)]
        where !targets.isEmpty && !targets.contains(target) {
            throw notifications!.error(
                key, "target \"\(target)\" is not among the declared targets (\(targets.joined(separator: ", ")))")
        }
        let packs = try policies?.strings("enabled") ?? []
        r.entries.append(
            ExplainEntry(
                path: "policies.enabled", value: packs.joined(separator: ", "),
                layer: policies?.node("enabled") != nil ? .profile : .package))
        return DeploymentProfile(
            id: id, version: try metadata.string("version", required: true)!,
            runtime: try metadata.string("runtime") ?? "openclaw",
            description: try metadata.string("description") ?? "",
            pluginVersion: try string(package, "pluginVersion", "package.pluginVersion", PackageInfo.version)!,
            enabledPacks: packs, thresholds: settings, severityOverrides: severityOverrides,
            watchdogEnabled: try bool(watchdog, "enabled", "adapters.watchdog.enabled", true),
            watchdogExpectedIntervalMs: try integer(
                watchdog, "expected_interval_ms", "adapters.watchdog.expected_interval_ms", 10_000...86_400_000, 300_000
            )!,
            queueEnabled: try bool(queue, "enabled", "adapters.queue.enabled", true),
            dispatcherEnabled: try bool(dispatcher, "enabled", "adapters.dispatcher.enabled", true),
            bridgeEnabled: try bool(bridge, "enabled", "adapters.bridge.enabled", true),
            sendingEnabled: try bool(sender, "enabled", "adapters.sender.enabled", true),
            senderMode: mode,
            senderTimeoutMs: try integer(
                sender, "timeout_ms", "adapters.sender.timeout_ms", 100...600_000, mode.defaultTimeoutMs,
                layer: .adapter)!,
            binding: binding,
            maxSendsPerTick: try integer(
                bridge, "max_sends_per_tick", "adapters.bridge.max_sends_per_tick", 1...1_000_000, 500)!,
            maxAttempts: try integer(bridge, "max_attempts", "adapters.bridge.max_attempts", 1...100, 5)!,
            minimalBackoffMs: try integer(
                bridge, "minimal_backoff_ms", "adapters.bridge.minimal_backoff_ms", 1_000...86_400_000, 60_000)!,
            maximalBackoffMs: try integer(
                bridge, "maximal_backoff_ms", "adapters.bridge.maximal_backoff_ms", 1_000...604_800_000, 3_600_000)!,
            maxLifetimeMs: try integer(
                bridge, "max_lifetime_ms", "adapters.bridge.max_lifetime_ms", 60_000...2_592_000_000, 86_400_000)!,
            maxConcurrentSends: try integer(
                bridge, "max_concurrent_sends", "adapters.bridge.max_concurrent_sends", 1...64, 4)!,
            stageDeadlineMs: try integer(
                orchestrator, "stage_deadline_ms", "adapters.orchestrator.stage_deadline_ms", 1_000...3_600_000, 600_000
            )!,
            hookInlineBlock: try bool(hook, "inline_block", "adapters.hook.inline_block", true),
            defaultTarget: defaultTarget, targets: targets, minSeverity: minSeverity,
            repeatIntervalMs: try integer(
                notifications, "repeat_interval_ms", "notifications.repeat_interval_ms", 60_000...2_592_000_000, nil),
            escalationWindowMs: escalationWindow, escalationTarget: escalationTarget,
            notifyResolved: try bool(notifications, "notify_resolved", "notifications.notify_resolved", false),
            retentionDays: try integer(audit, "retention_days", "audit.retention_days", 1...36_500, 90)!,
            exportRequired: try bool(audit, "export_required", "audit.export_required", false),
            operators: try audit?.strings("operators") ?? [],
            capabilityDescriptor: try string(
                expectations, "descriptor", "capability_expectations.descriptor", "openclaw-watchdog-reference")!,
            requiredCapabilities: required, optionalCapabilities: optional,
            source: file, sha256: SHA256.hex(of: text), explain: r.entries, text: text)
    }

    static func describe(_ value: BindingValue) -> String {
        switch value {
        case .text(let v): return v
        case .list(let v): return "[" + v.joined(separator: ", ") + "]"
        case .map(let v): return "{" + v.keys.sorted().map { "\($0): [redacted]" }.joined(separator: ", ") + "}"
        }
    }
}

extension SenderMode {
    /// The adapter default for `timeout_ms`: local modes answer at once, network modes get longer.
    public var defaultTimeoutMs: Int64 {
        switch self {
        case .dryRun, .shim: return 5_000
        case .command, .openclawCLI: return 30_000
        case .webhook: return 15_000
        }
    }
}

/// One `spec.policies.thresholds.<rule>.<parameter>` entry, kept with its line for errors.
public struct ThresholdSetting: Sendable, Equatable {
    public var rule: String
    public var parameter: String
    public var node: YAMLNode
    public var file: String
    public var line: Int

    /// The YAML value as a parameter value of the kind `spec` expects.
    func value(for spec: ParameterSpec) -> ParameterValue? {
        switch (spec.kind, node) {
        case (.integer, .scalar(let s)):
            if !s.quoted, let v = YAMLScalar.integer(s.text) { return .integer(v) }
        case (.choice, .scalar(let s)):
            if case .string(let v) = s.resolved { return .choice(v) }
        case (.flag, .scalar(let s)):
            if case .bool(let v) = s.resolved { return .flag(v) }
        case (.list, .sequence(let items, _)):
            let texts = items.compactMap { item -> String? in
                if case .scalar(let s) = item, case .string(let v) = s.resolved { return v }
                return nil
            }
            if texts.count == items.count { return .list(texts) }
        default: break
        }
        return nil
    }
}

/// One `spec.policies.overrides.<rule>.severity` entry.
public struct SeverityOverride: Sendable, Equatable {
    public var rule: String
    public var severity: Severity
    public var file: String
    public var line: Int
}
