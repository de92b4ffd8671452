import Foundation
import Testing

@testable import GovernanceCore

/// Nothing is hidden: a notice, receipt or attempt record that cannot be read where readers look
/// fails the tick naming it, is counted as unreadable by `ls` and `status`, and fails `doctor`.
@Suite struct UnreadableRecordsTests {
    /// The doctor's line for `name`: its status and detail.
    static func doctorCheck(_ h: Harness, _ name: String) throws -> (status: String?, detail: String?) {
        let check = try h.run("rgov", ["doctor", "--json"]).json?["checks"]?.array.first {
            $0["check"] == .string(name)
        }
        return (check?["status"]?.stringValue, check?["detail"]?.stringValue)
    }

    /// A waiting notice no stage reads (a dry run's, in pending_external_send/) with invalid bytes.
    @Test func aNoticeWithInvalidBytesFailsTheTickAndIsCountedEverywhere() throws {
        let h = try Harness()
        try h.importExamples()
        #expect(try h.tick().status == 0)
        let path = try #require(try h.layout.files(in: h.layout.notices(.pending_external_send)).first)
        let bytes = try Sys.readFile(path)
        try DurableFile.write(Data([0x7b, 0xff, 0xfe, 0x00]), to: path)
        let tick = try h.run("rgov", ["tick"])
        #expect(tick.status == 1, "\(tick.stdout)")
        #expect(tick.stdout.contains("UNREADABLE notice \(path)") && tick.stderr.contains(path), "\(tick.stdout)")
        #expect(!tick.stdout.contains("  ok"))
        let json = try h.tick()
        #expect(json.status == 1 && json.json?["unreadable"]?.array.first?["path"] == .string(path))
        // ls names it after the notices it could read, in text and in JSON.
        let ls = try h.run("rgov", ["ls"])
        #expect(ls.status == 0 && ls.stdout.contains("UNREADABLE notice \(path)"), "\(ls.stdout)")
        #expect(ls.stdout.contains("-- \(Harness.exampleNotices - 1) notices, 1 UNREADABLE record"), "\(ls.stdout)")
        let lines = try h.run("rgov", ["ls", "--json"]).stdout.split(separator: "\n").compactMap {
            try? CanonicalJSON.decode(JSONValue.self, from: Data($0.utf8))
        }
        #expect(lines.count == Harness.exampleNotices)
        #expect(
            lines.last?["unreadable"]?["path"] == .string(path)
                && lines.last?["unreadable"]?["kind"] == .string("notice"))
        // status counts it as unreadable, not as pending.
        let status = try h.run("rgov", ["status", "--json"]).json
        #expect(status?["unreadable"]?.array.map { $0["path"] } == [.string(path)])
        #expect(status?["notices_by_state"]?["pending_external_send"]?.int == Harness.exampleNotices - 1)
        #expect(try h.run("rgov", ["status"]).stdout.contains("UNREADABLE: 1 (1 notices, 0 receipts, 0 attempts)"))
        let doctor = try Self.doctorCheck(h, "records")
        #expect(doctor.status == "fail" && doctor.detail?.contains(path) == true, "\(doctor)")
        #expect(try h.run("rgov", ["doctor"]).status == 1)
        // Put back whole, all is well again.
        try DurableFile.write(bytes, to: path)
        #expect(try h.run("rgov", ["tick"]).status == 0)
        #expect(try Self.doctorCheck(h, "records").status == "ok")
        #expect(try h.run("rgov", ["ls", "--json"]).stdout.split(separator: "\n").count == Harness.exampleNotices)
    }

    /// A folder where a finished notice's file belongs, and a filed attempt cut short: history no
    /// stage scans.
    @Test func aFolderWhereANoticeBelongsAndATornAttemptFailTheTick() throws {
        let h = try Harness()
        try h.importExamples()
        #expect(try h.tick(profile: Harness.teamTrial).status == 0)
        let day = h.layout.notices(.acked, day: "2026-11-20")
        let folder = day + "/ntc-not-a-file.json"
        try Sys.makeDirectory(folder)
        let attempt = try #require(try h.layout.datedFiles(in: h.layout.attempts).first)
        let whole = try Sys.readFile(attempt)
        try DurableFile.write(whole.prefix(whole.count / 2), to: attempt)
        let tick = try h.tick()
        #expect(tick.status == 1, "\(tick.stdout)")
        let named = Set(tick.json?["unreadable"]?.array.compactMap { $0["path"]?.stringValue } ?? [])
        #expect(named == [folder, attempt], "\(tick.stdout)")
        let status = try h.run("rgov", ["status", "--json"]).json
        #expect(
            Set(status?["unreadable"]?.array.compactMap { $0["kind"]?.stringValue } ?? []) == ["notice", "attempt"])
        #expect(status?["notices_by_state"]?["acked"]?.int == Harness.exampleNotices, "the folder is no acked notice")
        #expect(try Self.doctorCheck(h, "records").status == "fail")
    }

    /// A receipt the state's owner cannot read (root's, 0600, in a state owned by nobody): the
    /// owner's own tick fails naming it.
    @Test(
        .enabled(
            if: Sys.kind("/usr/bin/setpriv") == .regular && Harness.canRunAsNobody,
            "needs root, setpriv, the nobody user and a temporary folder every user can enter"))
    func aReceiptTheOwnerCannotReadFailsItsTick() throws {
        let h = try Harness(reachable: true)
        chmod(h.dir, 0o755)
        Sys.removeTree(h.state)
        #expect(try h.run("rgov", ["init", "--profile", "minimal-solo-mode", "--owner", "nobody"]).status == 0)
        try DurableFile.write(
            try Sys.readFile(Harness.repoRoot + "/examples/missions/crm-overdue-02.json"),
            to: h.dir + "/crm-overdue-02.json")
        chmod(h.dir + "/crm-overdue-02.json", 0o644)
        func asNobody(_ arguments: [String], now: String) throws -> ChildResult {
            try ChildProcess.run(
                ChildSpec(
                    executable: "/usr/bin/setpriv",
                    arguments: ["--reuid=nobody", "--regid=nogroup", "--clear-groups", "--", h.binaries + "/rgov"]
                        + arguments + ["--state", h.state, "--now", now],
                    environment: ["PATH": "/usr/bin:/bin"], deadline: 120))
        }
        #expect(try asNobody(["tick", "--missions-from", h.dir], now: Harness.now).status == 0)
        let receipt = try #require(try h.layout.datedFiles(in: h.layout.receipts).first)
        // Replaced by root's own copy, 0600: the same bytes, which the owner may not read.
        let copy = receipt + ".root"
        let fd = try Sys.open(copy, O_CREAT | O_EXCL | O_WRONLY, mode: 0o600)
        let bytes = try Sys.readFile(receipt)
        try bytes.withUnsafeBytes { try Sys.writeAll(fd, $0, path: copy) }
        Sys.close(fd)
        try Sys.rename(copy, receipt)
        #expect(Sys.status(receipt)?.uid == 0)
        let tick = try asNobody(["tick"], now: "2026-11-20T12:05:00Z")
        #expect(tick.status == 1, "\(tick.stdoutText)\(tick.stderrText)")
        #expect(tick.stdoutText.contains("UNREADABLE receipt \(receipt)"), "\(tick.stdoutText)")
        #expect(tick.stderrText.contains("Permission denied"), "\(tick.stderrText)")
        let status = try asNobody(["status", "--json"], now: "2026-11-20T12:05:00Z")
        let report = try CanonicalJSON.decode(JSONValue.self, from: Data(status.stdout))
        #expect(report["unreadable"]?.array.map { $0["path"] } == [.string(receipt)], "\(status.stdoutText)")
    }
}
