import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Whole-or-nothing publication of artifact files.
///
/// Readers never see a half-written file: bytes go to a dotfile in the same directory
/// (`O_CREAT|O_EXCL|O_NOFOLLOW`, mode 0600), are fsynced, and only then renamed or linked into
/// place; the directory is fsynced so the new name survives a power cut, not only the bytes.
public enum DurableFile {
    /// Replaces `path` with `data` whole (a reader sees the old bytes or the new), not durably.
    ///
    /// For status records rebuilt by the next run (metrics, a stage's last run), so a run that
    /// changed nothing makes no durable write. After a power cut such a file may be a run old, or
    /// empty; readers treat it as a hint.
    ///
    /// Its temporary (`.<name>.<pid>.v.tmp`) is not registered: `sweepVolatile(in:)`, run by the
    /// folder's writer, removes those of processes that are gone.
    ///
    /// `shared`: the group and mode the file gets, given to the temporary before it takes the name
    /// (the metrics textfile alone); otherwise 0600 and the owner's group.
    public static func replace(_ data: Data, at path: String, shared: GroupAccess.Share? = nil) throws {
        let tmp =
            directory(of: path) + "/." + (path as NSString).lastPathComponent + "."
            + String(Sys.processID()) + ".v.tmp"
        let fd = try Sys.open(tmp, O_CREAT | O_TRUNC | O_WRONLY | O_NOFOLLOW, mode: 0o600)
        do {
            defer { Sys.close(fd) }
            try data.withUnsafeBytes { try Sys.writeAll(fd, $0, path: tmp) }
            if let shared { try GroupAccess.apply(shared, to: fd, path: tmp) }
            try Sys.rename(tmp, path)
        } catch {
            try? Sys.unlink(tmp)
            throw error
        }
    }

    /// Removes the `replace` temporaries in `folder` whose process is gone.
    public static func sweepVolatile(in folder: String) {
        for name in (try? Sys.listDirectory(folder)) ?? [] where name.hasPrefix(".") && name.hasSuffix(".v.tmp") {
            let parts = name.split(separator: ".")
            guard parts.count >= 4, let pid = Int32(parts[parts.count - 3]), pid != Sys.processID(),
                !Sys.processExists(pid)
            else { continue }
            try? Sys.unlink(folder + "/" + name)
        }
    }

    public static func write(_ data: Data, to path: String) throws {
        let tmp = try writeTemporary(data, beside: path)
        do {
            FaultInjection.point("durable.before_rename")
            try Sys.rename(tmp, path)
        } catch {
            try? Sys.unlink(tmp)
            throw error
        }
        try Sys.fsyncDirectory(directory(of: path))
    }

    /// Publishes `data` at `path` only if nothing is there yet.
    ///
    /// Returns false when `path` exists.
    ///
    /// The claim is `link(2)`, which fails with EEXIST, never check-then-write.
    @discardableResult
    public static func create(_ data: Data, at path: String) throws -> Bool {
        let tmp = try writeTemporary(data, beside: path)
        let created: Bool
        do {
            created = try Sys.linkNoClobber(tmp, path)
        } catch {
            try? Sys.unlink(tmp)
            throw error
        }
        // One barrier for the new name and the temporary's removal: a temporary whose removal a
        // power cut could undo would outlive this process's registry, which nothing then sweeps.
        try? Sys.unlink(tmp)
        try Sys.fsyncDirectory(directory(of: path))
        return created
    }

    /// Moves `from` to `to` (same file system) and makes both directory entries durable.
    public static func move(_ from: String, to: String) throws {
        try Sys.rename(from, to)
        let source = directory(of: from)
        let target = directory(of: to)
        try Sys.fsyncDirectory(target)
        if source != target { try Sys.fsyncDirectory(source) }
    }

    /// Whether `name` is one a reader must skip: dotfiles (our temporaries) and editor leftovers.
    public static func isHiddenOrTemporary(_ name: String) -> Bool {
        name.hasPrefix(".") || name.hasSuffix(".tmp") || name.hasSuffix("~")
    }

    static func directory(of path: String) -> String {
        let dir = (path as NSString).deletingLastPathComponent
        return dir.isEmpty ? "." : dir
    }

    /// A transaction's temporary: written, not synced (the commit's barrier makes it durable).
    static func writeUnsynced(_ data: Data, at tmp: String) throws -> String {
        let fd = try Sys.open(tmp, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW, mode: 0o600)
        defer { Sys.close(fd) }
        do {
            try data.withUnsafeBytes { try Sys.writeAll(fd, $0, path: tmp) }
        } catch {
            try? Sys.unlink(tmp)
            throw error
        }
        return tmp
    }

    private static func writeTemporary(_ data: Data, beside path: String) throws -> String {
        let dir = directory(of: path)
        Transaction.noteTemporaryFolder(dir)
        let name = (path as NSString).lastPathComponent
        var attempt = 0
        while true {
            let tmp = "\(dir)/.\(name).\(Sys.processID()).\(attempt).tmp"
            let fd: Int32
            do {
                fd = try Sys.open(tmp, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW, mode: 0o600)
            } catch let error as SystemCallError where error.errno == EEXIST && attempt < 64 {
                // A temporary left by a crashed run with our pid: never reuse it, pick another name.
                attempt += 1
                continue
            }
            do {
                try data.withUnsafeBytes { try Sys.writeAll(fd, $0, path: tmp) }
                try Sys.fsync(fd, path: tmp)
                Sys.close(fd)
                return tmp
            } catch {
                Sys.close(fd)
                try? Sys.unlink(tmp)
                throw error
            }
        }
    }
}

/// Named crash points for tests: `RGOV_FAULT=<point>` makes the process SIGKILL itself there.
///
/// This is how crash safety is proven rather than hoped for: an end-to-end test runs a stage with a
/// fault point set, then runs it again and checks that nothing was lost, duplicated or half-written.
public enum FaultInjection {
    /// Every point the code names (a test checks this list against the sources).
    public static let points = Set<String>([
        "bridge.after_batch_result", "bridge.after_intent", "bridge.after_outcome_applied", "bridge.after_receipt",
        "bridge.after_send",
        "dispatcher.after_spool", "durable.before_rename", "notice.between_rewrite_and_move", "sender.after_item",
        "sender.after_shim_lines",
        "watchdog.after_notice",
    ]).union(Transaction.faultPoints)

    private static let armed: String? = Sys.environment("RGOV_FAULT")

    /// Crashes here if armed (a step staged in a transaction names its point through `Writes.point`).
    public static func point(_ name: String) {
        if isArmed(name) { Sys.crashNow() }
    }

    /// Whether `RGOV_FAULT` names `name`.
    static func isArmed(_ name: String) -> Bool {
        guard let armed, !armed.isEmpty else { return false }
        return armed.split(separator: ",").contains { $0 == name }
    }
}
