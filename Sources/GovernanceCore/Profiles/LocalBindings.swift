import Foundation

/// The environment-local layer: targets and secrets that belong to one machine, never to the
/// profile in git and never to an artifact.
///
/// Two sources, the environment winning over the file:
/// - `RGOV_BINDING_<KEY>` sets `spec.adapters.sender.binding.<key>` (lowercased), e.g.
///   `RGOV_BINDING_TARGET`, `RGOV_BINDING_TOKEN`; `RGOV_DEFAULT_TARGET` and
///   `RGOV_ESCALATION_TARGET` set the notification targets.
/// - a YAML file, `RGOV_BINDINGS_FILE` or else `STATE/bindings.local.yaml` when present:
///   `sender: {binding: {...}}` and `notifications: {default_target, escalation_target}`.
/// - The fallback binding likewise: `RGOV_FALLBACK_BINDING_<KEY>`, or `fallback: {binding: {...}}`
///   in the file, with the keys of the fallback's mode.
public enum LocalBindings {
    public static func apply(to profile: inout DeploymentProfile, stateDirectory: String, environment: [String: String])
        throws
    {
        let path = environment["RGOV_BINDINGS_FILE"] ?? StateLayout(root: stateDirectory).localBindings
        let allowedBinding = (DeploymentProfile.bindingKeys[profile.senderMode] ?? []) + ["token"]
        let allowedFallback = profile.fallbackMode.map { (DeploymentProfile.bindingKeys[$0] ?? []) + ["token"] } ?? []
        var values: [(path: String, value: BindingValue)] = []
        if Sys.kind(path) == .regular {
            let text = String(decoding: try Sys.readFile(path, limit: 1 << 20), as: UTF8.self)
            try ConfigurationError.reading {
                let root = try ConfigMap(
                    try YAMLReader.parse(text, file: path), file: path, path: "",
                    allowed: ["sender", "notifications"] + (profile.fallbackMode != nil ? ["fallback"] : []))
                if let binding = try root.map("sender", allowed: ["binding"])?.map("binding", allowed: allowedBinding) {
                    for entry in binding.rawEntries {
                        values.append(("binding." + entry.key, try binding.bindingValue(entry)))
                    }
                }
                if let binding = try root.map("fallback", allowed: ["binding"])?.map(
                    "binding", allowed: allowedFallback)
                {
                    for entry in binding.rawEntries {
                        values.append(("fallback." + entry.key, try binding.bindingValue(entry)))
                    }
                }
                let targets = ["default_target", "escalation_target"]
                let notifications = try root.map("notifications", allowed: targets)
                for key in targets {
                    if let target = try notifications?.string(key) { values.append((key, .text(target))) }
                }
            }
        }
        for (name, value) in environment.sorted(by: { $0.key < $1.key }) {
            if name.hasPrefix("RGOV_BINDING_"), name.count > 13 {
                let key = name.dropFirst(13).lowercased()
                guard allowedBinding.contains(key) else {
                    throw ConfigurationError(
                        "\(name): sender mode \(profile.senderMode.rawValue) has no binding key \"\(key)\" (keys: \(allowedBinding.joined(separator: ", ")))"
                    )
                }
                values.append(("binding." + key, .text(value)))
            }
            if name.hasPrefix("RGOV_FALLBACK_BINDING_"), name.count > 22 {
                let key = name.dropFirst(22).lowercased()
                guard profile.fallbackMode != nil, allowedFallback.contains(key) else {
                    throw ConfigurationError(
                        "\(name): "
                            + (profile.fallbackMode.map {
                                "fallback mode \($0.rawValue) has no binding key \"\(key)\" (keys: \(allowedFallback.joined(separator: ", ")))"
                            } ?? "the profile names no spec.adapters.fallback"))
                }
                values.append(("fallback." + key, .text(value)))
            }
            if name == "RGOV_DEFAULT_TARGET" { values.append(("default_target", .text(value))) }
            if name == "RGOV_ESCALATION_TARGET" { values.append(("escalation_target", .text(value))) }
        }
        for (key, value) in values {
            let explainPath: String
            if key.hasPrefix("binding.") {
                let name = String(key.dropFirst(8))
                profile.binding[name] = value
                explainPath = "adapters.sender." + key
            } else if key.hasPrefix("fallback.") {
                profile.fallbackBinding[String(key.dropFirst(9))] = value
                explainPath = "adapters.fallback.binding." + key.dropFirst(9)
            } else if key == "default_target" {
                profile.defaultTarget = value.text ?? profile.defaultTarget
                explainPath = "notifications.default_target"
            } else {
                profile.escalationTarget = value.text ?? profile.escalationTarget
                explainPath = "notifications.escalation.target"
            }
            let shown =
                SenderBinding.isSecret(String(explainPath.split(separator: ".").last ?? ""))
                ? "[redacted]" : DeploymentProfile.describe(value)
            profile.explain.removeAll { $0.path == explainPath }
            profile.explain.append(ExplainEntry(path: explainPath, value: shown, layer: .local))
        }
    }
}
