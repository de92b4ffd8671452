import Foundation
import Testing

@testable import GovernanceCore

func temporaryDirectory(_ tag: String) throws -> String {
    let dir = NSTemporaryDirectory() + "rgov-\(tag)-" + UUID().uuidString
    try Sys.makeDirectory(dir)
    return dir
}

@Suite struct DurableFileTests {
    @Test func writesWholeFilesWithMode0600AndNoTemporariesLeft() throws {
        let dir = try temporaryDirectory("durable")
        let path = dir + "/a.json"
        try DurableFile.write(Data("one".utf8), to: path)
        try DurableFile.write(Data("two".utf8), to: path)
        #expect(try Sys.readFile(path) == Data("two".utf8))
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        #expect(try Sys.listDirectory(dir) == ["a.json"])
    }

    @Test func createNeverClobbers() throws {
        let dir = try temporaryDirectory("create")
        let path = dir + "/n.json"
        #expect(try DurableFile.create(Data("first".utf8), at: path))
        #expect(!(try DurableFile.create(Data("second".utf8), at: path)))
        #expect(try Sys.readFile(path) == Data("first".utf8))
        #expect(try Sys.listDirectory(dir) == ["n.json"])
    }

    /// A staged create is a claim the commit takes with link(2): a name another writer took in
    /// between fails the commit, keeps that writer's bytes, and publishes nothing staged after it.
    @Test func aClaimLostBeforeTheCommitFailsTheCommit() throws {
        let dir = try temporaryDirectory("claim")
        let claimed = dir + "/n.json"
        let later = dir + "/later.json"
        #expect(
            throws: RgovError.self,
            performing: {
                try Transaction.run(anchor: dir) { transaction in
                    let writes = Writes.staged(transaction)
                    #expect(try writes.create(Data("ours".utf8), at: claimed))
                    #expect(!(try writes.create(Data("again".utf8), at: claimed)), "staged once")
                    try writes.write(Data("after".utf8), to: later)
                    #expect(Sys.kind(claimed) == .missing, "nothing is visible before the commit")
                    #expect(try DurableFile.create(Data("theirs".utf8), at: claimed))
                }
            })
        #expect(try Sys.readFile(claimed) == Data("theirs".utf8))
        #expect(Sys.kind(later) == .missing)
        #expect(try Sys.listDirectory(dir).filter { !$0.hasPrefix(".tmp") } == ["n.json"], "no temporary is left")
    }

    /// What a process killed while writing in the state folder itself leaves (the temporary of the
    /// state's first idempotency secret) is swept after the folder moved, as in any other folder:
    /// the registry names the state folder as `.`, not by its old absolute path.
    @Test func aTemporaryInTheStateFolderItselfIsSweptAfterTheStateMoved() throws {
        let dir = try temporaryDirectory("moved")
        let old = dir + "/old"
        let new = dir + "/new"
        try Sys.makeDirectory(old)
        #expect(Transaction.entry(old, root: old) == ".")
        // The registry as this process writes it, handed to a pid that no process has.
        try Transaction.register(old, root: old)
        let gone: Int32 = 2_147_483_000
        try Sys.rename(Transaction.registry(old), old + "/.tmp/\(gone).folders")
        let leftover = "/.idempotency.secret.\(gone).0.tmp"
        try Data("half a secret".utf8).write(to: URL(fileURLWithPath: old + leftover))
        try Sys.rename(old, new)
        try Transaction.run(anchor: new) { _ in }
        #expect(Sys.kind(new + leftover) == .missing, "the crash's temporary is swept in the moved state")
        #expect(Sys.kind(new + "/.tmp/\(gone).folders") == .missing, "and its registry with it")
    }

    /// Writes given `Writes.immediate` are durable at once, whatever transaction the process has open.
    @Test func immediateWritesBesideATransactionAreNotStaged() throws {
        let dir = try temporaryDirectory("beside")
        try Transaction.run(anchor: dir) { transaction in
            try Writes.staged(transaction).write(Data("staged".utf8), to: dir + "/staged.json")
            try Writes.immediate.write(Data("now".utf8), to: dir + "/now.json")
            #expect(try Sys.readFile(dir + "/now.json") == Data("now".utf8))
            #expect(Sys.kind(dir + "/staged.json") == .missing)
        }
        #expect(try Sys.readFile(dir + "/staged.json") == Data("staged".utf8))
    }

    @Test func foldersAre0700() throws {
        let dir = try temporaryDirectory("layout")
        let layout = StateLayout(root: dir + "/state")
        try layout.prepare()
        for folder in layout.folders {
            let attributes = try FileManager.default.attributesOfItem(atPath: folder)
            #expect((attributes[.posixPermissions] as? Int) == 0o700, "\(folder)")
        }
    }

    @Test func readRefusesSymlinksAndOversizedFiles() throws {
        let dir = try temporaryDirectory("read")
        try DurableFile.write(Data(repeating: 0x41, count: 100), to: dir + "/big")
        #expect(throws: SystemCallError.self) { try Sys.readFile(dir + "/big", limit: 99) }
        try FileManager.default.createSymbolicLink(atPath: dir + "/link", withDestinationPath: dir + "/big")
        #expect(throws: SystemCallError.self) { try Sys.readFile(dir + "/link") }
    }

    @Test func listingSkipsDotfilesAndTemporaries() throws {
        let dir = try temporaryDirectory("list")
        for name in ["b.json", "a.json", ".a.json.1.0.tmp", "x.tmp", "c.json~", "notes.txt"] {
            try Data().write(to: URL(fileURLWithPath: dir + "/" + name))
        }
        #expect(try StateLayout(root: dir).artifactNames(in: dir) == ["a.json", "b.json"])
    }
}

@Suite struct StageLockTests {
    @Test func secondHolderIsRefusedUntilTheFirstReleases() throws {
        let dir = try temporaryDirectory("lock")
        let path = dir + "/watchdog.lock"
        var first = try StageLock.acquire(path, holder: "first")
        #expect(first != nil)
        #expect(try StageLock.acquire(path, holder: "second") == nil)
        #expect(StageLock.currentHolder(path) == "first")
        first = nil
        #expect(StageLock.currentHolder(path) == nil)
        #expect(try StageLock.acquire(path, holder: "third") != nil)
        #expect(Sys.exists(path), "the lock file is never deleted")
    }
}

@Suite struct QuarantineTests {
    @Test func movesTheFileAsideWithItsReasonAndNeverDeletes() throws {
        let dir = try temporaryDirectory("quarantine")
        let layout = StateLayout(root: dir)
        try layout.prepare()
        let bytes = Data("{not json".utf8)
        try DurableFile.write(bytes, to: layout.missions + "/bad.json")
        let at = Date(timeIntervalSince1970: 1_795_176_000)
        let q = Quarantine(layout: layout)
        let record = try q.isolate(layout.missions + "/bad.json", reason: "invalid JSON", stage: "watchdog", at: at)
        try DurableFile.write(bytes, to: layout.missions + "/bad.json")
        let second = try q.isolate(layout.missions + "/bad.json", reason: "again", stage: "watchdog", at: at)
        #expect(record.quarantine_id != second.quarantine_id)
        #expect(!Sys.exists(layout.missions + "/bad.json"))
        for r in [record, second] {
            let entry = layout.quarantine + "/" + r.quarantine_id
            #expect(try Sys.readFile(entry + "/bad.json") == bytes)
            let saved = try CanonicalJSON.decode(QuarantineRecord.self, from: try Sys.readFile(entry + "/reason.json"))
            #expect(saved == r)
            #expect(saved.sha256 == SHA256.hex(of: [UInt8](bytes)))
        }
    }
}

@Suite struct ChildProcessTests {
    @Test func passesStdinAndReadsBothPipes() throws {
        let result = try ChildProcess.run(
            ChildSpec(
                executable: "/bin/sh", arguments: ["-c", "cat; echo oops >&2; exit 3"],
                standardInput: Array("hello\n".utf8), deadline: 10))
        #expect(result.status == 3 && !result.signaled && !result.timedOut)
        #expect(result.stdoutText == "hello\n")
        #expect(result.stderrText == "oops\n")
        #expect(result.stdoutSHA256 == SHA256.hex(of: "hello\n"))
    }

    /// Whether any process still carries `marker` in its environment (inherited from the child).
    /// (Bounded wait for the effect: a SIGKILL already sent takes a moment to be delivered.)
    static func survivors(_ marker: String) -> Bool {
        for _ in 0..<500 {
            let alive = ((try? Sys.listDirectory("/proc")) ?? []).contains { entry in
                guard Int32(entry) != nil, let environ = try? Sys.readFile("/proc/\(entry)/environ", limit: 1 << 20)
                else { return false }
                return String(decoding: environ, as: UTF8.self).contains(marker)
            }
            if !alive { return false }
            Sys.sleep(milliseconds: 10)
        }
        return true
    }

    static func marked() -> (String, [String: String]) {
        let marker = "unit-" + UUID().uuidString
        return (marker, ["PATH": "/usr/bin:/bin", "UNIT_MARK": marker])
    }

    @Test func deadlineKillsTheWholeProcessGroup() throws {
        let (marker, env) = Self.marked()
        let result = try ChildProcess.run(
            ChildSpec(
                executable: "/bin/sh", arguments: ["-c", "trap '' TERM; sleep 30 & sleep 30"], environment: env,
                deadline: 0.3, killGrace: 0.3))
        #expect(result.timedOut && result.signaled)
        #expect(!Self.survivors(marker), "the whole group is gone, the one that ignores SIGTERM too")
    }

    /// A batch sender's deadline is its items' summed; one that stops answering is ended after
    /// `idleDeadline`, and one that keeps answering is not.
    @Test func aChildThatStopsAnsweringIsEndedByItsIdleDeadline() throws {
        var silent = ChildSpec(
            executable: "/bin/sh", arguments: ["-c", "echo one; sleep 3; echo two"], deadline: 60, killGrace: 0.3)
        silent.idleDeadline = 1
        var lines: [String] = []
        let stopped = try ChildProcess.run(silent, onLine: { lines.append($0) })
        #expect(stopped.timedOut && lines == ["one"])

        var steady = ChildSpec(
            executable: "/bin/sh", arguments: ["-c", "for i in 1 2 3 4 5; do echo $i; sleep 0.4; done"], deadline: 60)
        steady.idleDeadline = 1.5
        lines = []
        let finished = try ChildProcess.run(steady, onLine: { lines.append($0) })
        #expect(!finished.timedOut && finished.status == 0 && lines == ["1", "2", "3", "4", "5"])
    }

    @Test func aGrandchildHoldingStdoutDoesNotHangTheCaller() throws {
        let (marker, env) = Self.marked()
        let result = try ChildProcess.run(
            ChildSpec(
                executable: "/bin/sh", arguments: ["-c", "echo started; (sleep 30) & exit 0"], environment: env,
                deadline: 10))
        #expect(result.status == 0 && !result.timedOut)
        #expect(result.stdoutText == "started\n")
        #expect(result.killedLingeringDescendants)
        #expect(!Self.survivors(marker), "the grandchild was ended")
    }

    @Test func largeOutputIsCountedHashedAndCapped() throws {
        let result = try ChildProcess.run(
            ChildSpec(
                executable: "/bin/sh", arguments: ["-c", "head -c 5000000 /dev/zero"], deadline: 30, stdoutLimit: 1000))
        #expect(result.status == 0)
        #expect(result.stdoutBytes == 5_000_000 && result.stdout.count == 1000)
        #expect(result.stdoutSHA256 == SHA256.hex(of: [UInt8](repeating: 0, count: 5_000_000)))
    }

    @Test func anInputTheChildNeverReadsDoesNotBlock() throws {
        let result = try ChildProcess.run(
            ChildSpec(
                executable: "/bin/true", arguments: [], standardInput: [UInt8](repeating: 1, count: 1 << 20),
                deadline: 10))
        #expect(result.status == 0)
    }
}

/// `Sys.confine`: below a confined state root no symbolic link is followed, for reads and writes;
/// real folders work as before.
@Suite struct StateConfinementTests {
    /// `body` must throw the link refusal naming `link`, with exit 73.
    func refused(_ what: String, link: String, _ body: () throws -> Void) {
        do {
            try body()
            Issue.record("\(what) went through the link \(link)")
        } catch let error as SystemCallError {
            #expect(error.exitCode == .cannotCreate, "\(what): \(error)")
            #expect(
                error.description.contains(
                    link + " is a symbolic link; rgov never follows a link inside a state folder"),
                "\(what): \(error)")
        } catch {
            Issue.record("\(what): \(error)")
        }
    }

    @Test func linksBelowTheRootAreRefusedAndRealFoldersWork() throws {
        let dir = try temporaryDirectory("confine")
        let root = dir + "/state"
        let outside = dir + "/outside"
        try Sys.makeDirectory(root + "/real")
        try Sys.makeDirectory(outside)
        try DurableFile.write(Data("planted".utf8), to: outside + "/planted.json")
        try FileManager.default.createSymbolicLink(atPath: root + "/linked", withDestinationPath: outside)
        try FileManager.default.createSymbolicLink(
            atPath: root + "/real/file-link.json", withDestinationPath: outside + "/planted.json")
        try FileManager.default.createSymbolicLink(atPath: root + "/real/2026-11-21", withDestinationPath: outside)
        let alias = dir + "/alias"
        try FileManager.default.createSymbolicLink(atPath: alias, withDestinationPath: root)
        Sys.confine(stateRoot: alias + "/")

        // Real folders, reached through the root given as a link, work as before.
        let real = alias + "/real"
        try DurableFile.write(Data("a".utf8), to: real + "/a.json")
        #expect(try DurableFile.create(Data("b".utf8), at: real + "/b.json"))
        #expect(!(try DurableFile.create(Data("again".utf8), at: real + "/b.json")))
        try DurableFile.replace(Data("c".utf8), at: real + "/c.json")
        try Sys.makeDirectory(real + "/2026-11-20")
        try DurableFile.move(real + "/c.json", to: real + "/2026-11-20/c.json")
        try Sys.appendExclusively(real + "/log/chain.jsonl", limit: 1 << 20) { _ in Data("line\n".utf8) }
        #expect(try Sys.readFile(real + "/a.json") == Data("a".utf8))
        #expect(try Sys.readFile(real + "/2026-11-20/c.json") == Data("c".utf8))
        #expect(try Sys.readFile(real + "/log/chain.jsonl") == Data("line\n".utf8))
        #expect(
            Set(try Sys.listDirectory(real))
                == ["a.json", "b.json", "file-link.json", "2026-11-20", "2026-11-21", "log"])
        #expect(try Sys.listSubdirectories(real).sorted() == ["2026-11-20", "log"], "a link is not a subfolder")
        #expect(Sys.kind(real + "/file-link.json") == .symlink && Sys.kind(real) == .directory)
        #expect(try Sys.listDirectory(real + "/missing").isEmpty && Sys.kind(real + "/missing/x") == .missing)
        try Sys.unlink(real + "/missing/x")
        try Sys.unlink(real + "/b.json")
        #expect(!Sys.exists(real + "/b.json"))

        // Through the linked folder: every read and write is refused, naming the link.
        let linked = alias + "/linked"
        refused("readFile", link: linked) { _ = try Sys.readFile(linked + "/planted.json") }
        refused("DurableFile.write", link: linked) { try DurableFile.write(Data("x".utf8), to: linked + "/new.json") }
        refused("DurableFile.create", link: linked) {
            _ = try DurableFile.create(Data("x".utf8), at: linked + "/n.json")
        }
        refused("DurableFile.replace", link: linked) { try DurableFile.replace(Data("x".utf8), at: linked + "/r.json") }
        refused("listDirectory", link: linked) { _ = try Sys.listDirectory(linked) }
        refused("listDirectory below", link: linked) { _ = try Sys.listDirectory(linked + "/sub") }
        refused("makeDirectory", link: linked) { try Sys.makeDirectory(linked + "/2026-11-20") }
        refused("makeDirectory of the link", link: linked) { try Sys.makeDirectory(linked) }
        refused("append", link: linked) {
            try Sys.appendExclusively(linked + "/chain.jsonl", limit: 1 << 20) { _ in Data("x\n".utf8) }
        }
        refused("rename into", link: linked) { try Sys.rename(real + "/a.json", linked + "/a.json") }
        refused("link into", link: linked) { _ = try Sys.linkNoClobber(real + "/a.json", linked + "/a.json") }
        refused("unlink", link: linked) { try Sys.unlink(linked + "/planted.json") }
        refused("fsync of the folder", link: linked) { try Sys.fsyncDirectory(linked) }
        refused("kind, checked", link: linked) { _ = try Sys.checkedKind(linked + "/planted.json") }
        refused("a file that is a link", link: real + "/file-link.json") {
            _ = try Sys.readFile(real + "/file-link.json")
        }
        refused("a day folder that is a link", link: real + "/2026-11-21") {
            _ = try StateLayout(root: alias).dayPartitions(in: real)
        }
        #expect(Sys.kind(linked + "/planted.json") == .missing, "not reached, so not there")
        #expect(Sys.status(linked + "/planted.json") == nil && Sys.identity(linked + "/planted.json") == nil)
        #expect(!Sys.isWritableDirectory(linked) && !Sys.isWritableDirectory(linked + "/"))
        #expect(throws: SystemCallError.self) { try Sys.readFile(real + "/../linked/planted.json") }

        // A folder verified once and then swapped for a link: its cached descriptor still names
        // the real folder, so what is written lands in the state (or is refused), never outside.
        try FileManager.default.moveItem(atPath: root + "/real", toPath: root + "/moved")
        try FileManager.default.createSymbolicLink(atPath: root + "/real", withDestinationPath: outside)
        do {
            try DurableFile.write(Data("late".utf8), to: real + "/late.json")
            #expect(try Sys.readFile(root + "/moved/late.json") == Data("late".utf8))
        } catch let error as SystemCallError {
            #expect(error.refusal != nil, "\(error)")
        }

        #expect(try Sys.listDirectory(outside) == ["planted.json"], "nothing was written outside the state")
        #expect(try Sys.readFile(outside + "/planted.json") == Data("planted".utf8))
        // Outside the confined root nothing changes: links are followed there as before.
        try FileManager.default.createSymbolicLink(atPath: dir + "/elsewhere", withDestinationPath: outside)
        #expect(try Sys.readFile(dir + "/elsewhere/planted.json") == Data("planted".utf8))
    }
}
