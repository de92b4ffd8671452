import Foundation
import Testing

@testable import GovernanceCore

/// The command line tells the truth: every verb refuses what it did not declare, and its help is
/// generated from the same declaration, so help and parser cannot drift.
@Suite struct CommandLineTests {
    /// Every `--option` a text names.
    static func optionsNamed(in text: String) throws -> Set<String> {
        let regex = try NSRegularExpression(pattern: #"(?<![\w-])--([a-z][a-z0-9-]*)"#)
        return Set(
            regex.matches(in: text, range: NSRange(text.startIndex..., in: text)).compactMap {
                Range($0.range(at: 1), in: text).map { String(text[$0]) }
            })
    }

    /// Each executable's commands: (argv prefix, declaration).
    static var commands: [([String], String, CommandSpec)] {
        RgovCommand.verbs.map { (["rgov", $0.name], $0.spec.command, $0.spec) }
            + Stage.allCases.map { ([$0.executable], $0.executable, StageCommand.spec($0)) }
            + [(["rgov-sender"], "rgov-sender", SenderCommand.spec)]
    }

    @Test func everyCommandsHelpNamesExactlyWhatItDeclares() throws {
        let h = try Harness()
        for (argv, name, spec) in Self.commands {
            let declared = Set(spec.allOptions.map(\.name))
            let run = try h.run(argv[0], Array(argv.dropFirst()) + ["--help"], pinned: false)
            #expect(run.status == 0, "\(name) --help: \(run.stderr)")
            #expect(run.stdout.hasPrefix("usage: \(name)"), "\(name)")
            let named = try Self.optionsNamed(in: run.stdout)
            #expect(declared.isSubset(of: named), "\(name) --help leaves out \(declared.subtracting(named).sorted())")
            #expect(
                named.isSubset(of: declared), "\(name) --help names undeclared \(named.subtracting(declared).sorted())")
            #expect(run.stdout.contains("exit: 0 done") && run.stdout.contains("example: "), "\(name)")
        }
    }

    @Test func everyCommandRefusesAnOptionItDidNotDeclareNamingItself() throws {
        let h = try Harness()
        for (argv, name, _) in Self.commands {
            let run = try h.run(argv[0], Array(argv.dropFirst()) + ["--no-such-option"], pinned: false)
            #expect(run.status == 64, "\(name): \(run.status)")
            #expect(run.stderr.contains("\(name): unknown option --no-such-option"), "\(name): \(run.stderr)")
        }
        let ls = try h.run("rgov", ["ls", "--dry-run", "--by", "x"], pinned: false)
        #expect(ls.status == 64 && ls.stderr.contains("rgov ls: unknown option --dry-run"))
        let typo = try h.run("rgov", ["status", "--stat", "x"], pinned: false)
        #expect(typo.status == 64 && typo.stderr.contains("did you mean --state?"))
        #expect(try Sys.listDirectory(h.state).isEmpty, "a refused command line acts on nothing")
    }

    @Test func argumentsAreCountedAgainstTheDeclaration() throws {
        let h = try Harness()
        let missing = try h.run("rgov", ["show"], pinned: false)
        #expect(missing.status == 64 && missing.stderr.contains("missing ID"))
        let extra = try h.run("rgov", ["ack", "a", "b", "--by", "x"], pinned: false)
        #expect(extra.status == 64 && extra.stderr.contains("unexpected argument \"b\""))
        let twice = try h.run("rgov", ["ls", "--mission", "a", "--mission", "b"], pinned: false)
        #expect(twice.status == 64 && twice.stderr.contains("--mission given twice"))
        let verb = try h.run("rgov", ["stauts"], pinned: false)
        #expect(verb.status == 64 && verb.stderr.contains("did you mean status?"))
    }

    @Test func theOverviewListsEveryVerbWithItsSummary() throws {
        let h = try Harness()
        let run = try h.run("rgov", ["--help"], pinned: false)
        #expect(run.status == 0)
        for verb in RgovCommand.verbs {
            #expect(run.stdout.contains("  \(verb.name) ") && run.stdout.contains(verb.spec.summary), "\(verb.name)")
        }
        #expect(try h.run("rgov", ["help", "ack"], pinned: false).stdout == Verb.ack.spec.help + "\n")
        #expect(try h.run("rgov-sender", ["--help"], pinned: false).stdout.contains("webhook"))
    }

    @Test func theManualIsGeneratedFromTheDeclarations() throws {
        let manual = String(decoding: try Sys.readFile(Harness.repoRoot + "/docs/rgov.md"), as: UTF8.self)
        #expect(manual == Manual.markdown(), "regenerate docs/rgov.md: rgov help --manual > docs/rgov.md")
    }
}
