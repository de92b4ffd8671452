import Foundation

/// Group commit: while a stage runs inside `WriteBatch.run`, every `DurableFile` publication and
/// `MissionChain` link is staged, then made durable together with as few barriers as the crash
/// invariants allow.
///
/// A staged file's bytes go to its temporary at once (no fsync). `commit()` then runs one
/// `syncfs(2)` (every temporary durable) and publishes in phases, each followed by one `syncfs`:
///
/// 1. `records`: new immutable files (events, decisions, notices, spool handoffs, attempts,
///    receipts), so each is durable before anything that points at it;
/// 2. `states`: files rewritten in place (a notice's new state, a quarantine reason);
/// 3. `moves`: renames between folders (a notice into its state's folder, an attempt filed);
/// 4. `markers`: what marks work done (an episode), after everything it marks;
/// 5. chain links, which name records already durable.
///
/// Within a phase, steps keep the order they were staged in. A stage commits where a later step
/// must see the files (a send must not start before its intent is durable): what a batch holds is
/// invisible until then. A fault-injection point reached inside a batch fires when the commit
/// reaches that place, so a crash leaves what an unbatched run would have left at that step.
public final class WriteBatch: @unchecked Sendable {
    /// When a staged step is published (see the type's comment).
    public enum Phase: Int, Comparable, Sendable, CaseIterable {
        case records, states, moves, markers, links

        public static func < (a: Phase, b: Phase) -> Bool { a.rawValue < b.rawValue }
    }

    /// A commit's fault points: after its temporaries are durable, and after each phase.
    static let faultPoints = Set(["commit.after_temporaries"] + Phase.allCases.map { "commit.after_\($0)" })

    enum Step {
        case create(temporary: String, path: String)
        case replace(temporary: String, path: String)
        case move(from: String, to: String)
        case append(path: String, limit: Int, body: (Data) throws -> Data?)
        case fault(String)
    }

    private var phases: [Phase: [Step]] = [:]
    private var lastPhase = Phase.records
    private var staged: Set<String> = []
    private var locks: [String: StageLock] = [:]
    private let anchor: String
    /// Barriers (`syncfs`) run by commits so far.
    public private(set) var barriers = 0

    private static let lock = NSLock()
    nonisolated(unsafe) private static var active: WriteBatch?

    private var counter = 0
    private var temporaries: [String] = []

    init(anchor: String) { self.anchor = anchor }

    /// Temporaries go beside their targets (spread over the folders, as the file system's inode
    /// allocator prefers); `.tmp/<pid>.folders` lists the folders a process wrote temporaries
    /// into, so what a crash leaves behind is found without listing history.
    var registry: String { Self.registry(anchor) }
    private var folders: Set<String> = []

    static func registry(_ root: String) -> String { root + "/.tmp/" + String(Sys.processID()) + ".folders" }

    nonisolated(unsafe) private static var adopted: String?
    nonisolated(unsafe) private static var noted: Set<String> = []

    /// This process writes in the state folder at `root`: every temporary it makes, in a batch or
    /// not, is registered there, so a crash's leftovers are swept at the next stage's start; and
    /// no symbolic link below `root` is ever followed (`Sys.confine`).
    public static func adopt(root: String) {
        Sys.confine(stateRoot: root)
        let first = lock.withLock {
            defer { adopted = root }
            return adopted == nil
        }
        // A process that ends normally has published or removed every temporary it made.
        if first {
            StoreJournal.record(
                "root", root,
                ["argv": [Sys.executablePath()] + CommandLine.arguments.dropFirst(), "cwd": Sys.absolute(".")])
        }
        if first { atexit { WriteBatch.forgetTemporaries() } }
    }

    /// Removes this process's registry (at a normal exit: nothing of it is left to sweep).
    static func forgetTemporaries() {
        lock.withLock {
            if let adopted { try? Sys.unlink(registry(adopted)) }
            noted.removeAll()
        }
    }

    /// Registers `folder` as holding this process's temporaries (once per folder).
    static func noteTemporaryFolder(_ folder: String) {
        let root: String? = lock.withLock {
            guard let adopted, !noted.contains(folder) else { return nil }
            return adopted
        }
        // Noted only once written: a folder whose registration failed is tried again next time.
        guard let root, (try? register(folder, root: root)) != nil else { return }
        _ = lock.withLock { noted.insert(folder) }
    }

    /// Appends `folder` to this process's registry under `root`, durably, before any temporary
    /// goes there: after a power cut, a temporary whose name survived is always found by the
    /// sweep (fsync of the line; of `.tmp/` when the registry is new).
    static func register(_ folder: String, root: String) throws {
        let registries = root + "/.tmp"
        try Sys.makeDirectory(registries)
        let path = registry(root)
        let isNew = Sys.kind(path) == .missing
        let fd = try Sys.open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW)
        defer { Sys.close(fd) }
        try Array((entry(folder, root: root) + "\n").utf8).withUnsafeBytes { try Sys.writeAll(fd, $0, path: path) }
        try Sys.fsync(fd, path: path)
        if isNew { try Sys.fsyncDirectory(registries) }
    }

    /// A registry line: the folder relative to the state folder, so a state folder moved or
    /// restored elsewhere after a crash is still swept.
    static func entry(_ folder: String, root: String) -> String {
        StateLayout(root: root).relative(folder)
    }

    /// A fresh temporary path beside `path` (`.<name>.<pid>.b<n>.tmp`).
    func temporary(for path: String) throws -> String {
        counter += 1
        let folder = DurableFile.directory(of: path)
        if folders.insert(folder).inserted, Self.lock.withLock({ Self.noted.insert(folder).inserted }) {
            try Self.register(folder, root: anchor)
        }
        let temporary =
            folder + "/." + (path as NSString).lastPathComponent + "." + String(Sys.processID()) + ".b"
            + String(counter) + ".tmp"
        temporaries.append(temporary)
        return temporary
    }

    /// After an error (a full disk, say): removes every temporary this batch made and did not
    /// publish, since the process lives on and ends normally, dropping its registry.
    func discard() {
        for temporary in temporaries { try? Sys.unlink(temporary) }
        temporaries.removeAll()
    }

    /// Removes the temporaries of batches whose process is gone (a crash before their commit).
    func sweep() throws {
        let registries = anchor + "/.tmp"
        for name in try Sys.listDirectory(registries) where name.hasSuffix(".folders") {
            guard let pid = Int32(name.dropLast(".folders".count)), pid != Sys.processID(),
                !Sys.processExists(pid)
            else { continue }
            // Batch temporaries are `.<name>.<pid>.b<n>.tmp`, the others `.<name>.<pid>.<n>.tmp`.
            let list = String(
                decoding: (try? Sys.readFile(registries + "/" + name, limit: 16 << 20)) ?? Data(), as: UTF8.self)
            let mark = "." + String(pid) + "."
            for line in Set(list.split(separator: "\n").map(String.init)) {
                let folder = line.hasPrefix("/") ? line : StateLayout(root: anchor).resolve(line)
                for file in (try? Sys.listDirectory(folder)) ?? []
                where file.hasPrefix(".") && file.hasSuffix(".tmp") && file.contains(mark) {
                    try? Sys.unlink(folder + "/" + file)
                }
            }
            try? Sys.unlink(registries + "/" + name)
        }
    }

    /// The batch open in this process, if any.
    public static var current: WriteBatch? { lock.withLock { active } }

    /// Runs `body` with a batch open (on one thread: concurrent work stays outside batches), then
    /// commits what is left.
    ///
    /// An error leaves what was staged unpublished, as a crash would, and removes its temporaries.
    public static func run<T>(anchor: String, _ body: (WriteBatch) throws -> T) throws -> T {
        let batch = WriteBatch(anchor: anchor)
        try batch.sweep()
        lock.withLock { active = batch }
        defer {
            lock.withLock { active = nil }
            batch.locks.removeAll()
        }
        let result: T
        do {
            result = try body(batch)
            try batch.commit()
        } catch {
            batch.discard()
            throw error
        }
        // Every temporary was published or removed: nothing left for a sweep to find.
        lock.withLock {
            try? Sys.unlink(batch.registry)
            noted.removeAll()
        }
        return result
    }

    /// Whether `path` will exist once the batch commits.
    func isStaged(_ path: String) -> Bool { staged.contains(path) }

    func stage(_ step: Step, phase: Phase) {
        switch step {
        case .create(_, let path), .replace(_, let path): staged.insert(path)
        case .move(_, let to): staged.insert(to)
        case .append, .fault: break
        }
        // A fault point belongs where the step before it went.
        let phase = { if case .fault = step { return lastPhase } else { return phase } }()
        phases[phase, default: []].append(step)
        lastPhase = phase
    }

    /// Holds the `flock` at `path` from now until the batch ends (a read-compare-write staged now
    /// is published under the same lock).
    func hold(_ path: String) throws {
        if locks[path] != nil { return }
        for _ in 0..<2_000 {
            if let held = try StageLock.acquire(path, holder: "pid \(Sys.processID()) (commit)") {
                locks[path] = held
                return
            }
            Sys.sleep(milliseconds: 5)
        }
        throw RgovError(.temporaryFailure, "\(path) stayed busy for 10 s; try again")
    }

    /// Publishes everything staged: one barrier for the temporaries, then each phase and a barrier.
    public func commit() throws {
        guard !phases.isEmpty else { return }
        let pending = phases.sorted { $0.key < $1.key }
        phases = [:]
        staged.removeAll()
        try sync()
        FaultInjection.fire("commit.after_temporaries")
        for (phase, steps) in pending {
            for step in Self.joiningAppends(steps) { try apply(step) }
            try sync()
            let point = "commit.after_\(phase)"
            FaultInjection.fire(point)
        }
        temporaries.removeAll()
        locks.removeAll()
    }

    /// A phase of appends only (the chain links) as one append per file, each file's in the order
    /// staged: a mission's chain is locked, read and written once per commit, not once per link.
    private static func joiningAppends(_ steps: [Step]) -> [Step] {
        var order: [String] = []
        var appends: [String: (limit: Int, bodies: [(Data) throws -> Data?])] = [:]
        for step in steps {
            guard case .append(let path, let limit, let body) = step else { return steps }
            if appends[path] == nil { order.append(path) }
            appends[path, default: (limit, [])].bodies.append(body)
        }
        return order.compactMap { path in
            appends[path].map { limit, bodies in
                .append(path: path, limit: limit) { existing in
                    var whole = existing
                    var added = Data()
                    for body in bodies {
                        guard let more = try body(whole), !more.isEmpty else { continue }
                        whole.append(more)
                        added.append(more)
                    }
                    return added.isEmpty ? nil : added
                }
            }
        }
    }

    private func sync() throws {
        try Sys.syncFilesystem(anchor)
        barriers += 1
    }

    private func apply(_ step: Step) throws {
        switch step {
        case .create(let temporary, let path):
            defer { try? Sys.unlink(temporary) }
            if !(try Sys.linkNoClobber(temporary, path)) {
                Log.info("rgov", "\(path) was created by another process meanwhile; its copy is kept")
            }
        case .replace(let temporary, let path):
            FaultInjection.fire("durable.before_rename")
            try Sys.rename(temporary, path)
        case .move(let from, let to):
            try Sys.rename(from, to)
        case .append(let path, let limit, let body):
            try Sys.appendExclusively(path, limit: limit, sync: false, body)
        case .fault(let name):
            FaultInjection.fire(name)
        }
    }
}
