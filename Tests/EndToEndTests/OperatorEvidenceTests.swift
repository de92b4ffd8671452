import Foundation
import Testing

@testable import GovernanceCore

/// Operator verbs take what rgov prints, and leave nothing behind when stopped.
@Suite struct OperatorEvidenceTests {
    /// `rgov approvals` lists a writeback as `MISSION/WRITEBACK`; `approve` and `reject` take it so.
    @Test(arguments: ["approve", "reject"])
    func aDecisionTakesTheIdAsApprovalsPrintsIt(verb: String) throws {
        let h = try Harness()
        try h.importExamples()
        #expect(try h.run("rgov-watchdog", ["--profile", Harness.teamTrial]).status == 0)
        let listed = try h.run("rgov", ["approvals", "--profile", Harness.teamTrial])
        let id = try #require(listed.stdout.split(separator: "\n").first?.split(separator: " ").first.map(String.init))
        #expect(id == "crm-overdue-02/wb-crm-02-1", "\(listed.stdout)")
        let elsewhere = try h.run("rgov", [verb, "oracle-writeback-08/wb-crm-02-1", "--by", "alice", "--reason", "x"])
        #expect(elsewhere.status == 66, "another mission does not have it: \(elsewhere.stderr)")
        let decided = try h.run("rgov", [verb, id, "--by", "alice", "--reason", "checked the diff"])
        #expect(decided.status == 0, "\(decided.stderr)")
        #expect(decided.stdout.contains("\(verb) \(id) by alice"), "\(decided.stdout)")
        let recorded = try #require(WritebackApproval.load(h.layout)[id])
        #expect(recorded.decision == (verb == "approve" ? .approve : .reject) && recorded.writeback_id == "wb-crm-02-1")
        #expect(
            try h.run("rgov", ["approvals", "--profile", Harness.teamTrial]).stdout.contains(
                "-- 0 writebacks awaiting approval"))
        let again = try h.run("rgov", [verb, id, "--by", "bob", "--reason", "again"])
        #expect(again.status == 65 && again.stderr.contains("already decided"), "\(again.stderr)")
    }

    /// `rgov verify` stopped while it unpacks an archive removes its scratch folder and exits
    /// 128 + the signal, like every rgov process asked to stop.
    @Test(arguments: [SIGTERM, SIGHUP])
    func aStoppedVerifyRemovesItsScratchFolder(signal: Int32) throws {
        let h = try Harness()
        // A private TMPDIR: no other test's verify is counted.
        let scratch = h.dir + "/tmp"
        try Sys.makeDirectory(scratch)
        let tar = h.dir + "/large.tar"
        let made = try ChildProcess.run(
            ChildSpec(
                executable: "/usr/bin/env",
                arguments: [
                    "python3", "-c",
                    "import io,tarfile\nt=tarfile.open('\(tar)','w')\nfor n in range(20000):\n"
                        + " i=tarfile.TarInfo('b/f%05d.json' % n);i.size=2;t.addfile(i,io.BytesIO(b'{}'))\nt.close()",
                ], deadline: 120))
        try #require(made.status == 0, "\(made.stderrText)")
        // Python starts verify (with no signal blocked, as cron or systemd would), waits on the
        // effect, bounded (the scratch folder exists), signals it and reports how it ended.
        let driver =
            "import os,subprocess,sys,time\nscratch,tar,rgov,sig=sys.argv[1],sys.argv[2],sys.argv[3],int(sys.argv[4])\n"
            + "p=subprocess.Popen([rgov,'verify',tar],env=dict(os.environ,TMPDIR=scratch),"
            + "stdout=subprocess.DEVNULL,stderr=subprocess.DEVNULL)\n"
            + "def unpacking(): return any(n.startswith('rgov-verify-') for n in os.listdir(scratch))\n"
            + "for _ in range(3000):\n if unpacking() or p.poll() is not None: break\n time.sleep(0.01)\n"
            + "seen=unpacking()\np.send_signal(sig)\n"
            + "try: rc=p.wait(30)\nexcept subprocess.TimeoutExpired: p.kill(); p.wait(); rc='timeout'\n"
            + "print(seen, rc)"
        let run = try ChildProcess.run(
            ChildSpec(
                executable: "/usr/bin/env",
                arguments: ["python3", "-c", driver, scratch, tar, Harness.bin + "/rgov", String(signal)],
                deadline: 120))
        // Python says -N for a child a signal killed, N for one that exited N.
        #expect(
            run.stdoutText == "True \(128 + signal)\n",
            "unpacking seen, exit status: \(run.stdoutText)\(run.stderrText)")
        #expect(try Sys.listDirectory(scratch).isEmpty, "the scratch folder was removed")
    }
}
