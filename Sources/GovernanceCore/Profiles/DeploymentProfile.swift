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
    public var missedCheckpoint: MissedCheckpointRule.Parameters
    public var watchdogEnabled: Bool
    public var queueEnabled: Bool
    public var dispatcherEnabled: Bool
    public var bridgeEnabled: Bool
    public var sendingEnabled: Bool
    public var senderMode: SenderMode
    public var senderTimeoutMs: Int64
    public var maxSendsPerTick: Int64
    public var defaultTarget: String
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
        let root = try ConfigMap(
            try YAMLReader.parse(text, file: file), file: file, path: "",
            allowed: ["apiVersion", "kind", "metadata", "spec"])
        guard try root.string("apiVersion", required: true) == apiVersion else {
            throw root.error("apiVersion", "must be \(apiVersion)")
        }
        guard try root.string("kind", required: true) == kind else { throw root.error("kind", "must be \(kind)") }
        let metadata = try root.map("metadata", allowed: ["id", "version", "runtime", "description"], required: true)!
        let id = try metadata.string("id", required: true)!
        guard Identifier.isValid(id) else { throw metadata.error("id", "must match [A-Za-z0-9][A-Za-z0-9._-]{0,127}") }
        let spec = try root.map(
            "spec",
            allowed: ["package", "policies", "adapters", "notifications", "audit", "capability_expectations"],
            required: true)!
        let package = try spec.map("package", allowed: ["pluginVersion"])
        let policies = try spec.map("policies", allowed: ["enabled", "thresholds"])
        let thresholds = try policies?.map("thresholds", allowed: [MissedCheckpointRule.id])
        let missed = try thresholds?.map(MissedCheckpointRule.id, allowed: ["default_interval_ms", "grace_ms"])
        let adapters = try spec.map("adapters", allowed: ["watchdog", "queue", "dispatcher", "bridge", "sender"])
        let watchdog = try adapters?.map("watchdog", allowed: ["enabled"])
        let queue = try adapters?.map("queue", allowed: ["enabled"])
        let dispatcher = try adapters?.map("dispatcher", allowed: ["enabled"])
        let bridge = try adapters?.map("bridge", allowed: ["enabled", "max_sends_per_tick"])
        let sender = try adapters?.map("sender", allowed: ["enabled", "mode", "timeout_ms"])
        let notifications = try spec.map("notifications", allowed: ["default_target"])
        let audit = try spec.map("audit", allowed: ["retention_days", "export_required"])
        let expectations = try spec.map("capability_expectations", allowed: ["descriptor", "required", "optional"])

        let modeText = try sender?.string("mode") ?? SenderMode.dryRun.rawValue
        guard let mode = SenderMode(rawValue: modeText) else {
            throw sender!.error(
                "mode",
                "unknown sender mode \"\(modeText)\" (valid: \(SenderMode.allCases.map(\.rawValue).joined(separator: ", ")))"
            )
        }
        let defaults = MissedCheckpointRule.Parameters.packageDefaults
        let capabilityNames = CapabilityDescriptor.capabilityNames
        let required = try expectations?.strings("required") ?? []
        let optional = try expectations?.strings("optional") ?? []
        for name in required + optional where !capabilityNames.contains(name) {
            let guess = ConfigMap.closest(to: name, in: capabilityNames).map { "; did you mean \"\($0)\"?" } ?? ""
            throw expectations!.error(
                required.contains(name) ? "required" : "optional", "unknown capability \"\(name)\"\(guess)")
        }
        let packs = try policies?.strings("enabled") ?? [MissedCheckpointRule.pack]
        for pack in packs where !PolicyCatalog.packs.contains(pack) {
            throw policies!.error(
                "enabled", "unknown policy pack \"\(pack)\" (known: \(PolicyCatalog.packs.joined(separator: ", ")))")
        }
        return DeploymentProfile(
            id: id, version: try metadata.string("version", required: true)!,
            runtime: try metadata.string("runtime") ?? "openclaw",
            description: try metadata.string("description") ?? "",
            pluginVersion: try package?.string("pluginVersion") ?? PackageInfo.version,
            enabledPacks: packs,
            missedCheckpoint: .init(
                default_interval_ms: try missed?.integer("default_interval_ms", range: 1_000...86_400_000)
                    ?? defaults.default_interval_ms,
                grace_ms: try missed?.integer("grace_ms", range: 0...86_400_000) ?? defaults.grace_ms),
            watchdogEnabled: try watchdog?.bool("enabled") ?? true,
            queueEnabled: try queue?.bool("enabled") ?? true,
            dispatcherEnabled: try dispatcher?.bool("enabled") ?? true,
            bridgeEnabled: try bridge?.bool("enabled") ?? true,
            sendingEnabled: try sender?.bool("enabled") ?? true,
            senderMode: mode,
            senderTimeoutMs: try sender?.integer("timeout_ms", range: 100...600_000) ?? 10_000,
            maxSendsPerTick: try bridge?.integer("max_sends_per_tick", range: 1...1_000_000) ?? 500,
            defaultTarget: try notifications?.string("default_target") ?? "operator",
            retentionDays: try audit?.integer("retention_days", range: 1...36_500) ?? 90,
            exportRequired: try audit?.bool("export_required") ?? false,
            capabilityDescriptor: try expectations?.string("descriptor") ?? "openclaw-watchdog-reference",
            requiredCapabilities: required, optionalCapabilities: optional,
            source: file, sha256: SHA256.hex(of: text))
    }
}

/// The version of this package, recorded in artifacts and manifests.
public enum PackageInfo {
    public static let version = "0.1.0"
}
