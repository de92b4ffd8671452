import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A failed system call: which call, on which path, and `errno` with its `strerror` text.
public struct SystemCallError: OperatorFacingError, Sendable {
    public let call: String
    public let path: String
    public let errno: Int32

    public var description: String { "\(call) \(path): \(String(cString: strerror(errno))) (errno \(errno))" }

    public var exitCode: ExitCode { rgovError.exitCode }

    /// As an operator-facing error with the sysexits status that fits the errno.
    public var rgovError: RgovError {
        switch errno {
        case EACCES, EPERM, EROFS: return RgovError(.cannotCreate, description)
        case ENOENT: return RgovError(.noInput, description)
        default: return RgovError(.ioError, description)
        }
    }
}

/// Every system call rgov makes goes through here (files, directories, locks, processes).
///
/// Each wrapper names the C call it stands for, retries on `EINTR`, and throws `SystemCallError`.
public enum Sys {
    /// `open(2)`, always with `O_CLOEXEC` so children inherit only what is passed on purpose.
    public static func open(_ path: String, _ flags: Int32, mode: mode_t = 0o600) throws -> Int32 {
        let journaled = StoreJournal.isOn && flags & O_CREAT != 0
        let existed = journaled && kind(path) != .missing
        if journaled { StoreJournal.before(path) }
        while true {
            let fd = Glibc.open(path, flags | O_CLOEXEC, mode)
            if fd >= 0 {
                if journaled && !existed { StoreJournal.record("create", path) }
                if journaled && existed && flags & O_TRUNC != 0 { StoreJournal.record("truncate", path, ["size": 0]) }
                return fd
            }
            if errno != EINTR { throw SystemCallError(call: "open", path: path, errno: errno) }
        }
    }

    /// `close(2)`; errors are ignored on purpose: the descriptor is gone either way on Linux.
    public static func close(_ fd: Int32) { _ = Glibc.close(fd) }

    /// `write(2)` until every byte is written, retrying on `EINTR` and short writes.
    public static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws {
        guard let base = bytes.baseAddress else { return }
        if StoreJournal.isOn && fd > 2 { StoreJournal.before(path) }
        defer { if StoreJournal.isOn { StoreJournal.recordWrite(fd, path, bytes) } }
        var offset = 0
        while offset < bytes.count {
            let n = Glibc.write(fd, base + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw SystemCallError(call: "write", path: path, errno: errno)
            }
            offset += n
        }
    }

    /// `read(2)` of a whole regular file, opened `O_NOFOLLOW`; refuses files over `limit` bytes.
    public static func readFile(_ path: String, limit: Int = 16 << 20) throws -> Data {
        let fd = try open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK)
        defer { close(fd) }
        return try read(fd, path: path, limit: limit)
    }

    /// The whole regular file open at `fd`, from its start, at most `limit` bytes.
    private static func read(_ fd: Int32, path: String, limit: Int) throws -> Data {
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw SystemCallError(call: "fstat", path: path, errno: errno) }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw SystemCallError(call: "read", path: path, errno: EINVAL) }
        guard Int(st.st_size) <= limit else { throw SystemCallError(call: "read", path: path, errno: EFBIG) }
        var data = Data(count: Int(st.st_size) + 1)
        var total = 0
        while true {
            if total == data.count { data.count += 65_536 }
            let n = data.withUnsafeMutableBytes { buffer in
                buffer.baseAddress.map { Glibc.pread(fd, $0 + total, buffer.count - total, off_t(total)) } ?? 0
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw SystemCallError(call: "read", path: path, errno: errno)
            }
            if n == 0 { break }
            total += n
            if total > limit { throw SystemCallError(call: "read", path: path, errno: EFBIG) }
        }
        data.count = total
        return data
    }

    /// Appends to the log at `path` under an exclusive `flock(2)` on it: `body` sees the log's
    /// whole lines (a torn last line, left by a power cut mid-append, is cut off first) and
    /// returns the bytes to append, or nil for nothing; the append is fsynced before the lock
    /// is released.
    public static func appendExclusively(
        _ path: String, limit: Int, sync: Bool = true, _ body: (Data) throws -> Data?
    ) throws {
        let flags = O_RDWR | O_CREAT | O_APPEND | O_NOFOLLOW
        // The log's folder is made the first time it is needed, not checked before every append.
        let fd: Int32
        do {
            fd = try open(path, flags, mode: 0o600)
        } catch let error as SystemCallError where error.errno == ENOENT {
            try makeDirectory((path as NSString).deletingLastPathComponent)
            fd = try open(path, flags, mode: 0o600)
        }
        defer { close(fd) }
        while flock(fd, LOCK_EX) != 0 {
            if errno != EINTR { throw SystemCallError(call: "flock", path: path, errno: errno) }
        }
        var existing = try read(fd, path: path, limit: limit)
        if let last = existing.last, last != UInt8(ascii: "\n") {
            let whole = existing.lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? 0
            guard ftruncate(fd, off_t(whole)) == 0 else {
                throw SystemCallError(call: "ftruncate", path: path, errno: errno)
            }
            StoreJournal.record("truncate", path, ["size": whole])
            existing = existing.prefix(whole)
        }
        guard let appended = try body(existing), !appended.isEmpty else { return }
        try appended.withUnsafeBytes { try writeAll(fd, $0, path: path) }
        if sync { try fsync(fd, path: path) }
    }

    /// glibc's `syncfs`, which Swift's Glibc module does not declare (it is a GNU extension).
    private static let syncfsCall: @convention(c) (Int32) -> Int32 = {
        guard let symbol = dlsym(nil, "syncfs") else { return { Glibc.fsync($0) } }
        return unsafeBitCast(symbol, to: (@convention(c) (Int32) -> Int32).self)
    }()

    /// `syncfs(2)` on the file system holding `path`: every dirty file and folder on it durable,
    /// one barrier for a whole batch (what `fsync` does for one file).
    public static func syncFilesystem(_ path: String) throws {
        let fd = try open(path, O_RDONLY | O_DIRECTORY)
        defer { close(fd) }
        while Self.syncfsCall(fd) != 0 {
            if errno != EINTR { throw SystemCallError(call: "syncfs", path: path, errno: errno) }
        }
        StoreJournal.record("syncfs", path)
    }

    /// `fsync(2)`.
    public static func fsync(_ fd: Int32, path: String) throws {
        while Glibc.fsync(fd) != 0 {
            if errno != EINTR { throw SystemCallError(call: "fsync", path: path, errno: errno) }
        }
        StoreJournal.record("fsync", path)
    }

    /// `open(dir, O_RDONLY|O_DIRECTORY)` + `fsync(2)`: makes a rename or unlink in `dir` durable.
    public static func fsyncDirectory(_ path: String) throws {
        let fd = try open(path, O_RDONLY | O_DIRECTORY)
        defer { close(fd) }
        try fsync(fd, path: path)
    }

    /// `rename(2)`: atomic replacement within one file system.
    public static func rename(_ from: String, _ to: String) throws {
        StoreJournal.before(from, to)
        guard Glibc.rename(from, to) == 0 else {
            throw SystemCallError(call: "rename", path: "\(from) -> \(to)", errno: errno)
        }
        StoreJournal.record("rename", to, ["from": from])
    }

    /// `link(2)`: publishes `from` as `to` only if `to` does not exist.
    ///
    /// Returns false on `EEXIST`.
    public static func linkNoClobber(_ from: String, _ to: String) throws -> Bool {
        StoreJournal.before(to)
        if Glibc.link(from, to) == 0 {
            StoreJournal.record("link", to, ["from": from])
            return true
        }
        if errno == EEXIST { return false }
        throw SystemCallError(call: "link", path: "\(from) -> \(to)", errno: errno)
    }

    /// `unlink(2)`; a missing file is not an error.
    public static func unlink(_ path: String) throws {
        StoreJournal.before(path)
        if Glibc.unlink(path) == 0 {
            StoreJournal.record("unlink", path)
        } else if errno != ENOENT {
            throw SystemCallError(call: "unlink", path: path, errno: errno)
        }
    }

    /// `mkdir(2)` with mode 0700, creating parents; returns true when it created `path`.
    ///
    /// A folder it creates is made durable in its parent (`fsync` of the parent), so what is
    /// later made durable inside it is never lost with the folder's own name after a power cut.
    ///
    /// A folder made or found once is not asked about again in this process: rgov removes no folder
    /// of a state, only its own scratch folders (`removeTree`, which forgets what it knew).
    @discardableResult
    public static func makeDirectory(_ path: String) throws -> Bool {
        if knownFoldersLock.withLock({ knownFolders.contains(path) }) { return false }
        let created = try makeDirectoryOnce(path)
        knownFoldersLock.withLock { _ = knownFolders.insert(path) }
        return created
    }

    nonisolated(unsafe) private static var knownFolders: Set<String> = []
    private static let knownFoldersLock = NSLock()

    private static func makeDirectoryOnce(_ path: String) throws -> Bool {
        if Glibc.mkdir(path, 0o700) == 0 {
            StoreJournal.record("mkdir", path)
            let parent = (path as NSString).deletingLastPathComponent
            try fsyncDirectory(parent.isEmpty ? "." : parent)
            return true
        }
        switch errno {
        case EEXIST:
            guard isDirectory(path) else { throw SystemCallError(call: "mkdir", path: path, errno: ENOTDIR) }
            return false
        case ENOENT:
            let parent = (path as NSString).deletingLastPathComponent
            guard !parent.isEmpty, parent != path else {
                throw SystemCallError(call: "mkdir", path: path, errno: ENOENT)
            }
            try makeDirectory(parent)
            return try makeDirectory(path)
        default:
            throw SystemCallError(call: "mkdir", path: path, errno: errno)
        }
    }

    /// Removes `path` and everything under it, never following a symbolic link (`lstat`, `unlink`,
    /// `rmdir`): for rgov's own scratch folders only.
    public static func removeTree(_ path: String) {
        if kind(path) == .directory {
            for name in (try? listDirectory(path)) ?? [] { removeTree(path + "/" + name) }
            removeEmptyDirectory(path)
        } else {
            try? unlink(path)
        }
    }

    /// `chmod(2)`: sets the mode whatever the umask (an export readable only by its owner).
    public static func setMode(_ path: String, _ mode: mode_t) throws {
        guard Glibc.chmod(path, mode) == 0 else { throw SystemCallError(call: "chmod", path: path, errno: errno) }
    }

    /// `rmdir(2)`; used only for empty scratch directories.
    public static func removeEmptyDirectory(_ path: String) {
        knownFoldersLock.withLock { knownFolders.removeAll() }
        if Glibc.rmdir(path) == 0 { StoreJournal.record("rmdir", path) }
    }

    /// `opendir(3)`/`readdir(3)`: names in `path` without `.` and `..`, unsorted.
    ///
    /// A missing folder is empty.
    public static func listDirectory(_ path: String) throws -> [String] { try entries(path).map(\.name) }

    /// `readdir(3)` entries of `path` with their `d_type`.
    private static func entries(_ path: String) throws -> [(name: String, type: Int32)] {
        guard let dir = opendir(path) else {
            if errno == ENOENT { return [] }
            throw SystemCallError(call: "opendir", path: path, errno: errno)
        }
        defer { closedir(dir) }
        var found: [(name: String, type: Int32)] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { found.append((name, Int32(entry.pointee.d_type))) }
        }
        return found
    }

    public enum FileKind: Sendable { case missing, regular, directory, symlink, other }

    /// The subfolders of `path` (not links to folders), from `readdir`'s entry types, with an
    /// `lstat` only where the file system does not give one.
    public static func listSubdirectories(_ path: String) throws -> [String] {
        try entries(path).filter {
            $0.type == Int32(DT_DIR) || ($0.type == Int32(DT_UNKNOWN) && kind(path + "/" + $0.name) == .directory)
        }.map(\.name)
    }

    /// `lstat(2)`: what is at `path`, without following a symlink.
    public static func kind(_ path: String) -> FileKind {
        var st = stat()
        guard lstat(path, &st) == 0 else { return .missing }
        switch st.st_mode & S_IFMT {
        case S_IFREG: return .regular
        case S_IFDIR: return .directory
        case S_IFLNK: return .symlink
        default: return .other
        }
    }

    public static func exists(_ path: String) -> Bool { kind(path) != .missing }
    public static func isDirectory(_ path: String) -> Bool { kind(path) == .directory }

    /// `access(2)` with `W_OK|X_OK`: whether this process may create files in `path`.
    public static func isWritableDirectory(_ path: String) -> Bool { access(path, W_OK | X_OK) == 0 }

    /// `access(2)` with `X_OK`: whether this process may execute `path`.
    public static func isExecutable(_ path: String) -> Bool { access(path, X_OK) == 0 }

    /// `lstat(2)`: owner, mode bits and modification time of `path` (not following a symlink).
    public static func status(_ path: String) -> (uid: UInt32, mode: UInt32, modified: Date)? {
        var st = stat()
        guard lstat(path, &st) == 0 else { return nil }
        let modified = Date(
            timeIntervalSince1970: Double(st.st_mtim.tv_sec) + Double(st.st_mtim.tv_nsec) / 1e9)
        return (st.st_uid, st.st_mode & 0o7777, modified)
    }

    /// A file's or folder's modification time in nanoseconds (`lstat`), exact enough to tell
    /// that a folder gained or lost an entry; nil when it is not there.
    public static func modifiedNanoseconds(_ path: String) -> Int64? {
        var st = stat()
        guard lstat(path, &st) == 0 else { return nil }
        return Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec)
    }

    /// What tells that a file changed without reading it (`lstat`): inode, size, and modification
    /// and status-change times in nanoseconds; nil when it is not a regular file.
    public struct FileIdentity: Sendable, Equatable {
        public var inode: UInt64
        public var size: Int64
        public var modified: Int64
        public var changed: Int64
    }

    /// `lstat(2)` of a regular file as a `FileIdentity`.
    public static func identity(_ path: String) -> FileIdentity? {
        var st = stat()
        guard lstat(path, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { return nil }
        return FileIdentity(
            inode: UInt64(st.st_ino), size: Int64(st.st_size),
            modified: Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec),
            changed: Int64(st.st_ctim.tv_sec) * 1_000_000_000 + Int64(st.st_ctim.tv_nsec))
    }

    /// How close to now a file time is too recent to key a cache on: file systems stamp times
    /// from a coarse clock, so a second change this soon could leave the same time.
    public static let racyNanoseconds: Int64 = 2_000_000_000

    /// `clock_gettime(CLOCK_REALTIME)` in nanoseconds: the file system's clock, to compare with
    /// file times (never the domain's clock, which is injected).
    public static func fileSystemNanoseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }

    /// `statvfs(3)`: bytes available to this user on the file system holding `path`, and its size.
    public static func freeSpace(_ path: String) -> (available: UInt64, total: UInt64)? {
        var vfs = statvfs()
        guard statvfs(path, &vfs) == 0 else { return nil }
        return (UInt64(vfs.f_bavail) * UInt64(vfs.f_frsize), UInt64(vfs.f_blocks) * UInt64(vfs.f_frsize))
    }

    /// `geteuid(2)`.
    public static func effectiveUserID() -> UInt32 { geteuid() }

    /// `kill(pid, 0)`: whether a process with this id exists.
    public static func processExists(_ pid: Int32) -> Bool { kill(pid, 0) == 0 || errno == EPERM }

    /// `path` made absolute against the working directory (itself when it is absolute).
    public static func absolute(_ path: String) -> String {
        path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
    }

    /// `readlink("/proc/self/exe")`: the running executable, to find its sibling stages.
    public static func executablePath() -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard n > 0 else { return CommandLine.arguments[0] }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The real invoking user (`getpwuid(getuid())` at the process's start, before any switch to a
    /// state's owner), recorded beside any `--by`.
    public static func userName() -> String { Invoker.current.name }

    /// `getpid(2)`, asked once: children are spawned (`posix_spawn`), never forked, so it never changes.
    public static func processID() -> Int32 { ownProcessID }
    private static let ownProcessID = getpid()

    /// The names of the groups the invoking process ran with (`getgroups(2)` at its start).
    public static func groupNames() -> [String] { Invoker.current.groups }

    /// `gethostname(2)`, asked once per process (every attempt record names its host).
    public static func hostName() -> String { ownHostName }
    private static let ownHostName: String = {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "unknown" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }()

    /// `clock_gettime(CLOCK_MONOTONIC)` in seconds: for durations and deadlines, never for records.
    public static func monotonicSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// `getenv(3)`.
    public static func environment(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        return String(cString: value)
    }

    /// `write(2)` to standard error, unbuffered: logs must survive a crash under cron.
    public static func writeStandardError(_ text: String) {
        var bytes = Array(text.utf8)
        bytes.withUnsafeMutableBytes { try? writeAll(2, UnsafeRawBufferPointer($0), path: "<stderr>") }
    }

    /// `write(2)` to standard output, unbuffered (Swift's `print` is block-buffered under cron).
    public static func writeStandardOutput(_ text: String) {
        var bytes = Array(text.utf8)
        bytes.withUnsafeMutableBytes { try? writeAll(1, UnsafeRawBufferPointer($0), path: "<stdout>") }
    }

    /// `read(2)` of standard input to end of file, up to `limit` bytes.
    public static func readStandardInput(limit: Int = 64 << 20) throws -> Data {
        var data = Data()
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = Glibc.read(0, &chunk, chunk.count)
            if n < 0 {
                if errno == EINTR { continue }
                throw SystemCallError(call: "read", path: "<stdin>", errno: errno)
            }
            if n == 0 { return data }
            data.append(contentsOf: chunk[0..<n])
            if data.count > limit { throw SystemCallError(call: "read", path: "<stdin>", errno: EFBIG) }
        }
    }

    /// `usleep(3)`: a short wait between retries.
    public static func sleep(milliseconds: Int) { usleep(UInt32(milliseconds * 1000)) }

    /// `kill(getpid(), SIGKILL)`: the crash a fault-injection point simulates.
    public static func crashNow() -> Never {
        kill(getpid(), SIGKILL)
        fatalError("SIGKILL did not stop the process")
    }
}
