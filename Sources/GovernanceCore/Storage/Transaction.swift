import Foundation

/// Group commit: a stage's writes staged, then made durable together.
///
/// A stage runs its writes in a transaction (`Transaction.run`), handed to the stores it writes
/// through (`Writes.staged`). Every publication and chain link they make is
/// staged, then made durable together with as few barriers as the crash invariants allow. Nothing
/// reads a transaction from anywhere but its argument: a store given `Writes.immediate` makes each
/// write durable on its own, whatever else the process is doing.
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
/// invisible until then. A fault-injection point staged in a transaction fires when the commit
/// reaches that place, so a crash leaves what an unstaged run would have left at that step.
///
/// A staged create is a claim: `create` answers whether the name is free now, and the commit takes
/// it with `link(2)`. A name another process took in between fails the commit (the error the run
/// reports); nothing is kept that the caller was told it published.
///
/// One thread stages at a time (concurrent per-notice sends write through `Writes.immediate`).
public final class Transaction: @unchecked Sendable {
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
        if first { atexit { Transaction.forgetTemporaries() } }
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

    /// A registry line: the folder relative to the state folder (`.` for the folder itself, where
    /// the idempotency secret is made), so a state folder moved or restored elsewhere after a
    /// crash is still swept.
    static func entry(_ folder: String, root: String) -> String {
        let state = StateLayout(root: root)
        return folder == state.root ? "." : state.relative(folder)
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

    /// Runs `body` with a transaction for the state at `anchor`, then commits what is left.
    ///
    /// An error leaves what was staged unpublished, as a crash would, and removes its temporaries.
    public static func run<T>(anchor: String, _ body: (Transaction) throws -> T) throws -> T {
        let batch = Transaction(anchor: anchor)
        try batch.sweep()
        defer { batch.locks.removeAll() }
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

    /// Claims `path` for `data`, published in `phase`: false when it exists or is staged already.
    func create(_ data: Data, at path: String, phase: Phase) throws -> Bool {
        guard Sys.kind(path) == .missing, !staged.contains(path) else { return false }
        stage(
            .create(temporary: try DurableFile.writeUnsynced(data, at: try temporary(for: path)), path: path),
            phase: phase)
        return true
    }

    func write(_ data: Data, to path: String, phase: Phase) throws {
        stage(
            .replace(temporary: try DurableFile.writeUnsynced(data, at: try temporary(for: path)), path: path),
            phase: phase)
    }

    func move(_ from: String, to: String, phase: Phase) { stage(.move(from: from, to: to), phase: phase) }

    /// Appends what `body` makes of `path`'s bytes, under its lock, after every other phase.
    func append(_ path: String, limit: Int, _ body: @escaping (Data) throws -> Data?) {
        stage(.append(path: path, limit: limit, body: body), phase: .links)
    }

    /// The fault point `name`, where the steps staged so far are published (if it is armed).
    func fault(_ name: String) {
        if FaultInjection.isArmed(name) { stage(.fault(name), phase: .records) }
    }

    private func stage(_ step: Step, phase: Phase) {
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

    /// Holds the `flock` at `path` from now until the transaction ends (a read-compare-write staged
    /// now is published under the same lock).
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
        FaultInjection.point("commit.after_temporaries")
        for (phase, steps) in pending {
            for step in Self.joiningAppends(steps) { try apply(step) }
            try sync()
            let point = "commit.after_\(phase)"
            FaultInjection.point(point)
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
            guard try Sys.linkNoClobber(temporary, path) else {
                throw RgovError(
                    .temporaryFailure,
                    "\(path) was created by another process after this run claimed it: what the run staged "
                        + "after it is not published, and the next run continues from the files as they are")
            }
        case .replace(let temporary, let path):
            FaultInjection.point("durable.before_rename")
            try Sys.rename(temporary, path)
        case .move(let from, let to):
            try Sys.rename(from, to)
        case .append(let path, let limit, let body):
            try Sys.appendExclusively(path, limit: limit, sync: false, body)
        case .fault(let name):
            FaultInjection.point(name)
        }
    }
}

/// Where a store's writes go: made durable one by one, or staged in a transaction.
///
/// `immediate` (`DurableFile`) makes each durable on its own; `staged` stages them in a
/// transaction that publishes them together. A store is given one when it is made; nothing else
/// decides.
public struct Writes: Sendable {
    /// The transaction writes are staged in; nil when each is durable on its own.
    public let transaction: Transaction?

    public static let immediate = Writes(transaction: nil)
    public static func staged(_ transaction: Transaction) -> Writes { Writes(transaction: transaction) }

    /// Publishes `data` at `path` only if nothing is there (staged: a claim the commit takes).
    @discardableResult
    public func create(_ data: Data, at path: String, phase: Transaction.Phase = .records) throws -> Bool {
        guard let transaction else { return try DurableFile.create(data, at: path) }
        return try transaction.create(data, at: path, phase: phase)
    }

    public func write(_ data: Data, to path: String, phase: Transaction.Phase = .states) throws {
        guard let transaction else { return try DurableFile.write(data, to: path) }
        try transaction.write(data, to: path, phase: phase)
    }

    public func move(_ from: String, to: String, phase: Transaction.Phase = .moves) throws {
        guard let transaction else { return try DurableFile.move(from, to: to) }
        transaction.move(from, to: to, phase: phase)
    }

    /// Appends to `path` what `body` makes of its bytes, under the file's lock (staged: after
    /// every record the transaction publishes).
    func append(_ path: String, limit: Int, _ body: @escaping (Data) throws -> Data?) throws {
        guard let transaction else { return try Sys.appendExclusively(path, limit: limit, body) }
        transaction.append(path, limit: limit, body)
    }

    /// The fault point `name`: a crash here, or where the commit publishes what was staged before it.
    public func point(_ name: String) {
        guard let transaction else { return FaultInjection.point(name) }
        transaction.fault(name)
    }

    /// Runs `body` holding the `flock` at `lock` (staged: held until the commit, which publishes
    /// what `body` staged under it).
    func exclusively<T>(_ lock: String, _ body: () throws -> T) throws -> T {
        guard let transaction else { return try StageLock.exclusively(lock, body) }
        try transaction.hold(lock)
        return try body()
    }

    /// Publishes what is staged so far, so a later step sees it (nothing to do when immediate).
    public func commit() throws { try transaction?.commit() }
}
