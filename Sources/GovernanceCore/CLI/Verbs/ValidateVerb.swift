import Foundation

extension Verb {
    static let validate = Verb(
        CommandSpec(
            "rgov validate",
            summary: "check a profile and a capability descriptor together; with --state, record the check there",
            discussion: """
                Runs the checks every stage runs first: profile schema, policy references and ranges, capability
                compatibility, sender mode, and whether the state folder is writable (or could be created).
                With --state naming a state (a folder with an active profile), the check is recorded there as a
                lifecycle record (who, when, the profile's sha256, ok or refused) that rgov history lists; it writes
                nothing else. With --package, checks package-manifest.json against the shipped files instead.
                """,
            options: [
                OptionSpec("explain", "print every effective setting and rule parameter with the layer it came from"),
                OptionSpec("package", "check package-manifest.json against the shipped files"),
                OptionSpec("update", "with --package: rewrite package-manifest.json"),
            ],
            shared: SharedOption.deployment,
            exits: [
                (.dataError, "package manifest mismatch"), (.cannotCreate, "state folder unusable"),
                (.configuration, "refused"),
            ],
            example: "rgov validate --profile strict-manager-mode --explain")
    ) { options in
        if options.has("package") {
            let root = try PackageRoot.locate()
            if options.has("update") {
                try DurableFile.write(
                    try CanonicalJSON.encodeFile(try PackageManifest.build(root: root)),
                    to: PackageLayout(root: root).manifest)
                Sys.writeStandardOutput("wrote \(PackageLayout(root: root).manifest)\n")
                return 0
            }
            let problems = try PackageManifest.verify(root: root)
            struct Check: Codable {
                var ok: Bool
                var problems: [String]
            }
            let text =
                problems.isEmpty
                ? "package-manifest.json matches the shipped files"
                : problems.map { "MISMATCH " + $0 }.joined(separator: "\n")
            Sys.writeStandardOutput(
                (options.json ? CanonicalJSON.line(Check(ok: problems.isEmpty, problems: problems)) : text) + "\n")
            return problems.isEmpty ? 0 : ExitCode.dataError.rawValue
        }
        let recording = options.value("state") != nil
        let lifecycle = ProfileLifecycle(layout: StateLayout(root: options.stateDirectory), clock: try options.clock())
        let deployment: Deployment
        do {
            deployment = try Deployment.candidate(options)
        } catch let error as ConfigurationError {
            if recording {
                let name = options.namedProfile?.name
                let sha = name.flatMap { n in
                    (try? PackageRoot.locate()).flatMap { try? Deployment.loadProfile(n, root: $0).sha256 }
                }
                try lifecycle.noteIfState(
                    LifecycleRecord(
                        action: .validate, profile: name, profileSHA256: sha, by: Sys.userName(), result: .refused,
                        reasons: [error.description], inputs: sha.map { ["profile": $0] } ?? [:]))
            }
            throw error
        }
        // Validation writes nothing: it says whether a stage could use the folder.
        let usable = try deployment.layout.checkUsable()
        struct Gap: Codable {
            var capability: String
            var fallback: String
        }
        struct Parameter: Codable {
            var path: String
            var value: String
            var layer: String
        }
        struct Validation: Codable {
            var ok: Bool
            var profile: String
            var profile_source: String
            var profile_sha256: String
            var capability_descriptor: String
            var sender_mode: String
            var capability_gaps: [Gap]
            var state_dir: String
            var settings: [ExplainEntry]?
            var parameters: [Parameter]?
            var lifecycle_record: String?
        }
        let record =
            recording
            ? try lifecycle.noteIfState(
                LifecycleRecord(
                    action: .validate, profile: deployment.profileReference, profileSHA256: deployment.profile.sha256,
                    by: Sys.userName(), result: .ok, inputs: ["profile": deployment.profile.sha256],
                    detail:
                        "valid on runtime \(deployment.descriptorReference), sender mode \(deployment.profile.senderMode.rawValue)"
                ))
            : nil
        let explain = options.has("explain")
        let parameters = deployment.rules.flatMap { rule in
            [Parameter(path: "policies.\(rule.ruleID).severity", value: rule.severity.rawValue, layer: "pack")]
                + rule.values.sorted(by: { $0.key < $1.key }).map { name, value in
                    let layer = rule.origins[name] ?? "pack"
                    return Parameter(path: "policies.\(rule.ruleID).\(name)", value: value.text, layer: layer)
                }
        }
        let v = Validation(
            ok: true, profile: deployment.profileReference, profile_source: deployment.profile.source,
            profile_sha256: deployment.profile.sha256, capability_descriptor: deployment.descriptorReference,
            sender_mode: deployment.profile.senderMode.rawValue,
            capability_gaps: deployment.capabilityGaps.map { Gap(capability: $0, fallback: Capability.explain($0)) },
            state_dir: deployment.layout.root, settings: explain ? deployment.profile.explain : nil,
            parameters: explain ? parameters : nil, lifecycle_record: record?.record_id)
        var lines = [
            "profile \(v.profile) (\(v.profile_source)) is valid on runtime \(v.capability_descriptor)",
            "  sender mode: \(v.sender_mode); state dir: \(v.state_dir) (\(usable))",
        ]
        lines +=
            v.capability_gaps.isEmpty
            ? ["  capability gaps: none"] : v.capability_gaps.map { "  gap \($0.capability): \($0.fallback)" }
        if explain {
            let rows =
                deployment.profile.explain.sorted { $0.path < $1.path }.map { ($0.path, $0.value, $0.layer.rawValue) }
                + parameters.map { ($0.path, $0.value, $0.layer) }
            let width = min(72, rows.map(\.0.count).max() ?? 0)
            lines.append("  " + "setting".padding(toLength: width, withPad: " ", startingAt: 0) + "  layer     value")
            lines += rows.map { path, value, layer in
                "  " + path.padding(toLength: max(width, path.count), withPad: " ", startingAt: 0) + "  "
                    + layer.padding(toLength: 8, withPad: " ", startingAt: 0) + "  " + value
            }
        }
        Sys.writeStandardOutput((options.json ? CanonicalJSON.line(v) : lines.joined(separator: "\n")) + "\n")
        return 0
    }
}
