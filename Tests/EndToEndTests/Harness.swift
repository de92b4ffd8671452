import Foundation
import Testing

@testable import GovernanceCore

/// A temporary deployment for one end-to-end test: its own state folder, profiles and scripts,
/// driven through the real executables built next to the test bundle.
struct Harness {
    static let bin = (Sys.executablePath() as NSString).deletingLastPathComponent
    static let repoRoot: String = {
        var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: dir.appendingPathComponent("Package.swift").path) {
            dir.deleteLastPathComponent()
        }
        return dir.path
    }()
    static let now = "2026-11-20T12:00:00Z"
    /// `now` as a date.
    static let t0 = Date(timeIntervalSince1970: 1_795_176_000)
    /// The shipped examples at `now`: 8 missions, 5 findings under the solo and team profiles
    /// (one overdue, one silent since start, one failed, and one with an unapproved writeback
    /// plus an out-of-scope tool call).
    static let exampleMissions = 8
    static let exampleNotices = 5
    /// The shipped team and manager postures with the shim, a local trial sender (synthetic acks):
    /// what the tests use to see sends conclude without a real channel.
    static let teamTrial = repoRoot + "/examples/profiles/standard-team-trial.yaml"
    static let strictTrial = repoRoot + "/examples/profiles/strict-manager-trial.yaml"

    /// Whether a test may run rgov as `nobody:nogroup`: only root switches users, the user and group
    /// must exist, and some temporary folder must let every user in (for `reachableInstall()`).
    static let canRunAsNobody =
        getuid() == 0 && getpwnam("nobody") != nil && getgrnam("nogroup") != nil && reachableParent != nil

    /// A copy of the built executables and the data they read at run time, readable by everyone.
    ///
    /// For a test that runs them as another user: a checkout in a folder only its owner may enter
    /// (root's home is 0700) leaves that user neither `.build/` nor the source tree's data. Laid out
    /// as `scripts/install` lays out PREFIX (`bin/`, and `share/rgov/` where the binaries look beside
    /// themselves), plus the trial profiles.
    struct ReachableInstall: Sendable {
        let root: String
        var bin: String { root + "/bin" }
        var teamTrial: String { root + "/examples/profiles/standard-team-trial.yaml" }
    }

    /// The copy, made once per test run in a fresh 0755 folder, or why it could not be made.
    static func reachableInstall() throws -> ReachableInstall { try reachable.get() }

    private static let reachable: Result<ReachableInstall, any Error> = Result {
        guard let parent = reachableParent else { throw SetupError("no temporary folder every user can enter") }
        var template = Array((parent + "/rgov-users-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { throw SetupError("mkdtemp in \(parent): errno \(errno)") }
        let root = String(cString: made)
        try Sys.setMode(root, 0o755)
        let executables = ["rgov", "rgov-watchdog", "rgov-dispatcher", "rgov-bridge", "rgov-sender"]
        let data = ["profiles", "capabilities", "policy-packs", "schemas", "package-manifest.json"]
        // cp in a child: a descriptor of ours left open on a copied binary would fail its exec (ETXTBSY).
        for (tool, arguments) in [
            ("/bin/mkdir", ["-p", root + "/bin", root + "/share/rgov", root + "/examples"]),
            ("/bin/cp", executables.map { bin + "/" + $0 } + [root + "/bin/"]),
            ("/bin/cp", ["-R"] + data.map { repoRoot + "/" + $0 } + [root + "/share/rgov/"]),
            ("/bin/cp", ["-R", repoRoot + "/examples/profiles", root + "/examples/"]),
            ("/bin/chmod", ["-R", "a+rX", root]),
        ] {
            let result = try ChildProcess.run(ChildSpec(executable: tool, arguments: arguments, deadline: 120))
            guard result.status == 0 else { throw SetupError("\(tool) \(arguments): \(result.stderrText)") }
        }
        // The copy goes when the run ends (the tests' own folders stay, as everywhere else).
        atexit {
            guard let root = try? Harness.reachable.get().root else { return }
            for part in ["bin", "share", "examples"] { Sys.removeTree(root + "/" + part) }
        }
        return ReachableInstall(root: root)
    }

    /// The first of the temporary folders that every user may enter (each folder on its path searchable
    /// by others).
    private static let reachableParent: String? = [NSTemporaryDirectory(), "/tmp", "/var/tmp"].lazy.map {
        ($0 as NSString).resolvingSymlinksInPath
    }.first { folder in
        var path = folder
        while let mode = Sys.status(path)?.mode, mode & 0o001 != 0 {
            if path == "/" { return Sys.isDirectory(folder) }
            path = (path as NSString).deletingLastPathComponent
        }
        return false
    }

    struct SetupError: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    let dir: String
    var state: String { dir + "/state" }
    var layout: StateLayout { StateLayout(root: state) }
    /// The folder of the executables `run` starts: `Harness.bin`, or for a reachable harness the copy's.
    let binaries: String

    /// `reachable`: this harness's folder and executables are in `reachableInstall()`, for a test that
    /// runs rgov as another user (`canRunAsNobody`).
    init(_ tag: String = #function, reachable: Bool = false) throws {
        let name = tag.filter { $0.isLetter || $0.isNumber }
        let base = reachable ? try Self.reachableInstall().root + "/" : NSTemporaryDirectory()
        dir = base + "rgov-e2e-\(name.prefix(40))-" + UUID().uuidString.prefix(8)
        binaries = reachable ? try Self.reachableInstall().bin : Self.bin
        // A state folder made by hand, as a script would: its first run takes the profile it is given.
        try Sys.makeDirectory(dir + "/state")
    }

    struct Run {
        var status: Int32
        var stdout: String
        var stderr: String
        var json: JSONValue? { try? CanonicalJSON.decode(JSONValue.self, from: Data(stdout.utf8)) }
    }

    /// Starts `rgov tick` on this state with `profile` at the pinned time, in the background, its
    /// output discarded: for a test that acts while the tick runs.
    func startTick(_ profile: String) throws -> Process {
        let tick = Process()
        tick.executableURL = URL(fileURLWithPath: binaries + "/rgov")
        tick.arguments = ["tick", "--state", state, "--profile", profile, "--now", Harness.now]
        tick.standardOutput = FileHandle.nullDevice
        tick.standardError = FileHandle.nullDevice
        try tick.run()
        return tick
    }

    /// Runs `rgov…` with `arguments` (plus `--state` and a pinned `--now` unless given).
    @discardableResult
    func run(
        _ executable: String, _ arguments: [String], env: [String: String] = [:], stdin: String = "",
        pinned: Bool = true
    ) throws -> Run {
        var args = arguments
        let declared = Self.declaredOptions(executable, arguments)
        if !args.contains("--state") && declared.contains("state") { args += ["--state", state] }
        if pinned && !args.contains("--now") && declared.contains("now") { args += ["--now", Self.now] }
        var environment = ProcessInfo.processInfo.environment
        environment["RGOV_STATE_DIR"] = nil
        environment["RGOV_PROFILE"] = nil
        environment["RGOV_FAULT"] = nil
        environment["RGOV_SENDER_BIN"] = nil
        for (k, v) in env { environment[k] = v }
        let result = try ChildProcess.run(
            ChildSpec(
                executable: binaries + "/" + executable, arguments: args, environment: environment,
                standardInput: Array(stdin.utf8), deadline: 120))
        return Run(status: result.status, stdout: result.stdoutText, stderr: result.stderrText)
    }

    /// Processes whose environment carries `marker` (set in a child's environment, inherited by
    /// everything it starts): how a test sees that nothing outlived a run, by effect, not by time.
    static func processes(carrying marker: String) -> [Int32] {
        var found: [Int32] = []
        for entry in (try? Sys.listDirectory("/proc")) ?? [] {
            guard let pid = Int32(entry), pid != getpid(),
                let environ = try? Sys.readFile("/proc/\(entry)/environ", limit: 1 << 20)
            else { continue }
            if String(decoding: environ, as: UTF8.self).contains(marker) { found.append(pid) }
        }
        return found
    }

    /// Whether every process carrying `marker` is gone, allowing the kernel a moment to deliver a
    /// SIGKILL already sent (waiting on the effect, bounded, never on a fixed time).
    static func noneLeft(carrying marker: String) -> Bool {
        for _ in 0..<500 {
            if processes(carrying: marker).isEmpty { return true }
            Sys.sleep(milliseconds: 10)
        }
        return false
    }

    /// A fresh marker, and the environment that carries it.
    static func marked() -> (marker: String, env: [String: String]) {
        let marker = "e2e-" + UUID().uuidString
        return (marker, ["E2E_MARK": marker])
    }

    /// The options the command that `arguments` start declares (the harness adds `--state` and
    /// `--now` only where they are accepted).
    static func declaredOptions(_ executable: String, _ arguments: [String]) -> Set<String> {
        let spec: CommandSpec?
        switch executable {
        case "rgov":
            spec = arguments.first.flatMap { name in RgovCommand.verbs.first { $0.name == name }?.spec }
        case "rgov-sender": spec = SenderCommand.spec
        default: spec = Stage.allCases.first { $0.executable == executable }.map(StageCommand.spec)
        }
        return Set(spec?.allOptions.map(\.name) ?? [])
    }

    /// `rgov tick --json`, naming `profile` (which must be the state's active profile, or the one a
    /// state with none takes); without one, the state's active profile (else minimal-solo-mode).
    func tick(profile: String? = nil, env: [String: String] = [:], extra: [String] = []) throws -> Run {
        try run("rgov", ["tick"] + (profile.map { ["--profile", $0] } ?? []) + ["--json"] + extra, env: env)
    }

    /// Puts `profile` in force on this state as an operator would (`rgov activate`): the state's
    /// active profile is what every later run uses.
    func activate(_ profile: String) throws -> Run {
        try run("rgov", ["activate", profile, "--by", "e2e", "--reason", "the test changes the profile"])
    }

    /// Copies the shipped example missions into this state's `missions/`.
    func importExamples() throws {
        try layout.prepare()
        for name in try Sys.listDirectory(Self.repoRoot + "/examples/missions") where name.hasSuffix(".json") {
            try DurableFile.write(
                try Sys.readFile(Self.repoRoot + "/examples/missions/" + name), to: layout.missions + "/" + name)
        }
    }

    /// `base` with `audit` added under `spec.audit` (each a line such as `operators: [alice]`).
    func profile(from base: String = "standard-team-trial", named name: String, audit: [String]) throws -> String {
        let export = "    export_required: false\n"
        return try profile(
            from: base, named: name, replacing: [(export, export + audit.map { "    " + $0 + "\n" }.joined())])
    }

    /// A profile file derived from a shipped one, with text replacements.
    func profile(from base: String = "standard-team-trial", named name: String, replacing: [(String, String)]) throws
        -> String
    {
        let shipped = Self.repoRoot + "/profiles/\(base).yaml"
        let source = Sys.exists(shipped) ? shipped : Self.repoRoot + "/examples/profiles/\(base).yaml"
        var text = try String(contentsOfFile: source, encoding: .utf8)
        for (old, new) in replacing {
            precondition(text.contains(old), "profile template lacks \(old)")
            text = text.replacingOccurrences(of: old, with: new)
        }
        let path = dir + "/" + name + ".yaml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func script(_ name: String, _ body: String) throws -> String {
        let path = dir + "/" + name
        // Our own O_CLOEXEC writer: a descriptor Foundation leaves open can leak into a child that
        // another test spawns at the same moment, and exec of the script then fails with ETXTBSY.
        try Sys.makeDirectory((path as NSString).deletingLastPathComponent)
        try DurableFile.write(Data(("#!/bin/sh\n" + body + "\n").utf8), to: path)
        chmod(path, 0o755)
        return path
    }

    /// All notices, wherever their state put them.
    func notices() throws -> [Notice] {
        var result: [Notice] = []
        let store = NoticeStore(layout: layout)
        for state in DeliveryState.allCases {
            let base = layout.notices(state)
            let folders =
                state.isFinal
                ? try layout.dayPartitions(in: base).map { base + "/" + $0 }
                : [base] + (state == .pending_external_send ? [layout.deferredNotices] : [])
            for folder in folders {
                for name in try layout.artifactNames(in: folder) { result.append(try store.read(folder + "/" + name)) }
            }
        }
        return result.sorted { $0.notice_id < $1.notice_id }
    }

    func receipts() throws -> [Receipt] {
        var result: [Receipt] = []
        for day in try layout.dayPartitions(in: layout.receipts) {
            let folder = layout.receipts + "/" + day
            for name in try layout.artifactNames(in: folder) {
                result.append(try CanonicalJSON.decode(Receipt.self, from: try Sys.readFile(folder + "/" + name)))
            }
        }
        return result
    }

    func outboxLines() -> [String] {
        guard let data = try? Sys.readFile(layout.shimOutbox) else { return [] }
        return String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
    }

    func quarantineReasons() throws -> [QuarantineRecord] {
        try Sys.listDirectory(layout.quarantine).sorted().map {
            try CanonicalJSON.decode(
                QuarantineRecord.self, from: try Sys.readFile(layout.quarantine + "/" + $0 + "/reason.json"))
        }
    }

    /// Every regular file under the state folder with its bytes, for before/after comparisons.
    func snapshot(
        excluding: [String] = ["long-task-watchdog/2", "long-task-watchdog/last-run.json", "locks/", "metrics/"]
    ) throws
        -> [String: Data]
    {
        var files: [String: Data] = [:]
        let enumerator = FileManager.default.enumerator(atPath: state)
        while let relative = enumerator?.nextObject() as? String {
            let path = state + "/" + relative
            guard Sys.kind(path) == .regular, !excluding.contains(where: { relative.hasPrefix($0) }) else { continue }
            files[relative] = try Sys.readFile(path)
        }
        return files
    }
}

extension JSONValue {
    subscript(key: String) -> JSONValue? {
        if case .object(let o) = self { return o[key] }
        return nil
    }

    var int: Int? {
        if case .number(let n) = self { return Int(n) }
        return nil
    }

    var array: [JSONValue] {
        if case .array(let a) = self { return a }
        return []
    }
}
