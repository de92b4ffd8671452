import Foundation

/// One setting of `spec` in a deployment profile: where it lives, its type and range, its default
/// and the layer that default comes from.
///
/// `ProfileSettings.table` is the one list of them: the decoder reads a profile by walking it, the
/// unknown-key check allows exactly its paths, `rgov validate --explain` prints what it recorded,
/// and a test holds `schemas/profile.schema.json` to the same keys, types and ranges.
public struct ProfileSetting: Sendable {
    public enum Kind: Sendable, Equatable {
        case integer(ClosedRange<Int64>)
        case boolean
        case string
        case choice([String])
        /// A list of strings; with choices, each item must be one of them.
        case strings([String]?)
        /// A mapping read by its own code (thresholds, overrides, the sender binding).
        case structured
    }

    public enum Value: Sendable, Equatable {
        case integer(Int64)
        case boolean(Bool)
        case string(String)
        case strings([String])

        var integer: Int64? { if case .integer(let v) = self { v } else { nil } }
        var boolean: Bool? { if case .boolean(let v) = self { v } else { nil } }
        var string: String? { if case .string(let v) = self { v } else { nil } }
        var strings: [String]? { if case .strings(let v) = self { v } else { nil } }

        var text: String {
            switch self {
            case .integer(let v): return String(v)
            case .boolean(let v): return v ? "true" : "false"
            case .string(let v): return v
            case .strings(let v): return v.isEmpty ? "(none)" : v.joined(separator: ", ")
            }
        }
    }

    /// The path under `spec`, dot-separated.
    public var path: String
    public var kind: Kind
    /// The value when the profile says nothing (nil: unset), given what was read before it.
    let fallback: @Sendable (DeploymentProfile) -> Value?
    /// The layer the fallback comes from.
    public var fallbackLayer: ConfigLayer
    let apply: @Sendable (inout DeploymentProfile, Value) -> Void

    init(
        _ path: String, _ kind: Kind, layer: ConfigLayer = .package,
        default fallback: @escaping @Sendable (DeploymentProfile) -> Value? = { _ in nil },
        apply: @escaping @Sendable (inout DeploymentProfile, Value) -> Void = { _, _ in }
    ) {
        self.path = path
        self.kind = kind
        self.fallback = fallback
        self.fallbackLayer = layer
        self.apply = apply
    }
}

public enum ProfileSettings {
    /// A setting stored at `key`: `unwrap` takes the value apart (the kind guarantees it fits).
    static func bound<T>(
        _ path: String, _ kind: ProfileSetting.Kind, _ fallback: ProfileSetting.Value?,
        _ key: WritableKeyPath<DeploymentProfile, T> & Sendable,
        _ unwrap: @escaping @Sendable (ProfileSetting.Value) -> T?
    ) -> ProfileSetting {
        ProfileSetting(
            path, kind, default: { _ in fallback },
            apply: { profile, value in
                if let v = unwrap(value) { profile[keyPath: key] = v }
            })
    }

    static func integer(
        _ path: String, _ range: ClosedRange<Int64>, _ fallback: Int64,
        _ key: WritableKeyPath<DeploymentProfile, Int64> & Sendable
    ) -> ProfileSetting { bound(path, .integer(range), .integer(fallback), key) { $0.integer } }

    static func optionalInteger(
        _ path: String, _ range: ClosedRange<Int64>, _ key: WritableKeyPath<DeploymentProfile, Int64?> & Sendable
    ) -> ProfileSetting { bound(path, .integer(range), nil, key) { $0.integer } }

    static func boolean(_ path: String, _ fallback: Bool, _ key: WritableKeyPath<DeploymentProfile, Bool> & Sendable)
        -> ProfileSetting
    { bound(path, .boolean, .boolean(fallback), key) { $0.boolean } }

    static func string(_ path: String, _ fallback: String, _ key: WritableKeyPath<DeploymentProfile, String> & Sendable)
        -> ProfileSetting
    { bound(path, .string, .string(fallback), key) { $0.string } }

    static func strings(_ path: String, _ key: WritableKeyPath<DeploymentProfile, [String]> & Sendable)
        -> ProfileSetting
    { bound(path, .strings(nil), .strings([]), key) { $0.strings } }

    /// One of `T`'s cases, by its raw value.
    static func choice<T: RawRepresentable & CaseIterable & Sendable>(
        _ path: String, _ fallback: T, _ key: WritableKeyPath<DeploymentProfile, T> & Sendable
    ) -> ProfileSetting where T.RawValue == String {
        bound(path, .choice(T.allCases.map(\.rawValue)), .string(fallback.rawValue), key) {
            $0.string.flatMap(T.init(rawValue:))
        }
    }

    /// A list of capabilities, each checked against `Capability` first.
    static func capabilities(_ path: String, _ key: WritableKeyPath<DeploymentProfile, [Capability]> & Sendable)
        -> ProfileSetting
    { bound(path, .strings(Capability.names), .strings([]), key) { $0.strings?.compactMap(Capability.init) } }

    /// Every setting of `spec`, in the order they are read (a fallback may depend on what came before).
    public static let table: [ProfileSetting] = [
        string("package.pluginVersion", PackageInfo.version, \.pluginVersion),
        strings("policies.enabled", \.enabledPacks),
        ProfileSetting("policies.thresholds", .structured),
        ProfileSetting("policies.overrides", .structured),
        boolean("adapters.watchdog.enabled", true, \.watchdogEnabled),
        integer("adapters.watchdog.expected_interval_ms", 10_000...86_400_000, 300_000, \.watchdogExpectedIntervalMs),
        boolean("adapters.queue.enabled", true, \.queueEnabled),
        boolean("adapters.dispatcher.enabled", true, \.dispatcherEnabled),
        boolean("adapters.bridge.enabled", true, \.bridgeEnabled),
        integer("adapters.bridge.max_sends_per_tick", 1...1_000_000, 500, \.maxSendsPerTick),
        integer("adapters.bridge.max_attempts", 1...100, 5, \.maxAttempts),
        integer("adapters.bridge.minimal_backoff_ms", 1_000...86_400_000, 60_000, \.minimalBackoffMs),
        integer("adapters.bridge.maximal_backoff_ms", 1_000...604_800_000, 3_600_000, \.maximalBackoffMs),
        integer("adapters.bridge.max_lifetime_ms", 60_000...2_592_000_000, 86_400_000, \.maxLifetimeMs),
        integer("adapters.bridge.max_concurrent_sends", 1...64, 4, \.maxConcurrentSends),
        boolean("adapters.sender.enabled", true, \.sendingEnabled),
        choice("adapters.sender.mode", SenderMode.dryRun, \.senderMode),
        ProfileSetting(
            "adapters.sender.timeout_ms", .integer(100...600_000), layer: .adapter,
            default: { profile in .integer(profile.senderMode.defaultTimeoutMs) },
            apply: { profile, value in
                if case .integer(let v) = value { profile.senderTimeoutMs = v }
            }),
        ProfileSetting("adapters.sender.binding", .structured),
        // A second binding for escalations and delivery alerts while the primary is down.
        bound("adapters.fallback.mode", .choice(SenderMode.allCases.map(\.rawValue)), nil, \.fallbackMode) {
            $0.string.flatMap(SenderMode.init(rawValue:))
        },
        ProfileSetting(
            "adapters.fallback.timeout_ms", .integer(100...600_000), layer: .adapter,
            default: { profile in profile.fallbackMode.map { .integer($0.defaultTimeoutMs) } },
            apply: { profile, value in profile.fallbackTimeoutMs = value.integer }),
        ProfileSetting(
            "adapters.fallback.fallback_after", .integer(1...100),
            default: { profile in profile.fallbackMode != nil ? .integer(3) : nil },
            apply: { profile, value in profile.fallbackAfter = value.integer }),
        ProfileSetting("adapters.fallback.binding", .structured),
        integer("adapters.orchestrator.stage_deadline_ms", 1_000...3_600_000, 600_000, \.stageDeadlineMs),
        boolean("adapters.hook.inline_block", true, \.hookInlineBlock),
        string("notifications.default_target", "operator", \.defaultTarget),
        strings("notifications.targets", \.targets),
        optionalInteger("notifications.repeat_interval_ms", 60_000...2_592_000_000, \.repeatIntervalMs),
        boolean("notifications.notify_resolved", false, \.notifyResolved),
        optionalInteger("notifications.escalation.window_ms", 1_000...604_800_000, \.escalationWindowMs),
        ProfileSetting(
            "notifications.escalation.target", .string,
            default: { profile in profile.escalationWindowMs != nil ? .string("manager") : nil },
            apply: { profile, value in
                if case .string(let v) = value { profile.escalationTarget = v }
            }),
        choice("notifications.quiet.min_severity", Severity.info, \.minSeverity),
        bound("notifications.heartbeat.url", .string, nil, \.heartbeatURL) { $0.string },
        strings("notifications.heartbeat.command", \.heartbeatCommand),
        boolean("notifications.heartbeat.start", false, \.heartbeatStart),
        integer("audit.retention_days", 1...36_500, 90, \.retentionDays),
        boolean("audit.export_required", false, \.exportRequired),
        strings("audit.operators", \.operators),
        strings("audit.readers", \.readers),
        strings("audit.act_as", \.actAs),
        boolean("audit.activation_requires_approval", false, \.activationRequiresApproval),
        bound("audit.metrics_group", .string, nil, \.metricsGroup) { $0.string },
        boolean("metrics.tenant_label", false, \.metricsTenantLabel),
        string("capability_expectations.descriptor", "openclaw-watchdog-reference", \.capabilityDescriptor),
        capabilities("capability_expectations.required", \.requiredCapabilities),
        capabilities("capability_expectations.optional", \.optionalCapabilities),
    ]

    /// The keys a mapping at `prefix` (dot path under `spec`, "" for `spec` itself) may hold.
    static func allowedKeys(under prefix: String) -> [String] {
        var keys: [String] = []
        for setting in table {
            let path = setting.path
            guard prefix.isEmpty || path.hasPrefix(prefix + ".") else { continue }
            let rest = prefix.isEmpty ? path : String(path.dropFirst(prefix.count + 1))
            let key = String(rest.split(separator: ".")[0])
            if !keys.contains(key) { keys.append(key) }
        }
        return keys
    }

    /// Refuses a value outside `choices` (nil: any), naming the closest valid one.
    static func check(_ value: String, among choices: [String]?, _ container: ConfigMap, _ key: String) throws {
        guard let choices, !choices.contains(value) else { return }
        let guess = ConfigMap.closest(to: value, in: choices).map { "; did you mean \"\($0)\"?" } ?? ""
        throw container.error(key, "unknown value \"\(value)\"\(guess) (valid: \(choices.joined(separator: ", ")))")
    }

    /// Reads every setting of `table` from `spec` into `profile`, recording each value's layer.
    ///
    /// Returns the mappings it opened, by path, for the structured settings' own readers.
    static func read(_ spec: ConfigMap, into profile: inout DeploymentProfile, explain: inout [ExplainEntry]) throws
        -> [String: ConfigMap]
    {
        var maps: [String: ConfigMap] = ["": spec]
        func mapping(_ path: String) throws -> ConfigMap? {
            if let known = maps[path] { return known }
            let parts = path.split(separator: ".").map(String.init)
            let parentPath = parts.dropLast().joined(separator: ".")
            guard let parent = try mapping(parentPath) else { return nil }
            let found = try parent.map(parts.last ?? "", allowed: allowedKeys(under: path))
            if let found { maps[path] = found }
            return found
        }
        for setting in table {
            let parts = setting.path.split(separator: ".").map(String.init)
            let key = parts.last ?? ""
            let container = try mapping(parts.dropLast().joined(separator: "."))
            var given: ProfileSetting.Value? = nil
            switch setting.kind {
            case .structured:
                if let container, let node = try container.map(key, allowed: nil) { maps[setting.path] = node }
                continue
            case .integer(let range):
                given = try container?.integer(key, range: range).map(ProfileSetting.Value.integer)
            case .boolean: given = try container?.bool(key).map(ProfileSetting.Value.boolean)
            case .string: given = try container?.string(key).map(ProfileSetting.Value.string)
            case .strings(let choices):
                if let container, let items = try container.strings(key) {
                    for item in items { try check(item, among: choices, container, key) }
                    given = .strings(items)
                }
            case .choice(let choices):
                if let container, let text = try container.string(key) {
                    try check(text, among: choices, container, key)
                    given = .string(text)
                }
            }
            let value = given ?? setting.fallback(profile)
            guard let value else { continue }
            setting.apply(&profile, value)
            explain.append(
                ExplainEntry(
                    path: setting.path, value: value.text, layer: given != nil ? .profile : setting.fallbackLayer))
        }
        return maps
    }
}
