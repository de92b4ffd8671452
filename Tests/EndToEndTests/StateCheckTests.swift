import Foundation
import Testing

@testable import GovernanceCore

/// `rgov check-state` (and `scripts/check-state`): clean after real runs, and each broken
/// invariant named with its file.
@Suite struct StateCheckTests {
    /// A state after a whole tick with the trial shim: every notice acked, with receipts.
    static func state() throws -> Harness {
        let h = try Harness()
        try h.importExamples()
        #expect(try h.tick(profile: Harness.teamTrial).status == 0)
        return h
    }

    static func check(_ h: Harness) throws -> (status: Int32, invariants: [String]) {
        let run = try h.run("rgov", ["check-state", "--json"])
        let report = try? CanonicalJSON.decode(StateCheck.Report.self, from: Data(run.stdout.utf8))
        return (run.status, report?.violations.map(\.invariant) ?? ["no report: \(run.stderr)"])
    }

    static func acked(_ h: Harness) throws -> (path: String, notice: Notice) {
        let path = try #require(try h.layout.datedFiles(in: h.layout.notices(.acked)).first)
        return (path, try NoticeStore(layout: h.layout).read(path))
    }

    /// The corpus: what breaks, and the invariant that must be named.
    static var corpus: [(String, String, (Harness) throws -> Void)] {
        [
            (
                "a notice in two state folders", "duplicate_notice",
                { h in
                    let (path, notice) = try acked(h)
                    try DurableFile.write(
                        try Sys.readFile(path), to: h.layout.artifact(notice.notice_id, in: h.layout.notices(.queued)))
                }
            ),
            (
                "a half-written notice", "unreadable",
                { h in try DurableFile.write(Data("{\"notice_id\": \"ntc-".utf8), to: try acked(h).path) }
            ),
            (
                "acked without evidence", "evidence",
                { h in
                    let (path, _) = try acked(h)
                    let text = String(decoding: try Sys.readFile(path), as: UTF8.self)
                    guard case .object(var o) = try CanonicalJSON.decode(JSONValue.self, from: Data(text.utf8)) else {
                        return
                    }
                    o["ack_evidence"] = nil
                    try DurableFile.write(try CanonicalJSON.encodeFile(JSONValue.object(o)), to: path)
                }
            ),
            (
                "a receipt whose notice is gone", "orphan_receipt",
                { h in
                    let (path, notice) = try acked(h)
                    try Sys.unlink(path)
                    _ = notice
                }
            ),
            (
                "a filed attempt without its receipt", "attempt",
                { h in
                    let receipt = try #require(try h.layout.datedFiles(in: h.layout.receipts).first)
                    try Sys.unlink(receipt)
                }
            ),
            (
                "a mission chain with a link removed", "mission_chain",
                { h in
                    let chain = h.layout.chain("crm-overdue-02")
                    var lines = String(decoding: try Sys.readFile(chain), as: UTF8.self).split(separator: "\n")
                    lines.remove(at: 1)
                    try DurableFile.write(Data((lines.joined(separator: "\n") + "\n").utf8), to: chain)
                }
            ),
            (
                "a notice outside the folder of its state", "misfiled",
                { h in
                    let (path, notice) = try acked(h)
                    try DurableFile.move(path, to: h.layout.artifact(notice.notice_id, in: h.layout.notices(.queued)))
                }
            ),
            (
                "an open finding whose notice is gone", "finding_without_notice",
                { h in
                    let (path, notice) = try acked(h)
                    try Sys.unlink(path)
                    for receipt in try h.layout.datedFiles(in: h.layout.receipts)
                    where (receipt as NSString).lastPathComponent.hasPrefix("rcp-" + notice.notice_id) {
                        try Sys.unlink(receipt)
                    }
                }
            ),
            (
                "a temporary of a dead process", "stale_temporary",
                { h in
                    try DurableFile.write(
                        Data("{}".utf8), to: h.layout.notices(.queued) + "/.ntc-x.json.2147483646.0.tmp")
                }
            ),
        ]
    }

    @Test func aCleanStateHasNoViolationsAndEachBrokenInvariantIsNamed() throws {
        let clean = try Self.state()
        #expect(try Self.check(clean) == (0, []))
        let script = try ChildProcess.run(
            ChildSpec(
                executable: "/bin/bash", arguments: [Harness.repoRoot + "/scripts/check-state", clean.state],
                environment: ["PATH": "/usr/bin:/bin", "RGOV": Harness.bin + "/rgov"], deadline: 60))
        #expect(script.status == 0 && script.stdoutText.contains("0 violations"), "\(script.stdoutText)")
        for (name, invariant, breakIt) in Self.corpus {
            let h = try Self.state()
            try breakIt(h)
            let (status, invariants) = try Self.check(h)
            #expect(status == 1 && invariants.contains(invariant), "\(name): \(invariants)")
        }
    }
}

/// The soak in small: every named fault point and random SIGKILLs of the tick tree, with the
/// shim, command and webhook senders and operator verbs racing the bridge; recovered and checked.
@Suite struct SoakTests {
    @Test func aSmallSoakFindsNoViolation() throws {
        var environment = ProcessInfo.processInfo.environment
        environment["RGOV_BIN"] = Harness.bin
        environment["RGOV_FAULT"] = nil
        let run = try ChildProcess.run(
            ChildSpec(
                executable: "/usr/bin/env",
                arguments: ["python3", Harness.repoRoot + "/scripts/soak", "--trials", "204", "--seed", "3", "--json"],
                environment: environment, deadline: 900))
        let report = try CanonicalJSON.decode(JSONValue.self, from: Data(run.stdout))
        #expect(run.status == 0, "\(run.stdoutText)\(run.stderrText)")
        #expect(report["violations_per_invariant"] == .object([:]), "\(run.stdoutText)")
        guard case .object(let points)? = report["trials_per_point"] else {
            Issue.record("no trials table: \(run.stdoutText)")
            return
        }
        let covered = Set(points.keys.map { String($0.split(separator: " ")[0]) })
        for point in FaultInjection.points {
            #expect(covered.contains(point), "\(point) was never armed")
        }
        #expect(covered.contains("random"))
        for verb in ["hold", "release", "ack", "requeue"] {
            guard case .number(let n)? = report["verbs_racing"]?[verb] else {
                Issue.record("\(verb) never raced the tick: \(run.stdoutText)")
                continue
            }
            #expect(n >= 1)
        }
    }
}

/// A clock set back, or far forward, between ticks.
@Suite struct ClockFaultTests {
    @Test func aClockSetBackIsToldOnceAndResolvesNothing() throws {
        let h = try Harness()
        try h.importExamples()
        #expect(try h.tick(profile: Harness.teamTrial).status == 0)
        let before = try h.notices()
        let back = try h.tick(profile: Harness.teamTrial, extra: ["--now", "2026-11-20T10:00:00Z"])
        #expect(back.status == 0 && back.stderr.components(separatedBy: "the clock went back 2h 00m").count == 2)
        #expect(try h.notices().count == before.count, "no condition is resolved because time went backwards")
        guard case .string(let artifact)? = back.json?["stages"]?.array.first?["report"]?["run_artifact"] else {
            Issue.record("no run artifact in \(back.stdout)")
            return
        }
        let run = try CanonicalJSON.decode(WatchdogRun.self, from: try Sys.readFile(artifact))
        #expect(run.clock_behind_ms == 7_200_000 && run.episodes_resolved == 0)
        #expect(Watchdog.latestRun(h.layout)?.run_id == run.run_id, "the latest run is the one made last")
        let still = try h.tick(profile: Harness.teamTrial, extra: ["--now", "2026-11-20T10:30:00Z"])
        #expect(still.status == 0 && !still.stderr.contains("clock went back"), "told once")
        let listed = try h.run("rgov", ["ls", "--now", "2026-11-20T10:00:00Z"])
        #expect(listed.stdout.contains("clock went back") && !listed.stdout.contains("-7200s"), "\(listed.stdout)")
        #expect(try h.run("rgov", ["check-state"]).status == 0)
    }

    /// Escalation under a clock set back: none while behind, one per open episode once the window
    /// has passed on the clock, and never another.
    @Test func escalationStillEndsOnceAfterAClockSetBack() throws {
        let h = try Harness()
        try h.importExamples()
        let sender = try h.script("accept.sh", "cat > /dev/null; echo '{\"ok\":true}'")
        let profile = try h.profile(
            named: "unacked",
            replacing: [
                (
                    "      mode: shim\n      timeout_ms: 10000\n",
                    "      mode: command\n      timeout_ms: 5000\n      binding:\n        command: [\(sender)]\n"
                )
            ])
        func escalations() throws -> [String: Int] {
            var per: [String: Int] = [:]
            for n in try h.notices() where n.notice_kind == .escalation { per[n.episode_id, default: 0] += 1 }
            return per
        }
        #expect(try h.tick(profile: profile).status == 0)
        let first = try h.notices().filter { $0.notice_kind == .finding }
        #expect(first.count == Harness.exampleNotices && first.allSatisfy { $0.state == .pending_external_send })
        var before: [String: Int] = [:]
        for (now, behind) in [
            ("2026-11-20T12:30:00Z", false), ("2026-11-20T10:00:00Z", true), ("2026-11-20T10:59:00Z", true),
            ("2026-11-20T13:01:00Z", false), ("2026-11-20T13:30:00Z", false), ("2026-11-20T09:00:00Z", true),
            ("2026-11-20T14:00:00Z", false),
        ] {
            let run = try h.tick(profile: profile, extra: ["--now", now])
            #expect(run.status == 0, "\(now): \(run.stderr)")
            let after = try escalations()
            if behind { #expect(after == before, "nothing escalates while the clock is behind (\(now))") }
            #expect(after.values.allSatisfy { $0 == 1 }, "one escalation per episode at \(now): \(after)")
            if now == "2026-11-20T13:01:00Z" {
                #expect(Set(first.map(\.episode_id)).isSubset(of: after.keys), "every unacked finding escalated")
            }
            before = after
        }
        #expect(try h.run("rgov", ["check-state"]).status == 0)
    }

    @Test func theYear9999DoesNotOverflow() throws {
        let h = try Harness()
        try h.importExamples()
        #expect(try h.tick(profile: Harness.teamTrial).status == 0)
        let far = try h.tick(profile: Harness.teamTrial, extra: ["--now", "9999-12-31T23:59:59Z"])
        #expect(far.status == 0, "\(far.stderr)")
        #expect(try h.run("rgov", ["status", "--now", "9999-12-31T23:59:59Z"]).status == 0)
        #expect(try h.run("rgov", ["check-state"]).status == 0)
    }
}

/// Power-loss crash states: a journaled run, every state a power cut could leave rebuilt from
/// the journal, each recovered by a tick and checked.
@Suite struct CrashStatesTests {
    /// Runs `scripts/crash-states` on `journal`, returning its exit status and JSON report.
    static func crashStates(_ journal: String, states: Int) throws -> (Int32, JSONValue, String) {
        var environment = ProcessInfo.processInfo.environment
        environment["RGOV_BIN"] = Harness.bin
        environment["RGOV_FAULT"] = nil
        environment["RGOV_STORE_JOURNAL"] = nil
        let run = try ChildProcess.run(
            ChildSpec(
                executable: "/usr/bin/env",
                arguments: [
                    "python3", Harness.repoRoot + "/scripts/crash-states", journal, "--max-states", String(states),
                    "--json",
                ],
                environment: environment, deadline: 900))
        return (run.status, try CanonicalJSON.decode(JSONValue.self, from: Data(run.stdout)), run.stdoutText)
    }

    @Test func everyPowerCutOfAFirstAndALaterTickRecoversClean() throws {
        let h = try Harness()
        try h.importExamples()
        // Each journal is replayed against the state its run left (untouched files come from it).
        for (name, now) in [("first", Harness.now), ("later", "2026-11-20T18:00:00Z")] {
            let journal = h.dir + "/" + name + ".journal"
            let run = try h.tick(
                profile: Harness.teamTrial, env: ["RGOV_STORE_JOURNAL": journal], extra: ["--now", now])
            #expect(run.status == 0)
            let (status, report, text) = try Self.crashStates(journal, states: 50)
            #expect(status == 0, "\(text)")
            #expect(report["violations_per_invariant"] == .object([:]), "\(text)")
            guard case .number(let states)? = report["crash_states"] else {
                Issue.record("no count: \(text)")
                continue
            }
            #expect(states >= 25, "\(text)")
            let lines = try String(decoding: Sys.readFile(journal, limit: 64 << 20), as: UTF8.self)
            for op in ["syncfs", "rename", "link", "prior", "fsync", "write", "create", "unlink"] {
                #expect(lines.contains("\"op\":\"\(op)\""), "the journal records \(op)")
            }
        }
    }

    /// A stage run alone (as an operator or a per-stage timer would) that stores a new profile and
    /// then has nothing to commit: every power cut leaves no temporary that no sweep can find (the
    /// profile snapshot's temporary used to be removed without a barrier, then the process's
    /// registry of temporaries).
    @Test func aStageRunAloneAfterAProfileChangeRecoversClean() throws {
        let h = try Harness()
        try h.importExamples()
        #expect(try h.tick().status == 0)
        let changed = try h.profile(
            from: "minimal-solo-mode", named: "solo-changed",
            replacing: [("repeat_interval_ms: 86400000", "repeat_interval_ms: 86400001")])
        #expect(try h.activate(changed).status == 0)
        let journal = h.dir + "/dispatcher.journal"
        let run = try h.run(
            "rgov-dispatcher", ["--profile", changed], env: ["RGOV_STORE_JOURNAL": journal])
        #expect(run.status == 0, "\(run.stderr)")
        let (status, report, text) = try Self.crashStates(journal, states: 50)
        #expect(status == 0, "\(text)")
        #expect(report["violations_per_invariant"] == .object([:]), "\(text)")
        #expect((report["crash_states"]?.int ?? 0) >= 10, "\(text)")
    }

    /// The same run with its barriers taken out of the journal: the checker must find what a
    /// power cut then breaks (so the clean result above is not a checker that cannot fail).
    @Test func withoutItsBarriersTheSameRunBreaks() throws {
        let h = try Harness()
        try h.importExamples()
        let journal = h.dir + "/journal"
        #expect(try h.tick(profile: Harness.teamTrial, env: ["RGOV_STORE_JOURNAL": journal]).status == 0)
        let text = String(decoding: try Sys.readFile(journal, limit: 64 << 20), as: UTF8.self)
        let stripped = text.split(separator: "\n").filter { !$0.contains("\"op\":\"syncfs\"") }
        try DurableFile.write(Data((stripped.joined(separator: "\n") + "\n").utf8), to: journal)
        let (status, report, output) = try Self.crashStates(journal, states: 40)
        #expect(status == 1, "\(output)")
        guard case .object(let found)? = report["violations_per_invariant"] else {
            Issue.record("no violations table: \(output)")
            return
        }
        #expect(found["finding_without_notice"] != nil || found["unreadable"] != nil, "\(output)")
    }
}

/// A chain whose last append a power cut tore (found by `scripts/crash-states`): the live state
/// is clean (the next append cuts the tail), and export cuts it before copying, so the bundle
/// verifies.
@Suite struct TornChainTests {
    @Test func aTornChainTailIsCleanLiveAndExportsWhole() throws {
        let h = try Harness()
        try h.importExamples()
        #expect(try h.tick(profile: Harness.teamTrial).status == 0)
        let chain = h.layout.chain("crm-overdue-02")
        let fd = try Sys.open(chain, O_WRONLY | O_APPEND)
        try Array("{\"kind\":\"ev".utf8).withUnsafeBytes { try Sys.writeAll(fd, $0, path: chain) }
        Sys.close(fd)
        #expect(try h.run("rgov", ["check-state"]).status == 0)
        let export = try h.run("rgov", ["export", "--task", "crm-overdue-02", "--json"])
        #expect(export.status == 0, "\(export.stderr)")
        guard case .string(let bundle)? = export.json?["bundle"] else {
            Issue.record("no bundle: \(export.stdout)\(export.stderr)")
            return
        }
        #expect(try Sys.readFile(chain).last == 0x0a, "the torn tail was cut")
        #expect(try h.run("rgov", ["verify", bundle]).status == 0)
    }
}

/// Permission faults made real: root ignores file modes, so the stage runs as an unprivileged
/// user (`setpriv`), or a folder is replaced by a file.
@Suite struct PermissionFaultTests {
    static let canDropPrivileges = Sys.kind("/usr/bin/setpriv") == .regular && Harness.canRunAsNobody

    @Test(
        .enabled(
            if: canDropPrivileges, "needs root, setpriv, the nobody user and a temporary folder every user can enter"))
    func aTickAsAUserWhoCannotWriteTheStateFailsCleanlyAndRootRecovers() throws {
        let h = try Harness(reachable: true)
        try h.importExamples()
        chmod(h.dir, 0o755)
        chmod(h.state, 0o755)
        let denied = try ChildProcess.run(
            ChildSpec(
                executable: "/usr/bin/setpriv",
                arguments: [
                    "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--", h.binaries + "/rgov", "tick",
                    "--state", h.state, "--profile", try Harness.reachableInstall().teamTrial, "--now", Harness.now,
                ],
                environment: ["PATH": "/usr/bin:/bin"], deadline: 120))
        #expect(denied.status == 77, "not the owner: \(denied.stderrText)")
        #expect(
            denied.stderrText.contains(h.state) && denied.stderrText.contains("belongs to root")
                && denied.stderrText.contains("only as its owner"), "\(denied.stderrText)")
        #expect(try h.notices().isEmpty, "nothing half-made")
        #expect(try h.tick(profile: Harness.teamTrial).status == 0)
        #expect(try h.notices().count == Harness.exampleNotices)
        #expect(try h.run("rgov", ["check-state"]).status == 0)
    }

    @Test func aFileWhereAFolderBelongsIsNamedAndNothingIsLost() throws {
        let h = try Harness()
        try h.importExamples()
        #expect(try h.tick(profile: Harness.teamTrial).status == 0)
        let day = h.layout.receipts + "/2026-11-21"
        try Sys.makeDirectory(h.layout.receipts)
        try DurableFile.write(Data("not a folder\n".utf8), to: day)
        let blocked = try h.tick(profile: Harness.teamTrial, extra: ["--now", "2026-11-21T12:00:00Z"])
        #expect(blocked.status != 0, "\(blocked.stdout)")
        #expect(blocked.stderr.contains(day), "the path is named: \(blocked.stderr)")
        let pending = try h.notices().filter { !$0.state.isFinal }
        try Sys.unlink(day)
        #expect(try h.tick(profile: Harness.teamTrial, extra: ["--now", "2026-11-21T12:05:00Z"]).status == 0)
        #expect(try h.notices().filter { !$0.state.isFinal }.count <= pending.count)
        #expect(try h.run("rgov", ["check-state"]).status == 0)
    }

    @Test func filesAre0600AndFoldersAre0700WhateverTheUmask() throws {
        let h = try Harness()
        try h.importExamples()
        let run = try ChildProcess.run(
            ChildSpec(
                executable: "/bin/sh",
                arguments: [
                    "-c",
                    "umask 000; exec '\(Harness.bin)/rgov' tick --state '\(h.state)' --profile '\(Harness.teamTrial)' "
                        + "--now \(Harness.now)",
                ], deadline: 120))
        #expect(run.status == 0, "\(run.stderrText)")
        var checked = 0
        func walk(_ path: String) {
            guard let mode = Sys.status(path)?.mode else { return }
            checked += 1
            if Sys.kind(path) == .directory {
                #expect(mode & 0o077 == 0, "\(path) is \(String(mode, radix: 8))")
                for name in (try? Sys.listDirectory(path)) ?? [] { walk(path + "/" + name) }
            } else {
                #expect(mode & 0o077 == 0, "\(path) is \(String(mode, radix: 8))")
            }
        }
        walk(h.state)
        #expect(checked > 50)
    }
}

/// A full disk: the state on a 2 MB tmpfs filled to several levels.
///
/// Every run fails cleanly (an exit status, never a signal), and once space is back a tick
/// recovers to a clean state.
@Suite struct DiskFullTests {
    static func mount(_ point: String) -> Bool {
        (try? ChildProcess.run(
            ChildSpec(
                executable: "/bin/mount", arguments: ["-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs", point],
                deadline: 30)))?.status == 0
    }

    static let canMount: Bool = {
        guard getuid() == 0, Sys.kind("/bin/mount") == .regular else { return false }
        let probe = NSTemporaryDirectory() + "rgov-mount-probe-" + UUID().uuidString.prefix(8)
        guard (try? Sys.makeDirectory(probe)) != nil else { return false }
        defer { Sys.removeEmptyDirectory(probe) }
        guard mount(probe) else { return false }
        _ = try? ChildProcess.run(ChildSpec(executable: "/bin/umount", arguments: [probe], deadline: 30))
        return true
    }()

    @Test(.enabled(if: canMount, "needs root and mount(8) for a small tmpfs"), arguments: [0, 8, 24, 64, 160, 400])
    func aFullDiskFailsCleanlyAndRecovers(freeKiB: Int) throws {
        let h = try Harness()
        let disk = h.dir + "/disk"
        try Sys.makeDirectory(disk)
        #expect(Self.mount(disk))
        defer {
            _ = try? ChildProcess.run(ChildSpec(executable: "/bin/umount", arguments: ["-l", disk], deadline: 30))
        }
        let state = disk + "/state"
        let layout = StateLayout(root: state)
        try layout.prepare()
        for name in try Sys.listDirectory(Harness.repoRoot + "/examples/missions") where name.hasSuffix(".json") {
            try DurableFile.write(
                try Sys.readFile(Harness.repoRoot + "/examples/missions/" + name), to: layout.missions + "/" + name)
        }
        // Fill what is left but `freeKiB`.
        let filler = disk + "/filler"
        let free = Int(Sys.freeSpace(disk)?.available ?? 0)
        let fd = try Sys.open(filler, O_CREAT | O_WRONLY)
        let chunk = [UInt8](repeating: 0x2e, count: 4096)
        var written = 0
        while written + freeKiB * 1024 < free {
            guard chunk.withUnsafeBytes({ Glibc.write(fd, $0.baseAddress, $0.count) }) > 0 else { break }
            written += chunk.count
        }
        Sys.close(fd)
        let full = try h.run("rgov", ["tick", "--profile", Harness.teamTrial, "--state", state])
        #expect(full.status == 0 || [1, 73, 74, 75].contains(full.status), "exit \(full.status): \(full.stderr)")
        if full.status != 0 {
            #expect(full.stderr.contains("No space left on device"), "the cause is named: \(full.stderr)")
        }
        try Sys.unlink(filler)
        let recovered = try h.run("rgov", ["tick", "--profile", Harness.teamTrial, "--state", state])
        #expect(recovered.status == 0, "\(recovered.stderr)")
        let check = try h.run("rgov", ["check-state", "--json", "--state", state])
        #expect(check.status == 0, "\(check.stdout)\n\(full.stderr)")
        #expect(check.json?["notices"]?.int == Harness.exampleNotices, "every finding has its notice: \(check.stdout)")
    }
}
