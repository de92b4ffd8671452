import Foundation

/// Sender modes a profile may choose (DESIGN §5).
public enum SenderMode: String, Codable, Sendable, CaseIterable {
    case dryRun = "dry-run"
    case shim
    case openclawCLI = "openclaw-cli"
    case command
    case webhook

    /// What a binding of this mode can prove; the bridge never claims more.
    public var declaresAck: Bool { self == .shim }
}

/// A deployment profile: the posture one deployment runs under (DESIGN §5).
///
/// Read strictly: every key is known or the profile is refused with file:line.
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
    public var maxSendsPerTick: Int64
    public var defaultTarget: String
    /// A condition still true this long after its last notice gets a reminder; nil: never.
    public var repeatIntervalMs: Int64?
    /// A notice not acked this long after creation is escalated; nil: no escalation.
    public var escalationWindowMs: Int64?
    public var escalationTarget: String?
    /// Send a notice when a condition clears (the episode's `resolved` event is always written).
    public var notifyResolved: Bool
    public var retentionDays: Int64
    public var exportRequired: Bool
    public var capabilityDescriptor: String
    public var requiredCapabilities: [String]
    public var optionalCapabilities: [String]
    /// Where the profile was read from, and the SHA-256 of its bytes.
    public var source: String
    public var sha256: String

    /// `id@version`, as every artifact records it.
    public var reference: String { id + "@" + version }

    public static func parse(_ text: String, file: String) throws -> DeploymentProfile {
        let root = try ConfigMap.document(text, file: file, kind: kind, body: "spec")
        let metadata = try root.map("metadata", allowed: ["id", "version", "runtime", "description"], required: true)!
        let id = try metadata.string("id", required: true)!
        guard Identifier.isValid(id) else { throw metadata.error("id", "must match [A-Za-z0-9][A-Za-z0-9._-]{0,127}") }
        let spec = try root.map(
            "spec",
            allowed: ["package", "policies", "adapters", "notifications", "audit", "capability_expectations"],
            required: true)!
        let package = try spec.map("package", allowed: ["pluginVersion"])
        let policies = try spec.map("policies", allowed: ["enabled", "thresholds", "overrides"])
        let thresholds = try policies?.map("thresholds", allowed: nil)
        let overrides = try policies?.map("overrides", allowed: nil)
        let adapters = try spec.map("adapters", allowed: ["watchdog", "queue", "dispatcher", "bridge", "sender"])
        let watchdog = try adapters?.map("watchdog", allowed: ["enabled", "expected_interval_ms"])
        let queue = try adapters?.map("queue", allowed: ["enabled"])
        let dispatcher = try adapters?.map("dispatcher", allowed: ["enabled"])
        let bridge = try adapters?.map("bridge", allowed: ["enabled", "max_sends_per_tick"])
        let sender = try adapters?.map("sender", allowed: ["enabled", "mode", "timeout_ms"])
        let notifications = try spec.map(
            "notifications", allowed: ["default_target", "repeat_interval_ms", "notify_resolved", "escalation"])
        let escalation = try notifications?.map("escalation", allowed: ["target", "window_ms"])
        let audit = try spec.map("audit", allowed: ["retention_days", "export_required"])
        let expectations = try spec.map("capability_expectations", allowed: ["descriptor", "required", "optional"])

        let modeText = try sender?.string("mode") ?? SenderMode.dryRun.rawValue
        guard let mode = SenderMode(rawValue: modeText) else {
            throw sender!.error(
                "mode",
                "unknown sender mode \"\(modeText)\" (valid: \(SenderMode.allCases.map(\.rawValue).joined(separator: ", ")))"
            )
        }
        let capabilityNames = CapabilityDescriptor.capabilityNames
        let required = try expectations?.strings("required") ?? []
        let optional = try expectations?.strings("optional") ?? []
        for name in required + optional where !capabilityNames.contains(name) {
            let guess = ConfigMap.closest(to: name, in: capabilityNames).map { "; did you mean \"\($0)\"?" } ?? ""
            throw expectations!.error(
                required.contains(name) ? "required" : "optional", "unknown capability \"\(name)\"\(guess)")
        }
        let packs = try policies?.strings("enabled") ?? []
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
        }
        let escalationWindow = try escalation?.integer("window_ms", range: 1_000...604_800_000)
        if escalation != nil && escalationWindow == nil { throw notifications!.error("escalation", "needs window_ms") }
        return DeploymentProfile(
            id: id, version: try metadata.string("version", required: true)!,
            runtime: try metadata.string("runtime") ?? "openclaw",
            description: try metadata.string("description") ?? "",
            pluginVersion: try package?.string("pluginVersion") ?? PackageInfo.version,
            enabledPacks: packs, thresholds: settings, severityOverrides: severityOverrides,
            watchdogEnabled: try watchdog?.bool("enabled") ?? true,
            watchdogExpectedIntervalMs: try watchdog?.integer("expected_interval_ms", range: 10_000...86_400_000)
                ?? 300_000,
            queueEnabled: try queue?.bool("enabled") ?? true,
            dispatcherEnabled: try dispatcher?.bool("enabled") ?? true,
            bridgeEnabled: try bridge?.bool("enabled") ?? true,
            sendingEnabled: try sender?.bool("enabled") ?? true,
            senderMode: mode,
            senderTimeoutMs: try sender?.integer("timeout_ms", range: 100...600_000) ?? 10_000,
            maxSendsPerTick: try bridge?.integer("max_sends_per_tick", range: 1...1_000_000) ?? 500,
            defaultTarget: try notifications?.string("default_target") ?? "operator",
            repeatIntervalMs: try notifications?.integer("repeat_interval_ms", range: 60_000...2_592_000_000),
            escalationWindowMs: escalationWindow,
            escalationTarget: try escalation?.string("target") ?? (escalation != nil ? "manager" : nil),
            notifyResolved: try notifications?.bool("notify_resolved") ?? false,
            retentionDays: try audit?.integer("retention_days", range: 1...36_500) ?? 90,
            exportRequired: try audit?.bool("export_required") ?? false,
            capabilityDescriptor: try expectations?.string("descriptor") ?? "openclaw-watchdog-reference",
            requiredCapabilities: required, optionalCapabilities: optional,
            source: file, sha256: SHA256.hex(of: text))
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

/// The version of this package, recorded in artifacts and manifests.
public enum PackageInfo {
    public static let version = "0.1.0"
}
