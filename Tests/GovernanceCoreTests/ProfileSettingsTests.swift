import Foundation
import Testing

@testable import GovernanceCore

/// One table of settings drives the decoder; the JSON Schema must say the same keys, types and
/// ranges, in both directions.
@Suite struct ProfileSettingsTests {
    static func schema() throws -> JSONValue {
        try CanonicalJSON.decode(
            JSONValue.self, from: try Sys.readFile(YAMLTests.repoRoot + "/schemas/profile.schema.json"))
    }

    static func field(_ value: JSONValue?, _ key: String) -> JSONValue? {
        if case .object(let o)? = value { return o[key] }
        return nil
    }

    /// The schema of `spec.<path>`.
    static func property(_ path: String, in schema: JSONValue) -> JSONValue? {
        var node = field(field(schema, "properties"), "spec")
        for part in path.split(separator: ".") { node = field(field(node, "properties"), String(part)) }
        return node
    }

    /// Every leaf under `spec` in the schema: a property that is not an object with properties.
    /// (A structured setting, such as the sender binding, counts as one leaf.)
    static func leaves(_ node: JSONValue?, prefix: String = "") -> [String] {
        let structured = ProfileSettings.table.filter { $0.kind == .structured }.map(\.path)
        guard !structured.contains(prefix), case .object(let properties)? = field(node, "properties") else {
            return [prefix]
        }
        return properties.keys.sorted().flatMap { key in
            leaves(properties[key], prefix: prefix.isEmpty ? key : prefix + "." + key)
        }
    }

    /// The package runs profiles of its own major version, not newer than itself, and its
    /// manifest says so.
    @Test func theManifestDeclaresThePluginVersionsThePackageRuns() throws {
        #expect(PackageInfo.pluginVersions == PluginVersions(from: "0.0.0", through: PackageInfo.version))
        let manifest = try CanonicalJSON.decode(
            PackageManifest.self, from: try Sys.readFile(YAMLTests.repoRoot + "/package-manifest.json"))
        #expect(manifest.plugin_versions == PackageInfo.pluginVersions)
        let range = PackageInfo.pluginVersions
        for (version, runs) in [
            ("0.0.0", true), ("0.1.0", true), ("0.0.12", true), ("0.1.1", false), ("0.10.0", false),
            ("1.0.0", false), ("9.9.9", false), ("0.1", false), ("0.1.0-rc1", false), ("-1.0.0", false),
        ] {
            #expect((range.refusal(version) == nil) == runs, "\(version)")
        }
    }

    @Test func everySettingIsInTheSchemaWithTheSameTypeAndRange() throws {
        let schema = try Self.schema()
        for setting in ProfileSettings.table {
            let property = try #require(Self.property(setting.path, in: schema), "\(setting.path) not in the schema")
            let type = Self.field(property, "type")
            switch setting.kind {
            case .integer(let range):
                #expect(type == .string("integer"), "\(setting.path)")
                #expect(Self.field(property, "minimum") == .number(Double(range.lowerBound)), "\(setting.path) minimum")
                #expect(Self.field(property, "maximum") == .number(Double(range.upperBound)), "\(setting.path) maximum")
            case .boolean: #expect(type == .string("boolean"), "\(setting.path)")
            case .string: #expect(type == .string("string"), "\(setting.path)")
            case .choice(let choices):
                #expect(Self.field(property, "enum") == .array(choices.map(JSONValue.string)), "\(setting.path)")
            case .strings(let choices):
                #expect(type == .string("array"), "\(setting.path)")
                let items = Self.field(property, "items")
                if let choices {
                    #expect(Self.field(items, "enum") == .array(choices.map(JSONValue.string)), "\(setting.path)")
                } else {
                    #expect(Self.field(items, "type") == .string("string"), "\(setting.path)")
                }
            case .structured: #expect(type == .string("object"), "\(setting.path)")
            }
        }
    }

    @Test func everySchemaPropertyUnderSpecIsASetting() throws {
        let paths = Set(ProfileSettings.table.map(\.path))
        let spec = Self.field(Self.field(try Self.schema(), "properties"), "spec")
        for leaf in Self.leaves(spec) { #expect(paths.contains(leaf), "\(leaf) is in the schema but not the table") }
    }

    @Test func theSchemasBindingKeysAreEveryModesKeys() throws {
        let binding = Self.property("adapters.sender.binding", in: try Self.schema())
        guard case .object(let properties)? = Self.field(binding, "properties") else {
            Issue.record("the schema's binding has no properties")
            return
        }
        #expect(Set(properties.keys) == Set(DeploymentProfile.bindingKeys.values.flatMap { $0 }))
    }

    @Test func theDecoderAllowsExactlyTheTablesKeys() throws {
        #expect(
            ProfileSettings.allowedKeys(under: "")
                == ["package", "policies", "adapters", "notifications", "audit", "metrics", "capability_expectations"])
        #expect(ProfileSettings.allowedKeys(under: "notifications.escalation") == ["window_ms", "target"])
        let text = try String(contentsOfFile: YAMLTests.repoRoot + "/profiles/standard-team-mode.yaml", encoding: .utf8)
            .replacingOccurrences(of: "      max_sends_per_tick:", with: "      max_sends_per_tik:")
        #expect(throws: YAMLError.self) { try DeploymentProfile.parse(text, file: "p.yaml") }
        do { _ = try DeploymentProfile.parse(text, file: "p.yaml") } catch let error as YAMLError {
            #expect(error.message.contains("did you mean \"max_sends_per_tick\"?"), "\(error)")
        }
    }

    @Test func anUnknownCapabilityIsRefusedWithTheClosestName() throws {
        let text = try String(contentsOfFile: YAMLTests.repoRoot + "/profiles/minimal-solo-mode.yaml", encoding: .utf8)
        let typo = text.replacingOccurrences(of: "required: [queue]", with: "required: [quene]")
        try #require(typo != text, "the fixture names its required capabilities as [queue]")
        do {
            _ = try DeploymentProfile.parse(typo, file: "p.yaml")
            Issue.record("an unknown capability was accepted")
        } catch let error as YAMLError {
            #expect(error.message.contains("spec.capability_expectations.required: unknown value \"quene\""))
            #expect(error.message.contains("did you mean \"queue\"?"))
        }
    }

    @Test func explainRecordsEveryTableSettingWithItsLayer() throws {
        let profile = try DeploymentProfile.parse(
            try String(contentsOfFile: YAMLTests.repoRoot + "/profiles/minimal-solo-mode.yaml", encoding: .utf8),
            file: "minimal.yaml")
        let explained = Dictionary(uniqueKeysWithValues: profile.explain.map { ($0.path, $0) })
        for setting in ProfileSettings.table where setting.kind != .structured {
            if setting.path == "notifications.escalation.target" || setting.path.hasSuffix("window_ms")
                || setting.path == "notifications.repeat_interval_ms" || setting.path == "audit.metrics_group"
                || setting.path.hasPrefix("adapters.fallback.")
                || setting.path == "notifications.heartbeat.url"
            {
                continue  // unset unless given
            }
            #expect(explained[setting.path] != nil, "\(setting.path) missing from --explain")
        }
        #expect(
            explained["adapters.sender.timeout_ms"]?.layer == .adapter
                || explained["adapters.sender.timeout_ms"]?.layer == .profile)
    }
}
