import Foundation
import Testing

@testable import GovernanceCore

/// The state folder is the deployment: one profile in force (its active profile), one owner (its folder's),
/// one judge of who may act.
///
/// Each test runs the built executables as an operator, a scheduler or another user would.
@Suite struct DeploymentTruthTests {
    struct SetupError: Error {
        let what: String
        init(_ what: String) { self.what = what }
    }

    static let canSwitchUsers = Sys.kind("/usr/bin/setpriv") == .regular && Harness.canRunAsNobody

    /// Runs `arguments` under cron's empty environment (`env -i`, `PATH=/usr/bin:/bin`, `/bin/sh -c`).
    static func asCron(_ command: String, home: String) throws -> ChildResult {
        try ChildProcess.run(
            ChildSpec(
                executable: "/usr/bin/env",
                arguments: [
                    "-i", "PATH=/usr/bin:/bin", "HOME=" + home, "SHELL=/bin/sh", "LOGNAME=root", "/bin/sh", "-c",
                    "cd \"$HOME\" && " + command,
                ], deadline: 120))
    }

    @Test func theCronJobFollowsAnActivationAndARollback() throws {
        let h = try Harness()
        try h.importExamples()
        #expect(try h.run("rgov", ["init", "--profile", "minimal-solo-mode"]).status == 0)
        let crontab = h.dir + "/crontab"
        let installed = try h.run("rgov", ["cron", "install", "--crontab-file", crontab], pinned: false)
        #expect(installed.status == 0, "\(installed.stderr)")
        let line = try #require(
            CronSchedule.jobLine(state: h.state, in: String(decoding: try Sys.readFile(crontab), as: UTF8.self)))
        #expect(!line.contains("--profile"), "the job names no profile: \(line)")
        // The job's own command, as cron's shell reads it (a pinned clock appended for the test).
        let command =
            String(line.split(separator: " ", maxSplits: 5)[5]).replacingOccurrences(of: "\\%", with: "%")
            .replacingOccurrences(of: " >> ", with: " --now \(Harness.now) >> ")
        let home = h.dir + "/home"
        try Sys.makeDirectory(home)
        func profileOfLastRun() throws -> String {
            let log = String(decoding: try Sys.readFile(h.layout.tickLog), as: UTF8.self)
            let summary = try #require(log.split(separator: "\n").last { $0.contains("rgov tick: state ") })
            return String(summary.components(separatedBy: ", profile ").last?.split(separator: ",").first ?? "")
        }
        #expect(try Self.asCron(command, home: home).status == 0)
        #expect(try profileOfLastRun() == "minimal-solo-mode@1.0.0")
        #expect(try h.activate(Harness.teamTrial).status == 0)
        #expect(try Self.asCron(command, home: home).status == 0)
        #expect(try profileOfLastRun() == "standard-team-trial@1.0.0", "the activation took effect at the next run")
        #expect(try h.run("rgov", ["rollback", "--by", "e2e", "--reason", "back"]).status == 0)
        #expect(try Self.asCron(command, home: home).status == 0)
        #expect(try profileOfLastRun() == "minimal-solo-mode@1.0.0", "the rollback took effect at the next run")
    }

    @Test func aProfileOtherThanTheActiveOneIsRefusedAndChangesNothing() throws {
        let h = try Harness()
        try h.importExamples()
        #expect(try h.tick(profile: Harness.teamTrial).status == 0)
        let before = try h.snapshot(excluding: [])
        let other = try h.profile(named: "other", replacing: [("max_sends_per_tick: 500", "max_sends_per_tick: 400")])
        for (executable, arguments, env) in [
            ("rgov", ["tick", "--profile", other], [String: String]()),
            ("rgov", ["tick"], ["RGOV_PROFILE": "minimal-solo-mode"]),
            ("rgov-watchdog", ["--profile", other], [:]),
            ("rgov-bridge", [], ["RGOV_PROFILE": other]),
            ("rgov", ["hold", "ALL", "--by", "e2e"], ["RGOV_PROFILE": other]),
        ] {
            let r = try h.run(executable, arguments, env: env)
            #expect(r.status == 78, "\(executable) \(arguments) \(env): \(r.status) \(r.stderr)")
            #expect(
                r.stderr.contains("runs its active profile standard-team-trial@1.0.0")
                    && r.stderr.contains("rgov activate"), "\(r.stderr)")
        }
        #expect(try h.snapshot(excluding: []) == before, "no file changed")
        // The same profile named again is the one in force: it runs.
        #expect(try h.tick(profile: Harness.teamTrial, extra: ["--now", "2026-11-20T12:10:00Z"]).status == 0)
    }

    @Test func aNonOperatorStaysRefusedWhateverRunsOnTheState() throws {
        let h = try Harness()
        try h.importExamples()
        let guarded = try h.profile(
            from: "minimal-solo-mode", named: "guarded",
            audit: ["operators: [alice]"])
        let open = try h.profile(from: "minimal-solo-mode", named: "open", replacing: [("id: minimal", "id: open")])
        #expect(try h.run("rgov", ["init", "--profile", guarded]).status == 0)
        #expect(try h.tick().status == 0)
        let id = try #require(try h.notices().first { $0.state == .pending_external_send }?.notice_id)
        // Whatever a caller names, the state's profile judges.
        #expect(try h.tick(profile: open).status == 78)
        #expect(try h.run("rgov", ["ack", id, "--by", Sys.userName()], env: ["RGOV_PROFILE": open]).status == 78)
        #expect(try h.run("rgov", ["activate", open, "--by", Sys.userName(), "--reason", "mine"]).status == 77)
        #expect(try h.tick(extra: ["--now", "2026-11-20T12:10:00Z"]).status == 0)
        for arguments in [["ack", id], ["hold", "ALL"], ["release", "ALL"], ["rollback", "--reason", "x"]] {
            let r = try h.run("rgov", arguments + ["--by", Sys.userName()])
            #expect(r.status == 77, "\(arguments): \(r.status) \(r.stderr)")
        }
        #expect(try h.notices().first { $0.notice_id == id }?.state == .pending_external_send)
    }

    /// `spec.audit.readers` (and the operators) may read the evidence; anyone else is refused
    /// with 77, and the refusal is recorded (#31).
    @Test(arguments: [("[bob]", false), ("[]", false), ("[ROOT]", true), ("[group:GROUP]", true)])
    func onlyReadersAndOperatorsReadTheEvidence(readers: String, admitted: Bool) throws {
        let h = try Harness()
        try h.importExamples()
        let list = readers.replacingOccurrences(of: "ROOT", with: Sys.userName())
            .replacingOccurrences(of: "GROUP", with: Sys.groupNames().first ?? "root")
        let profile = try h.profile(
            from: "minimal-solo-mode", named: "readers",
            audit: ["operators: [alice]", "readers: \(list)"])
        #expect(try h.run("rgov", ["init", "--profile", profile]).status == 0)
        #expect(try h.tick().status == 0)
        let mission = try #require(try h.notices().first?.mission_id)
        for arguments in [["show", mission], ["ls"], ["status", "--json"], ["export", "--task", mission]] {
            let r = try h.run("rgov", arguments)
            #expect(r.status == (admitted ? 0 : 77), "\(arguments): \(r.status) \(r.stderr)")
            if !admitted { #expect(r.stderr.contains("spec.audit.readers") && r.stdout.isEmpty, "\(r.stderr)") }
        }
        #expect(try h.run("rgov", ["status"]).status == 0, "the plain overview stays open")
        let refusals = try h.layout.dayPartitions(in: h.layout.operatorActions).flatMap {
            try h.layout.files(in: h.layout.operatorActions(day: $0))
        }.map { try CanonicalJSON.decode(OperatorAction.self, from: try Sys.readFile($0)) }.filter { !$0.allowed }
        #expect(refusals.map(\.action).sorted() == (admitted ? [] : ["export", "ls", "show", "status"]))
        #expect(refusals.allSatisfy { $0.os_user == Sys.userName() && $0.result == "refused: not a reader" })
    }

    @Test func aMistypedStateIsRefusedAndNothingIsCreated() throws {
        let h = try Harness()
        let typo = h.dir + "/stat"
        for (executable, arguments) in [
            ("rgov", ["tick", "--state", typo]), ("rgov-watchdog", ["--state", typo]),
            ("rgov", ["ack", "ntc-x", "--by", "e2e", "--state", typo]), ("rgov", ["ls", "--state", typo]),
            ("rgov", ["export", "--state", typo]),
            ("rgov", ["cron", "install", "--state", typo, "--crontab-file", h.dir + "/crontab"]),
        ] {
            let r = try h.run(executable, arguments)
            #expect(r.status == 66, "\(executable) \(arguments): \(r.status) \(r.stderr)")
            #expect(r.stderr.contains("rgov init --state \(typo)"), "\(r.stderr)")
            #expect(Sys.kind(typo) == .missing, "\(executable) \(arguments) created \(typo)")
        }
        // rgov init makes it, once; and the README's first command makes the default ./state.
        let made = try h.run("rgov", ["init", "--state", typo, "--profile", "minimal-solo-mode", "--json"])
        #expect(made.status == 0 && Sys.status(typo)?.mode == 0o700, "\(made.stderr)")
        #expect(try h.run("rgov", ["init", "--state", typo]).status == 65)
        let fresh = h.dir + "/fresh"
        try Sys.makeDirectory(fresh)
        let first = try ChildProcess.run(
            ChildSpec(
                executable: "/bin/sh",
                arguments: [
                    "-c",
                    "cd '\(fresh)' && exec '\(Harness.bin)/rgov' tick --missions-from '\(Harness.repoRoot)/examples/missions' "
                        + "--now \(Harness.now)",
                ], deadline: 120))
        #expect(
            first.status == 0 && first.stdoutText.hasPrefix("initialised a new state at ./state"), "\(first.stdoutText)"
        )
        #expect(Sys.status(fresh + "/state")?.mode == 0o700)
    }

    @Test(.enabled(if: canSwitchUsers, "needs root, setpriv and the user nobody"))
    func rootActsOnAServiceUsersStateAsItsOwner() throws {
        let h = try Harness(reachable: true)
        chmod(h.dir, 0o755)
        Sys.removeTree(h.state)
        let made = try h.run("rgov", ["init", "--profile", "minimal-solo-mode", "--owner", "nobody"])
        #expect(made.status == 0, "\(made.stderr)")
        func asNobody(_ arguments: [String], now: String = Harness.now) throws -> ChildResult {
            try ChildProcess.run(
                ChildSpec(
                    executable: "/usr/bin/setpriv",
                    arguments: ["--reuid=nobody", "--regid=nogroup", "--clear-groups", "--", h.binaries + "/rgov"]
                        + arguments + ["--state", h.state, "--now", now],
                    environment: ["PATH": "/usr/bin:/bin"], deadline: 120))
        }
        try DurableFile.write(
            try Sys.readFile(Harness.repoRoot + "/examples/missions/crm-overdue-02.json"),
            to: h.dir + "/crm-overdue-02.json")
        chmod(h.dir + "/crm-overdue-02.json", 0o644)
        let tick = try asNobody(["tick", "--missions-from", h.dir])
        #expect(tick.status == 0, "\(tick.stderrText)")
        let id = try #require(try h.notices().first?.notice_id)
        // Root (an on-call person under sudo) acks: it acts as the owner, and says who it was.
        let ack = try h.run("rgov", ["ack", id, "--by", "oncall"], env: ["SUDO_USER": "oncall"])
        #expect(ack.status == 0, "\(ack.stderr)")
        var foreign: [String] = []
        let nobody = try #require(StateOwner.user(named: "nobody"))
        let enumerator = FileManager.default.enumerator(atPath: h.state)
        while let relative = enumerator?.nextObject() as? String {
            if let st = Sys.status(h.state + "/" + relative), st.uid != nobody.uid { foreign.append(relative) }
        }
        #expect(foreign.isEmpty, "entries not the owner's: \(foreign)")
        let action = try #require(
            try h.layout.datedFiles(in: h.layout.operatorActions).compactMap {
                try? CanonicalJSON.decode(OperatorAction.self, from: try Sys.readFile($0))
            }.first { $0.action == "ack" })
        #expect(action.os_user == "root" && action.sudo_user == "oncall" && action.by == "oncall")
        let next = try asNobody(["tick"], now: "2026-11-20T12:10:00Z")
        #expect(next.status == 0, "the service user's next tick: \(next.stderrText)")
        #expect(try asNobody(["ls"]).status == 0)
        // Another user who is not root is refused, naming the owner.
        let other = try ChildProcess.run(
            ChildSpec(
                executable: "/usr/bin/setpriv",
                arguments: [
                    "--reuid=daemon", "--regid=daemon", "--clear-groups", "--", h.binaries + "/rgov", "tick", "--state",
                    h.state,
                ], environment: ["PATH": "/usr/bin:/bin"], deadline: 120))
        #expect(other.status == 77 && other.stderrText.contains("belongs to nobody"), "\(other.stderrText)")
    }

    @Test func doctorFailsOnAQueueFolderReplacedByAFileAndNamesTheActiveProfile() throws {
        let h = try Harness()
        try h.importExamples()
        #expect(try h.tick(profile: Harness.teamTrial).status == 0)
        let healthy = try h.run("rgov", ["doctor", "--json"])
        let profileLine = try #require(
            healthy.json?["checks"]?.array.first { $0["check"] == .string("profile") }?["detail"]?.stringValue)
        #expect(profileLine.contains("active profile standard-team-trial@1.0.0"), "\(profileLine)")
        Sys.removeTree(h.layout.queue)
        try DurableFile.write(Data("not a folder\n".utf8), to: h.layout.queue)
        let broken = try h.run("rgov", ["doctor", "--json"])
        #expect(broken.status == 1, "\(broken.stdout)")
        let layout = try #require(broken.json?["checks"]?.array.first { $0["check"] == .string("layout") })
        #expect(layout["status"] == .string("fail"), "\(broken.stdout)")
        #expect(layout["detail"]?.stringValue?.contains(h.layout.queue + " is not a folder") == true)
        // A link planted where a folder belongs is named too.
        try Sys.makeDirectory(h.dir + "/elsewhere")
        Sys.removeTree(h.layout.metrics)
        #expect(symlink(h.dir + "/elsewhere", h.layout.metrics) == 0)
        let linked = try h.run("rgov", ["doctor", "--json"])
        let named = try #require(linked.json?["checks"]?.array.first { $0["check"] == .string("layout") })
        #expect(
            named["detail"]?.stringValue?.contains(h.layout.metrics + " is a symbolic link") == true, "\(linked.stdout)"
        )
        #expect(try Sys.listDirectory(h.dir + "/elsewhere").isEmpty, "doctor wrote nothing through the link")
    }

    @Test func doctorJudgesTheScheduledJob() throws {
        let h = try Harness()
        #expect(try h.run("rgov", ["init", "--profile", "standard-team-mode"]).status == 0)
        let crontab = h.dir + "/crontab"
        // An older rgov's line: it pins a profile, runs rarely and has cron's own PATH.
        let old =
            "# BEGIN rgov \(h.state)\n*/30 * * * * umask 077; \(Harness.bin)/rgov tick --state \(h.state) --profile "
            + "minimal-solo-mode >> \(h.state)/logs/tick.log 2>&1\n# END rgov \(h.state)\n"
        try DurableFile.write(Data(old.utf8), to: crontab)
        let doctor = try h.run("rgov", ["doctor", "--crontab-file", crontab, "--json"])
        var checks: [String: String] = [:]
        for check in doctor.json?["checks"]?.array ?? [] {
            if let name = check["check"]?.stringValue, let status = check["status"]?.stringValue {
                checks[name] = status
            }
        }
        #expect(checks["scheduler profile"] == "warn", "\(doctor.stdout)")
        #expect(checks["scheduler interval"] == "warn", "\(doctor.stdout)")
        #expect(checks["scheduler path"] == "warn", "openclaw is not on /usr/bin:/bin: \(doctor.stdout)")
        #expect(doctor.stdout.contains("pins --profile minimal-solo-mode"))
    }

    @Test func anActivatedWebhookProfileWithItsURLInTheFileRuns() throws {
        let h = try Harness()
        try SenderTests.oneNotice(h)
        let (base, log) = try SenderTests.receiver(h)
        let secretPath = "/T0PSECRETHOOK/ok"
        let hook = try SenderTests.webhookProfile(h, "hook", url: base + secretPath)
        #expect(try h.activate(hook).status == 0)
        #expect(try h.tick().status == 0)
        #expect(SenderTests.requests(log).count == 1, "the URL in the file was used")
        let notice = try #require(try h.notices().first { $0.notice_kind == .finding })
        #expect(notice.state_reason == "sent_unconfirmed")
        #expect(try h.run("rgov", ["hold", "ALL", "--by", "e2e", "--reason", "outage"]).status == 0)
        #expect(try h.run("rgov", ["release", "ALL", "--by", "e2e"]).status == 0)
        let ack = try h.run("rgov", ["ack", notice.notice_id, "--by", "e2e"])
        #expect(ack.status == 0, "\(ack.stderr)")
        // The verbs an outage needs run the profile as written, never the redacted snapshot.
        for arguments in [["requeue", "ALL", "--reason", "outage"], ["prune", "--dry-run"]] {
            let r = try h.run("rgov", arguments + ["--by", "e2e"])
            #expect(r.status != 78 && !r.stderr.contains("needs binding.url"), "\(arguments): \(r.stderr)")
        }
        let export = try h.run("rgov", ["export", "--task", "m-send", "--json"])
        #expect(export.status == 0, "\(export.stderr)")
        for (file, bytes) in try h.snapshot(excluding: ["profile-private/"]) {
            #expect(!String(decoding: bytes, as: UTF8.self).contains("T0PSECRETHOOK"), "the URL in \(file)")
        }
    }

    /// An attestation is judged by the profile in force when it was made, and a `group:` entry
    /// admits only a user the ack recorded in that group.
    @Test func verifyAdmitsAGroupsMembersAndNobodyElse() throws {
        let h = try Harness()
        try SenderTests.oneNotice(h)
        let group = try #require(Sys.groupNames().first)
        let members = try h.profile(
            from: "minimal-solo-mode", named: "members",
            audit: ["operators: [daemon, \"group:\(group)\"]"])
        #expect(try h.run("rgov", ["init", "--profile", members]).status == 0)
        #expect(try h.tick().status == 0)
        let id = try #require(try h.notices().first { $0.notice_kind == .finding }?.notice_id)
        let ack = try h.run("rgov", ["ack", id, "--by", Sys.userName()])
        #expect(ack.status == 0, "a member of \(group) may attest: \(ack.stderr)")
        let export = try h.run("rgov", ["export", "--task", "m-send", "--json"])
        let bundle = try #require(export.json?["bundle"]?.stringValue, "\(export.stderr)")
        let verified = try h.run("rgov", ["verify", bundle])
        #expect(verified.status == 0, "\(verified.stdout)\(verified.stderr)")
        // The same records, as if the ack had named a user in no listed group.
        let notice = try #require(try h.notices().first { $0.notice_id == id })
        #expect(notice.ack_evidence?.os_groups?.contains(group) == true, "the ack recorded the groups")
        let receipts = try h.receipts().filter { $0.notice_id == id }
        let profile = try DeploymentProfile.parse(
            String(decoding: try Sys.readFile(members), as: UTF8.self), file: members)
        let bySHA = [profile.sha256: profile]
        #expect(AuditVerify.checkEvidence(notice, receipts: receipts, profile: profile, profilesBySHA: bySHA).isEmpty)
        guard case .object(var fields) = try CanonicalJSON.decode(JSONValue.self, from: CanonicalJSON.encode(notice)),
            case .object(var evidence)? = fields["ack_evidence"]
        else { throw SetupError("an acked notice has evidence") }
        evidence["os_user"] = .string("nobody")
        evidence["os_groups"] = .array([.string("nogroup")])
        fields["ack_evidence"] = .object(evidence)
        let stranger = try CanonicalJSON.decode(Notice.self, from: CanonicalJSON.encode(JSONValue.object(fields)))
        let refused = AuditVerify.checkEvidence(stranger, receipts: receipts, profile: profile, profilesBySHA: bySHA)
        #expect(refused.count == 1 && refused[0].contains("not an operator"), "\(refused)")
    }
}
