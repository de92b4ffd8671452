import Foundation

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

    private var rank: Int { Self.allCases.firstIndex(of: self) ?? 0 }
    public static func < (a: ConfigLayer, b: ConfigLayer) -> Bool { a.rank < b.rank }
}

/// One line of `rgov validate --explain`: a setting, its effective value, and its layer.
public struct ExplainEntry: Codable, Sendable, Equatable {
    public var path: String
    public var value: String
    public var layer: ConfigLayer
}

/// A deployment profile: the posture one deployment runs under (DESIGN §5).
///
/// Read strictly: every key is known or the profile is refused with file:line and the closest
/// valid key. Each effective value remembers its layer, for `rgov validate --explain`.
public struct DeploymentProfile: Sendable, Equatable {
    public static let apiVersion = ConfigMap.apiVersion
    public static let kind = "DeploymentProfile"

    public var id: String = ""
    public var version: String = ""
    public var runtime: String = "openclaw"
    public var description: String = ""
    public var pluginVersion: String = ""
    public var enabledPacks: [String] = []
    /// `spec.policies.thresholds`: per rule, per parameter; checked against the packs on load.
    public var thresholds: [ThresholdSetting] = []
    /// `spec.policies.overrides`: per rule, a stronger severity.
    public var severityOverrides: [SeverityOverride] = []
    public var watchdogEnabled = false
    /// How often cron is expected to run the watchdog; a longer gap is reported as a late run.
    public var watchdogExpectedIntervalMs: Int64 = 0
    public var queueEnabled = false
    public var dispatcherEnabled = false
    public var bridgeEnabled = false
    public var sendingEnabled = false
    public var senderMode = SenderMode.dryRun
    public var senderTimeoutMs: Int64 = 0
    /// The sender binding (`spec.adapters.sender.binding`), keys checked per mode.
    public var binding: [String: BindingValue] = [:]
    /// `spec.adapters.fallback`: the second binding that carries escalations, `delivery_unknown`
    /// alerts and the `provider/outage` notice while the primary is down; nil: none.
    public var fallbackMode: SenderMode? = nil
    public var fallbackTimeoutMs: Int64? = nil
    /// Consecutive failed primary sends that open an outage (an unavailable primary opens one at once).
    public var fallbackAfter: Int64? = nil
    /// `spec.adapters.fallback.binding`, keys checked per the fallback's mode.
    public var fallbackBinding: [String: BindingValue] = [:]
    /// The line of `spec.adapters.fallback.mode` in `source`, for a refusal of the fallback.
    public var fallbackLine: Int? = nil
    public var maxSendsPerTick: Int64 = 0
    /// The backoff, attempts and lifetime of a failed send, as one policy (Postfix's rule: the
    /// wait grows with the notice's age, within the bounds).
    public var retryPolicy: RetryPolicy {
        RetryPolicy(
            minimalBackoffMs: minimalBackoffMs, maximalBackoffMs: maximalBackoffMs, maxAttempts: maxAttempts,
            maxLifetimeMs: maxLifetimeMs)
    }
    public var maxAttempts: Int64 = 0
    public var minimalBackoffMs: Int64 = 0
    public var maximalBackoffMs: Int64 = 0
    public var maxLifetimeMs: Int64 = 0
    public var maxConcurrentSends: Int64 = 0
    public var stageDeadlineMs: Int64 = 0
    /// `spec.adapters.hook.inline_block`: refuse unbacked completions where the runtime can.
    public var hookInlineBlock = false
    public var defaultTarget = ""
    /// Named targets this deployment may notify; empty: any.
    public var targets: [String] = []
    /// Notices below this severity are recorded `prepared`, never queued (quiet behaviour).
    public var minSeverity = Severity.info
    /// A condition still true this long after its last notice gets a reminder; nil: never.
    public var repeatIntervalMs: Int64? = nil
    /// A notice not acked this long after creation is escalated; nil: no escalation.
    public var escalationWindowMs: Int64? = nil
    public var escalationTarget: String? = nil
    /// Send a notice when a condition clears (the episode's `resolved` event is always written).
    public var notifyResolved = false
    /// `notifications.heartbeat.url`, pinged after every tick (Healthchecks.io's convention).
    ///
    /// `/fail` when the tick failed, `/start` before it with `start`; `env:NAME` takes it from the
    /// environment. A secret: redacted from what is stored.
    public var heartbeatURL: String? = nil
    /// `notifications.heartbeat.command`: run after every tick instead of a URL (argv, no shell).
    public var heartbeatCommand: [String] = []
    public var heartbeatStart = false
    public var retentionDays: Int64 = 0
    public var exportRequired = false
    /// Who may ack, approve, reject, fail, replay, hold, release and requeue: Unix user names or
    /// `group:NAME`.
    ///
    /// Empty: anyone who can run rgov on this state.
    public var operators: [String] = []
    /// Who may read the state's evidence besides the operators: Unix user names or `group:NAME`.
    ///
    /// Reading is `show`, `ls`, `status --json` and `export`. Empty: the operators alone.
    public var readers: [String] = []
    /// Operating-system users who may give another name with `--by` (an on-call bot acting for a
    /// person).
    ///
    /// Without a grant, `--by` must be the real user when the profile names operators.
    public var actAs: [String] = []
    /// Putting this profile in force (or rolling back from it) waits for a second operator.
    public var activationRequiresApproval = false
    /// The group that may read `STATE/metrics/rgov.prom` (node_exporter's), or nil: the owner alone
    /// (`MetricsAccess`).
    public var metricsGroup: String? = nil
    /// Mission metrics (`rgov_missions`, `rgov_missions_finished_total`) carry a `tenant` label:
    /// the snapshot's `tenant_id`, empty for a mission without one (`spec.metrics.tenant_label`).
    public var metricsTenantLabel = false
    public var capabilityDescriptor = ""
    public var requiredCapabilities: [Capability] = []
    public var optionalCapabilities: [Capability] = []
    /// Where the profile was read from, and the SHA-256 of its bytes.
    public var source = ""
    public var sha256 = ""
    /// The effective settings with their layers (secrets already redacted).
    public var explain: [ExplainEntry] = []
    /// The profile's bytes as read, secret values redacted: the snapshot stored once per content
    /// hash, and what `sha256` identifies.
    public var text = ""
    /// The profile's bytes as read, secrets included: what the state keeps privately to run it.
    public var originalText = ""

    /// `id@version`, as every artifact records it.
    public var reference: String { id + "@" + version }

    /// Binding keys each sender mode understands; anything else in a profile is an error.
    public static let bindingKeys: [SenderMode: [String]] = [
        .dryRun: ["target"],
        .shim: ["target", "outbox"],
        .openclawCLI: ["binary", "channel", "target", "ack_policy"],
        .command: ["command", "environment", "target", "supports_idempotency", "declares_ack"],
        .webhook: ["url", "headers", "target", "supports_idempotency"],
    ]

    /// Placeholders only: `parse` sets every setting from `ProfileSettings.table`.
    init() {}

    public static func parse(_ text: String, file: String) throws -> DeploymentProfile {
        let root = try ConfigMap.document(text, file: file, kind: kind, body: "spec")
        let metadata = try root.requiredMap("metadata", allowed: ["id", "version", "runtime", "description"])
        var profile = DeploymentProfile()
        profile.id = try metadata.requiredString("id")
        guard Identifier.isValid(profile.id) else {
            throw metadata.error("id", "must match [A-Za-z0-9][A-Za-z0-9._-]{0,127}")
        }
        profile.version = try metadata.requiredString("version")
        profile.runtime = try metadata.string("runtime") ?? "openclaw"
        profile.description = try metadata.string("description") ?? ""
        profile.source = file
        profile.text = text
        profile.originalText = text
        profile.sha256 = SHA256.hex(of: text)
        let spec = try root.requiredMap("spec", allowed: ProfileSettings.allowedKeys(under: ""))
        var explain: [ExplainEntry] = []
        let maps = try ProfileSettings.read(spec, into: &profile, explain: &explain)
        if let refusal = PackageInfo.pluginVersions.refusal(profile.pluginVersion) {
            throw maps["package"]?.error("pluginVersion", refusal) ?? ConfigurationError(refusal, file: file)
        }
        try profile.checkTargets(maps)
        try profile.readPolicies(maps, file: file, explain: &explain)
        var secretLines = try profile.readBinding(maps, file: file, explain: &explain)
        secretLines.formUnion(try profile.readFallback(maps, file: file, explain: &explain))
        if let line = try profile.checkHeartbeat(maps) { secretLines.insert(line) }
        for i in explain.indices where explain[i].path == "notifications.heartbeat.url" {
            if !explain[i].value.hasPrefix("env:") { explain[i].value = "[redacted]" }
        }
        profile.explain = explain
        if !secretLines.isEmpty {
            // What is stored (snapshots, bundles) never holds a secret: the profile's identity is
            // its text with secret values redacted, which the local layer supplies again at run time.
            profile.text = redacting(text, lines: secretLines)
            profile.sha256 = SHA256.hex(of: profile.text)
        }
        return profile
    }

    /// A heartbeat is a URL (http or https, or `env:NAME`) or a command, not both: the line of a
    /// URL given as it is, to redact.
    private func checkHeartbeat(_ maps: [String: ConfigMap]) throws -> Int? {
        guard let heartbeat = maps["notifications.heartbeat"] else { return nil }
        if heartbeatURL != nil, !heartbeatCommand.isEmpty {
            throw heartbeat.error("command", "give url or command, not both")
        }
        let hasCommand = heartbeat.rawEntries.contains { $0.key == "command" }
        if heartbeatURL == nil, !hasCommand {
            throw heartbeat.error("url", "is required when notifications.heartbeat is given (or command)")
        }
        if hasCommand, heartbeatCommand.isEmpty {
            throw heartbeat.error("command", "must name a program (a list of at least one string)")
        }
        guard let url = heartbeatURL else { return nil }
        if url.hasPrefix("env:") { return nil }
        guard let parsed = URL(string: url), ["http", "https"].contains(parsed.scheme ?? ""), parsed.host != nil,
            !url.contains(where: { $0.isWhitespace || $0 == "\"" || $0 == "\\" })
        else {
            throw heartbeat.error("url", "must be an http:// or https:// URL (or env:NAME)")
        }
        return heartbeat.lineOf("url")
    }

    /// An escalation has its window; the default and escalation targets are among those declared.
    private func checkTargets(_ maps: [String: ConfigMap]) throws {
        if let escalation = maps["notifications.escalation"], escalationWindowMs == nil {
            throw escalation.error("window_ms", "is required when notifications.escalation is given")
        }
        if !targets.isEmpty, let notifications = maps["notifications"] {
            for (key, target) in [
                ("default_target", defaultTarget),
                ("escalation", escalationTarget ?? defaultTarget),
            ] where !targets.contains(target) {
                throw notifications.error(
                    key,
                    "target \"\(target)\" is not among the declared targets (\(targets.joined(separator: ", ")))"
                )
            }
        }
    }

    /// `policies.thresholds` (each rule's parameters, judged once the rules are known) and
    /// `policies.overrides` (each rule's severity).
    private mutating func readPolicies(_ maps: [String: ConfigMap], file: String, explain: inout [ExplainEntry]) throws
    {
        if let thresholds = maps["policies.thresholds"] {
            for rule in thresholds.rawEntries {
                let params = try ConfigMap(rule.value, file: file, path: thresholds.child(rule.key), allowed: nil)
                for entry in params.rawEntries {
                    self.thresholds.append(
                        ThresholdSetting(
                            rule: rule.key, parameter: entry.key, node: entry.value, file: file, line: entry.line))
                }
            }
        }
        if let overrides = maps["policies.overrides"] {
            for rule in overrides.rawEntries {
                let map = try ConfigMap(rule.value, file: file, path: overrides.child(rule.key), allowed: ["severity"])
                let severity = try map.requiredCase("severity", Severity.self)
                severityOverrides.append(
                    SeverityOverride(rule: rule.key, severity: severity, file: file, line: map.lineOf("severity")))
                explain.append(
                    ExplainEntry(
                        path: "policies.overrides.\(rule.key).severity", value: severity.rawValue, layer: .profile))
            }
        }
    }

    /// `adapters.sender.binding`, with the keys its sender mode understands: the lines that hold a
    /// secret value (not an `env:NAME` reference), to redact from what is stored.
    private mutating func readBinding(
        _ maps: [String: ConfigMap], file: String, explain: inout [ExplainEntry]
    ) throws -> Set<Int> {
        guard let bindingNode = maps["adapters.sender.binding"] else { return [] }
        return try Self.readBinding(
            bindingNode, mode: senderMode, file: file, into: &binding, explainPath: "adapters.sender.binding",
            explain: &explain)
    }

    /// `adapters.fallback`: its mode is required when it is given, and its binding is read as the
    /// sender's is, with the keys of its own mode.
    private mutating func readFallback(
        _ maps: [String: ConfigMap], file: String, explain: inout [ExplainEntry]
    ) throws -> Set<Int> {
        guard let fallback = maps["adapters.fallback"] else { return [] }
        guard let mode = fallbackMode else {
            throw fallback.error("mode", "is required when adapters.fallback is given")
        }
        fallbackLine = fallback.lineOf("mode")
        guard let bindingNode = maps["adapters.fallback.binding"] else { return [] }
        return try Self.readBinding(
            bindingNode, mode: mode, file: file, into: &fallbackBinding, explainPath: "adapters.fallback.binding",
            explain: &explain)
    }

    /// The binding at `bindingNode`, with the keys `mode` understands, into `values`: the lines
    /// that hold a secret value.
    private static func readBinding(
        _ bindingNode: ConfigMap, mode: SenderMode, file: String, into values: inout [String: BindingValue],
        explainPath: String, explain: inout [ExplainEntry]
    ) throws -> Set<Int> {
        var secretLines: Set<Int> = []
        let binding = try ConfigMap(
            .mapping(bindingNode.rawEntries, line: bindingNode.line), file: file, path: bindingNode.path,
            allowed: Self.bindingKeys[mode] ?? [])
        for entry in binding.rawEntries {
            let value = try binding.bindingValue(entry)
            if case .map(let map) = value, case .mapping(let entries, _) = entry.value {
                // Header and environment values are secrets; an `env:NAME` reference is not,
                // and must survive.
                for e in entries where !(map[e.key] ?? "").hasPrefix("env:") { secretLines.insert(e.line) }
            }
            if SenderBinding.isSecret(entry.key), !(value.text ?? "").hasPrefix("env:") {
                secretLines.insert(entry.line)
            }
            values[entry.key] = value
            explain.append(
                ExplainEntry(
                    path: explainPath + "." + entry.key,
                    value: SenderBinding.isSecret(entry.key) ? "[redacted]" : Self.describe(value), layer: .profile))
        }
        return secretLines
    }

    /// `text` with the value on each of `lines` (1-based) replaced by `"[redacted]"`.
    static func redacting(_ text: String, lines: Set<Int>) -> String {
        var out = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        for number in lines where number >= 1 && number <= out.count {
            let line = out[number - 1]
            guard let colon = line.firstIndex(of: ":") else { continue }
            out[number - 1] = String(line[...colon]) + " \"[redacted]\""
        }
        return out.joined(separator: "\n")
    }

    static func describe(_ value: BindingValue) -> String {
        switch value {
        case .text(let v): return v
        case .list(let v): return "[" + v.joined(separator: ", ") + "]"
        case .map(let v): return "{" + v.keys.sorted().map { "\($0): [redacted]" }.joined(separator: ", ") + "}"
        }
    }
}

extension ConfigMap {
    /// The sender binding value of `entry`: its text, its list of strings, or its map of strings.
    func bindingValue(_ entry: YAMLEntry) throws -> BindingValue {
        switch entry.value {
        case .scalar(let s): return .text(s.text)
        case .sequence: return .list(try strings(entry.key) ?? [])
        case .mapping:
            let sub = try requiredMap(entry.key, allowed: nil)
            return .map(
                try Dictionary(uniqueKeysWithValues: sub.rawEntries.map { ($0.key, try sub.requiredString($0.key)) }))
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
