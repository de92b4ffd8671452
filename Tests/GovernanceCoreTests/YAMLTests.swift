import Foundation
import Testing

@testable import GovernanceCore

@Suite struct YAMLTests {
    @Test func readsTheSubset() throws {
        let text = """
            # comment
            top: plain value   # trailing comment
            quoted: "a: b # not a comment"
            single: 'it''s'
            number: 1_500
            float: 0.25
            flag: true
            nothing: ~
            list: [a, "b c", 3]
            block:
              - one
              - key: v
                other: w
            nested:
              deeper:
                leaf: x
            sameIndentList:
            - p
            - q
            empty: {}
            """
        let json = try YAMLReader.parse(text, file: "t.yaml").json
        let expected: JSONValue = .object([
            "top": .string("plain value"), "quoted": .string("a: b # not a comment"), "single": .string("it's"),
            "number": .number(1500), "float": .number(0.25), "flag": .bool(true), "nothing": .null,
            "list": .array([.string("a"), .string("b c"), .number(3)]),
            "block": .array([.string("one"), .object(["key": .string("v"), "other": .string("w")])]),
            "nested": .object(["deeper": .object(["leaf": .string("x")])]),
            "sameIndentList": .array([.string("p"), .string("q")]), "empty": .object([:]),
        ])
        #expect(json == expected)
    }

    @Test(arguments: [
        ("a: 1\n\tb: 2\n", 2, "tab"),
        ("a: &x 1\n", 1, "anchors"),
        ("a: *x\n", 1, "aliases"),
        ("a: !!str 1\n", 1, "tags"),
        ("a: |\n  text\n", 1, "block scalars"),
        ("a: yes\n", 1, "boolean in YAML 1.1"),
        ("a: 0755\n", 1, "octal"),
        ("a: 2026-11-20\n", 1, "date"),
        ("a: 1\na: 2\n", 2, "duplicate key"),
        ("a:\n  b: 1\n    c: 2\n", 3, "unexpected indentation"),
        ("a: {b: 1}\n", 1, "flow mappings"),
        ("a: [1, [2]]\n", 1, "nested flow"),
        ("a: \"open\n", 1, "unterminated"),
        ("a: 1\n---\nb: 2\n", 2, "multiple documents"),
        ("just text\n", 1, "expected `key: value`"),
    ])
    func refusesWithFileAndLine(text: String, line: Int, fragment: String) {
        do {
            _ = try YAMLReader.parse(text, file: "bad.yaml")
            Issue.record("accepted: \(text)")
        } catch let error as YAMLError {
            #expect(error.file == "bad.yaml")
            #expect(error.line == line, "\(error)")
            #expect(error.description.hasPrefix("bad.yaml:\(line): "))
            #expect(error.message.contains(fragment), "\(error)")
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    static var repoRoot: String {
        var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: dir.appendingPathComponent("Package.swift").path) {
            dir.deleteLastPathComponent()
        }
        return dir.path
    }

    static let shippedProfiles = ["minimal-solo-mode", "standard-team-mode", "strict-manager-mode"]

    /// The independent cross-check: PyYAML's safe loader and ours must read every shipped profile alike.
    @Test(arguments: shippedProfiles)
    func agreesWithPyYAML(profile: String) throws {
        let path = Self.repoRoot + "/profiles/" + profile + ".yaml"
        let ours = try YAMLReader.parse(String(decoding: try Sys.readFile(path), as: UTF8.self), file: path).json
        let script = "import json,sys,yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))"
        let result = try ChildProcess.run(
            ChildSpec(executable: "/usr/bin/env", arguments: ["python3", "-c", script, path], deadline: 30))
        #expect(result.status == 0, "python3 with PyYAML is required: \(result.stderrText)")
        let theirs = try CanonicalJSON.decode(JSONValue.self, from: Data(result.stdout))
        #expect(ours == theirs)
    }

    @Test(arguments: shippedProfiles)
    func shippedProfilesParse(profile: String) throws {
        let path = Self.repoRoot + "/profiles/" + profile + ".yaml"
        let parsed = try DeploymentProfile.parse(String(contentsOfFile: path, encoding: .utf8), file: path)
        #expect(parsed.id == profile)
        #expect(parsed.reference == profile + "@1.0.0")
    }

    @Test func soloSendsNothingForReal() throws {
        let path = Self.repoRoot + "/profiles/minimal-solo-mode.yaml"
        let solo = try DeploymentProfile.parse(String(contentsOfFile: path, encoding: .utf8), file: path)
        #expect(solo.senderMode == .dryRun)
        #expect(solo.queueEnabled)
    }

    @Test func unknownProfileKeySuggestsTheClosest() throws {
        let path = Self.repoRoot + "/profiles/standard-team-mode.yaml"
        let text = try String(contentsOfFile: path, encoding: .utf8).replacingOccurrences(
            of: "      timeout_ms:", with: "      timeuot_ms:")
        do {
            _ = try DeploymentProfile.parse(text, file: "p.yaml")
            Issue.record("accepted a misspelled key")
        } catch let error as YAMLError {
            let line =
                text.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.contains("timeuot_ms") }!
                + 1
            #expect(error.line == line)
            #expect(
                error.message.contains(
                    "unknown key \"timeuot_ms\" in spec.adapters.sender; did you mean \"timeout_ms\"?"))
        }
    }

    @Test func unknownSenderModeIsAClearError() throws {
        let path = Self.repoRoot + "/profiles/standard-team-mode.yaml"
        let text = try String(contentsOfFile: path, encoding: .utf8).replacingOccurrences(
            of: "mode: openclaw-cli", with: "mode: carrier-pigeon")
        #expect(throws: YAMLError.self) { try DeploymentProfile.parse(text, file: "p.yaml") }
        do { _ = try DeploymentProfile.parse(text, file: "p.yaml") } catch let error as YAMLError {
            #expect(error.message.contains("spec.adapters.sender.mode: unknown value \"carrier-pigeon\""))
            #expect(error.message.contains("valid: dry-run, shim, openclaw-cli, command, webhook"))
        }
    }
}
