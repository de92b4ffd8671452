import Foundation
import Testing

@testable import GovernanceCore

/// The lint gate holds only if `.swift-format` lists every rule (an unlisted rule is off), and
/// every rule it turns off has its reason in the README.
@Suite struct LintGateTests {
    @Test func theConfigurationListsEveryRuleAndEachOffRuleHasAReason() throws {
        let dump = try ChildProcess.run(
            ChildSpec(
                executable: "/usr/bin/env", arguments: ["swift", "format", "dump-configuration"], deadline: 120))
        try #require(dump.status == 0, "\(dump.stderrText)")
        guard case .object(let known)? = try CanonicalJSON.decode(JSONValue.self, from: Data(dump.stdout))["rules"],
            case .object(let ours)? = try CanonicalJSON.decode(
                JSONValue.self, from: try Sys.readFile(YAMLTests.repoRoot + "/.swift-format"))["rules"]
        else {
            Issue.record("no rules map")
            return
        }
        #expect(Set(ours.keys) == Set(known.keys), "rules missing: \(Set(known.keys).subtracting(ours.keys))")
        let readme = String(decoding: try Sys.readFile(YAMLTests.repoRoot + "/README.md"), as: UTF8.self)
        for (rule, on) in ours where on == .bool(false) {
            #expect(readme.contains("| `\(rule)` |"), "\(rule) is off without a reason in the README")
        }
    }
}

extension JSONValue {
    fileprivate subscript(key: String) -> JSONValue? {
        if case .object(let o) = self { return o[key] }
        return nil
    }
}
