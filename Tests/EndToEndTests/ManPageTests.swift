import Foundation
import Testing

@testable import GovernanceCore

/// `man rgov` and tab completion: generated from the declarations, kept in `docs/`, and valid.
@Suite struct ManPageTests {
    static func tool(_ name: String) -> String? {
        try? ChildProcess.resolve(name, environment: ["PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"])
    }

    @Test func thePagesAndTheCompletionInDocsAreWhatTheDeclarationsGenerate() throws {
        let h = try Harness()
        #expect(ManPage.names == ["rgov", "rgov-watchdog", "rgov-dispatcher", "rgov-bridge", "rgov-sender"])
        for name in ManPage.names {
            let page = try h.run("rgov", ["help", "man", name], pinned: false)
            #expect(page.status == 0)
            let kept = String(decoding: try Sys.readFile(Harness.repoRoot + "/docs/man/\(name).1"), as: UTF8.self)
            #expect(page.stdout == kept, "docs/man/\(name).1 is stale: rgov help man \(name) > docs/man/\(name).1")
        }
        let completion = try h.run("rgov", ["help", "completion"], pinned: false)
        let kept = String(decoding: try Sys.readFile(Harness.repoRoot + "/docs/completion/rgov"), as: UTF8.self)
        #expect(completion.stdout == kept, "docs/completion/rgov is stale: rgov help completion > docs/completion/rgov")
        let none = try h.run("rgov", ["help", "man", "rgov-nothing"], pinned: false)
        #expect(none.status == 64 && none.stderr.contains("rgov-watchdog"), "\(none.stderr)")
    }

    @Test(.enabled(if: tool("mandoc") != nil, "needs mandoc (Debian mandoc)"))
    func everyPageLintsCleanAndRendersEveryVerb() throws {
        let mandoc = try #require(Self.tool("mandoc"))
        for name in ManPage.names {
            let path = Harness.repoRoot + "/docs/man/\(name).1"
            let lint = try ChildProcess.run(
                ChildSpec(executable: mandoc, arguments: ["-T", "lint", "-W", "all", path], deadline: 60))
            #expect(lint.status == 0 && lint.stdoutText.isEmpty, "\(name): \(lint.stdoutText)\(lint.stderrText)")
            let text = try ChildProcess.run(
                ChildSpec(executable: mandoc, arguments: ["-T", "ascii", path], deadline: 60))
            // Bold and underline are overstrikes in ASCII output: without them, the words read plain.
            let plain = text.stdoutText.replacingOccurrences(of: #".\x08"#, with: "", options: .regularExpression)
            #expect(plain.contains("NAME") && plain.contains(name) && plain.contains("EXIT STATUS"), "\(name)")
            if name == "rgov" {
                for verb in RgovCommand.verbs {
                    #expect(plain.contains("rgov " + verb.name), "rgov.1 lacks \(verb.name)")
                }
                #expect(plain.contains("--state-filter") && plain.contains("RGOV_STATE_DIR"))
            }
        }
        if let man = Self.tool("man") {
            let page = try ChildProcess.run(
                ChildSpec(
                    executable: man, arguments: ["-l", Harness.repoRoot + "/docs/man/rgov-watchdog.1"],
                    environment: ["PATH": "/usr/bin:/bin", "MANPAGER": "cat", "PAGER": "cat", "MANWIDTH": "80"],
                    deadline: 60))
            #expect(page.status == 0 && page.stdoutText.contains("rgov-watchdog"), "\(page.stderrText)")
        }
    }

    /// What bash offers for `words` (the last one being completed), with the completion sourced.
    static func complete(_ words: [String]) throws -> [String] {
        let script = """
            source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _rgov; printf '%s\\n' "${COMPREPLY[@]}"
            """
        let bash = try #require(tool("bash"))
        let r = try ChildProcess.run(
            ChildSpec(
                executable: bash,
                arguments: ["-c", script, "bash", Harness.repoRoot + "/docs/completion/rgov"] + words,
                deadline: 60))
        #expect(r.status == 0, "\(r.stderrText)")
        return r.stdoutText.split(separator: "\n").map(String.init).sorted()
    }

    @Test func bashCompletesVerbsOptionsAndValues() throws {
        #expect(try Self.complete(["rgov", "ap"]) == ["approvals", "approve"])
        #expect(try Self.complete(["rgov", "init", "--env"]) == ["--environment"])
        #expect(try Self.complete(["rgov", "init", "--environment", "p"]) == ["production"])
        #expect(try Self.complete(["rgov", "init", "--profile", "strict"]) == ["strict-manager-mode"])
        #expect(try Self.complete(["rgov", "activate", "min"]) == ["minimal-solo-mode"])
        #expect(try Self.complete(["rgov", "ls", "--state-filter", "pe"]) == ["pending_external_send"])
        #expect(try Self.complete(["rgov", "tick", "--log-format", ""]) == ["json", "text"])
        #expect(try Self.complete(["rgov-watchdog", "--sta"]) == ["--state"])
        #expect(try Self.complete(["rgov", "ls", "--st"]) == ["--state", "--state-filter"])
    }
}
