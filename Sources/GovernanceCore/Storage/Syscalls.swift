import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A failed system call: which call, on which path, and `errno` with its `strerror` text.
public struct SystemCallError: OperatorFacingError, Sendable {
    public let call: String
    public let path: String
    public let errno: Int32
    /// Why rgov refused the call itself, said instead of `errno`'s text (a symbolic link met
    /// inside a state folder).
    public var refusal: String? = nil

    public var description: String {
        refusal.map { "\(call) \(path): \($0)" }
            ?? "\(call) \(path): \(String(cString: strerror(errno))) (errno \(errno))"
    }

    public var exitCode: ExitCode { rgovError.exitCode }

    /// As an operator-facing error with the sysexits status that fits the errno.
    public var rgovError: RgovError {
        if refusal != nil { return RgovError(.cannotCreate, description) }
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
        let fd = try at(path, "open") { dir, name in
            // Below a confined root the file itself is never a link either.
            let flags = flags | O_CLOEXEC | (dir == AT_FDCWD ? 0 : O_NOFOLLOW)
            while true {
                let fd = openat(dir, name, flags, mode)
                if fd >= 0 { return fd }
                if errno != EINTR { throw failure("open", path, errno, dir, name) }
            }
        }
        if journaled && !existed { StoreJournal.record("create", path) }
        if journaled && existed && flags & O_TRUNC != 0 { StoreJournal.record("truncate", path, ["size": 0]) }
        return fd
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
        guard retrying({ flock(fd, LOCK_EX) }) == 0 else {
            throw SystemCallError(call: "flock", path: path, errno: errno)
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
        guard retrying({ syncfsCall(fd) }) == 0 else { throw SystemCallError(call: "syncfs", path: path, errno: errno) }
        StoreJournal.record("syncfs", path)
    }

    public static func fsync(_ fd: Int32, path: String) throws {
        guard retrying({ Glibc.fsync(fd) }) == 0 else { throw SystemCallError(call: "fsync", path: path, errno: errno) }
        StoreJournal.record("fsync", path)
    }

    /// `open(dir, O_RDONLY|O_DIRECTORY)` + `fsync(2)`: makes a rename or unlink in `dir` durable.
    ///
    /// Below a confined root, the folder verified (and cached) for the files just renamed or
    /// linked into it, reopened as `.`: the one those calls changed, even if swapped since.
    public static func fsyncDirectory(_ path: String) throws {
        let fd: Int32
        if let folder = try verifiedFolder(path, "open") {
            fd = withExtendedLifetime(folder) {
                retrying { openat(folder.fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
            }
            guard fd >= 0 else { throw SystemCallError(call: "open", path: path, errno: errno) }
        } else {
            fd = try open(path, O_RDONLY | O_DIRECTORY)
        }
        defer { close(fd) }
        try fsync(fd, path: path)
    }

    /// `rename(2)`: atomic replacement within one file system.
    public static func rename(_ from: String, _ to: String) throws {
        StoreJournal.before(from, to)
        try at(from, "rename") { fromDir, fromName in
            try at(to, "rename") { toDir, toName in
                guard renameat(fromDir, fromName, toDir, toName) == 0 else {
                    throw SystemCallError(call: "rename", path: "\(from) -> \(to)", errno: errno)
                }
            }
        }
        StoreJournal.record("rename", to, ["from": from])
    }

    /// `link(2)`: publishes `from` as `to` only if `to` does not exist.
    ///
    /// Returns false on `EEXIST`.
    public static func linkNoClobber(_ from: String, _ to: String) throws -> Bool {
        StoreJournal.before(to)
        // `linkat` without AT_SYMLINK_FOLLOW: a link at `from` would be linked itself, not followed.
        let code = try at(from, "link") { fromDir, fromName in
            try at(to, "link") { toDir, toName in linkat(fromDir, fromName, toDir, toName, 0) == 0 ? 0 : errno }
        }
        if code == 0 {
            StoreJournal.record("link", to, ["from": from])
            return true
        }
        if code == EEXIST { return false }
        throw SystemCallError(call: "link", path: "\(from) -> \(to)", errno: code)
    }

    /// `unlink(2)`; a missing file is not an error.
    public static func unlink(_ path: String) throws {
        StoreJournal.before(path)
        let code: Int32
        do {
            code = try at(path, "unlink") { dir, name in unlinkat(dir, name, 0) == 0 ? 0 : errno }
        } catch let error as SystemCallError where error.errno == ENOENT && error.refusal == nil {
            return
        }
        if code == 0 {
            StoreJournal.record("unlink", path)
        } else if code != ENOENT {
            throw SystemCallError(call: "unlink", path: path, errno: code)
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
        let code: Int32
        do {
            code = try at(path, "mkdir") { dir, name in mkdirat(dir, name, 0o700) == 0 ? 0 : errno }
        } catch let error as SystemCallError where error.errno == ENOENT && error.refusal == nil {
            code = ENOENT
        }
        if code == 0 {
            StoreJournal.record("mkdir", path)
            let parent = (path as NSString).deletingLastPathComponent
            try fsyncDirectory(parent.isEmpty ? "." : parent)
            return true
        }
        switch code {
        case EEXIST:
            switch kind(path) {
            case .directory: return false
            case .symlink where confinement(of: path) != nil: throw linkRefusal("mkdir", path, link: path)
            default: throw SystemCallError(call: "mkdir", path: path, errno: ENOTDIR)
            }
        case ENOENT:
            let parent = (path as NSString).deletingLastPathComponent
            guard !parent.isEmpty, parent != path else {
                throw SystemCallError(call: "mkdir", path: path, errno: ENOENT)
            }
            try makeDirectory(parent)
            return try makeDirectory(path)
        default:
            throw SystemCallError(call: "mkdir", path: path, errno: code)
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
        try at(path, "chmod") { dir, name in
            guard fchmodat(dir, name, mode, dir == AT_FDCWD ? 0 : AT_SYMLINK_NOFOLLOW) == 0 else {
                throw failure("chmod", path, errno, dir, name)
            }
        }
    }

    /// `rmdir(2)`; used only for empty scratch directories.
    public static func removeEmptyDirectory(_ path: String) {
        knownFoldersLock.withLock { knownFolders.removeAll() }
        for confinement in confinementLock.withLock({ confinements }) { confinement.forget() }
        let removed = try? at(path, "rmdir") { dir, name in unlinkat(dir, name, AT_REMOVEDIR) == 0 }
        if removed == true { StoreJournal.record("rmdir", path) }
    }

    /// `opendir(3)`/`readdir(3)`: names in `path` without `.` and `..`, unsorted.
    ///
    /// A missing folder is empty.
    public static func listDirectory(_ path: String) throws -> [String] { try entries(path).map(\.name) }

    /// `readdir(3)` entries of `path` with their `d_type`.
    private static func entries(_ path: String) throws -> [(name: String, type: Int32)] {
        let opened: OpaquePointer?
        do {
            opened = try at(path, "opendir") { parent, name in
                if parent == AT_FDCWD {
                    guard let dir = opendir(path) else {
                        if errno == ENOENT { return nil }
                        throw SystemCallError(call: "opendir", path: path, errno: errno)
                    }
                    return dir
                }
                let fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
                if fd < 0 {
                    if errno == ENOENT { return nil }
                    throw failure("opendir", path, errno, parent, name)
                }
                guard let dir = fdopendir(fd) else {
                    let code = errno
                    Glibc.close(fd)
                    throw SystemCallError(call: "fdopendir", path: path, errno: code)
                }
                return dir
            }
        } catch let error as SystemCallError where error.errno == ENOENT && error.refusal == nil {
            return []
        }
        guard let dir = opened else { return [] }
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
    ///
    /// Below a confined root, a link whose name `isSubfolder` accepts is refused (never followed,
    /// nor silently skipped).
    public static func listSubdirectories(_ path: String, refusingLinks isSubfolder: (String) -> Bool = { _ in false })
        throws -> [String]
    {
        let confined = confinement(of: path + "/") != nil
        var found: [String] = []
        for entry in try entries(path) {
            var type = entry.type
            if type == Int32(DT_UNKNOWN) {
                switch kind(path + "/" + entry.name) {
                case .directory: type = Int32(DT_DIR)
                case .symlink: type = Int32(DT_LNK)
                default: break
                }
            }
            if type == Int32(DT_DIR) { found.append(entry.name) }
            if type == Int32(DT_LNK), confined, isSubfolder(entry.name) {
                throw linkRefusal("opendir", path, link: path + "/" + entry.name)
            }
        }
        return found
    }

    /// `lstat(2)`: what is at `path`, without following a symlink.
    ///
    /// Below a confined root, `.missing` too when a link stands in the way (`checkedKind` says so).
    public static func kind(_ path: String) -> FileKind { (try? checkedKind(path)) ?? .missing }

    /// `kind`, but a link met on the way to `path` below the confined root is refused (thrown)
    /// instead of answered `.missing`.
    public static func checkedKind(_ path: String) throws -> FileKind {
        guard let st = try checkedLinkStatus(path) else { return .missing }
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
    public static func isWritableDirectory(_ path: String) -> Bool { isAccessible(path, W_OK | X_OK) }

    /// `access(2)` with `X_OK`: whether this process may execute `path`.
    public static func isExecutable(_ path: String) -> Bool { isAccessible(path, X_OK) }

    /// `faccessat(2)`; below a confined root, a link is never accessible (nor followed).
    private static func isAccessible(_ path: String, _ mode: Int32) -> Bool {
        let ok = try? at(path, "access") { dir, name in
            if dir == AT_FDCWD { return access(path, mode) == 0 }
            return !isLink(dir, name) && faccessat(dir, name, mode, AT_SYMLINK_NOFOLLOW) == 0
        }
        return ok == true
    }

    /// `lstat(2)`: owner, mode bits and modification time of `path` (not following a symlink).
    public static func status(_ path: String) -> (uid: UInt32, mode: UInt32, modified: Date)? {
        guard let st = linkStatus(path) else { return nil }
        let modified = Date(timeIntervalSince1970: Double(st.st_mtim.tv_sec) + Double(st.st_mtim.tv_nsec) / 1e9)
        return (st.st_uid, st.st_mode & 0o7777, modified)
    }

    /// A file's or folder's modification time in nanoseconds (`lstat`), exact enough to tell
    /// that a folder gained or lost an entry; nil when it is not there.
    public static func modifiedNanoseconds(_ path: String) -> Int64? {
        linkStatus(path).map { nanoseconds($0.st_mtim) }
    }

    private static func nanoseconds(_ t: timespec) -> Int64 { Int64(t.tv_sec) * 1_000_000_000 + Int64(t.tv_nsec) }

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
        guard let st = linkStatus(path), st.st_mode & S_IFMT == S_IFREG else { return nil }
        return FileIdentity(
            inode: UInt64(st.st_ino), size: Int64(st.st_size), modified: nanoseconds(st.st_mtim),
            changed: nanoseconds(st.st_ctim))
    }

    /// How close to now a file time is too recent to key a cache on: file systems stamp times
    /// from a coarse clock, so a second change this soon could leave the same time.
    public static let racyNanoseconds: Int64 = 2_000_000_000

    /// `clock_gettime(CLOCK_REALTIME)` in nanoseconds: the file system's clock, to compare with
    /// file times (never the domain's clock, which is injected).
    public static func fileSystemNanoseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return nanoseconds(ts)
    }

    /// `statvfs(3)`: bytes available to this user on the file system holding `path`, and its size.
    public static func freeSpace(_ path: String) -> (available: UInt64, total: UInt64)? {
        var vfs = statvfs()
        let done = try? at(path, "statvfs") { dir, name in
            if dir == AT_FDCWD { return statvfs(path, &vfs) == 0 }
            let fd = openat(dir, name, openPath | O_NOFOLLOW | O_CLOEXEC)
            guard fd >= 0 else { return false }
            defer { Glibc.close(fd) }
            return !isLink(dir, name) && fstatvfs(fd, &vfs) == 0
        }
        guard done == true else { return nil }
        return (UInt64(vfs.f_bavail) * UInt64(vfs.f_frsize), UInt64(vfs.f_blocks) * UInt64(vfs.f_frsize))
    }

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

    public static func environment(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        return String(cString: value)
    }

    /// `write(2)` to standard error, unbuffered: logs must survive a crash under cron.
    public static func writeStandardError(_ text: String) {
        Array(text.utf8).withUnsafeBytes { try? writeAll(2, $0, path: "<stderr>") }
    }

    /// `write(2)` to standard output, unbuffered (Swift's `print` is block-buffered under cron).
    public static func writeStandardOutput(_ text: String) {
        Array(text.utf8).withUnsafeBytes { try? writeAll(1, $0, path: "<stdout>") }
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

// MARK: - Confinement: no symbolic link is followed below a state folder's root

extension Sys {
    /// Follows no symbolic link below `stateRoot` from now on (the root itself is reached as given).
    ///
    /// The folders of a path below it are reached component by component from a descriptor of
    /// the root, `openat(O_PATH|O_DIRECTORY|O_NOFOLLOW)`, and the call is made relative to its
    /// folder with the `*at` variant, never following a link for the file itself either. A link
    /// is refused with an error naming it (exit 73). Paths outside it behave as before.
    ///
    /// A process confines its one state root; a test process may confine several (the last
    /// `maximumRoots`), each path going by the longest root it lies below.
    public static func confine(stateRoot: String) {
        var root = stateRoot.isEmpty ? "." : stateRoot
        while root.count > 1 && root.hasSuffix("/") { root.removeLast() }
        guard root != "/" else { return }
        confinementLock.withLock {
            guard !confinements.contains(where: { $0.root == root }) else { return }
            confinements.append(Confinement(root: root))
            if confinements.count > maximumRoots { confinements.removeFirst() }
            prefixes = confinements.flatMap { c in c.prefixes.map { ($0, c) } }.sorted { $0.0.count > $1.0.count }
        }
    }

    static let maximumRoots = 16

    /// What `body` returns, nil when it fails, except that a link refused below the confined root
    /// is thrown: a reader that does without what it cannot read never takes a planted link for a
    /// missing file.
    public static func unlessRefused<T>(_ body: () throws -> T) throws -> T? {
        do {
            return try body()
        } catch let error as SystemCallError where error.refusal != nil {
            throw error
        } catch {
            return nil
        }
    }

    /// `O_PATH`, which Swift's Glibc module does not declare (a GNU extension).
    static let openPath: Int32 = 0o10000000

    nonisolated(unsafe) private static var confinements: [Confinement] = []
    /// Every confined root's prefixes, longest first.
    nonisolated(unsafe) private static var prefixes: [(String, Confinement)] = []
    private static let confinementLock = NSLock()

    /// A folder below the confined root, open `O_PATH|O_CLOEXEC`, reached without following a
    /// link; closed once neither the cache nor a call in progress holds it.
    final class Folder: @unchecked Sendable {
        let fd: Int32
        init(_ fd: Int32) { self.fd = fd }
        deinit { Glibc.close(fd) }
    }

    /// The confined root and its verified folders, by path relative to the root ("" is the root).
    ///
    /// A cached folder stays the one verified even if it is later swapped for a link: nothing
    /// follows the link. Bounded: past `limit` folders the cache starts over.
    final class Confinement: @unchecked Sendable {
        let root: String
        /// `root/`, and its absolute spelling when `root` is relative.
        let prefixes: [String]
        private let lock = NSLock()
        private var folders: [String: Folder] = [:]
        static let limit = 1024

        init(root: String) {
            self.root = root
            var absolute = Sys.absolute(root)
            while absolute.hasSuffix("/.") { absolute.removeLast(2) }
            absolute = absolute.replacingOccurrences(of: "/./", with: "/")
            prefixes = Array(Set([root + "/", absolute + "/"])).sorted { $0.count > $1.count }
        }

        func forget() { lock.withLock { folders.removeAll() } }

        /// The folder at `relative` (below the root), walked from the nearest cached one.
        ///
        /// A path is cached only once walked, so a hit needs no check; a miss checks each component
        /// as it is walked (a path that is not plain is made so first, or refused for a `..`).
        func folder(_ relative: Substring, prefix: String, call: String, path: String) throws -> Folder {
            if let known = lock.withLock({ folders[String(relative)] }) { return known }
            let fd: Int32
            if relative.isEmpty {
                fd = Sys.retrying { Glibc.open(root, O_RDONLY | Sys.openPath | O_DIRECTORY | O_CLOEXEC) }
                guard fd >= 0 else { throw SystemCallError(call: call, path: path, errno: errno) }
            } else {
                let (parentPath, component) = Sys.split(relative)
                guard Sys.isPlainName(component) else {
                    let plain = try Sys.plain(relative, call: call, path: path)
                    return try folder(plain, prefix: prefix, call: call, path: path)
                }
                let parent = try folder(parentPath, prefix: prefix, call: call, path: path)
                let name = String(component)
                fd = withExtendedLifetime(parent) {
                    Sys.retrying { openat(parent.fd, name, Sys.openPath | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
                }
                guard fd >= 0 else {
                    let code = errno
                    throw withExtendedLifetime(parent) {
                        Sys.failure(call, path, code, parent.fd, name, link: prefix + relative)
                    }
                }
            }
            let verified = Folder(fd)
            lock.withLock {
                if folders.count >= Self.limit { folders.removeAll() }
                folders[String(relative)] = verified
            }
            return verified
        }
    }

    /// `body` again while it fails with `EINTR`.
    static func retrying(_ body: () -> Int32) -> Int32 {
        while true {
            let result = body()
            if result >= 0 || errno != EINTR { return result }
        }
    }

    /// The confinement `path` lies below, with the root prefix it starts with and the rest.
    static func confinement(of path: String) -> (Confinement, prefix: String, relative: Substring)? {
        let candidates = confinementLock.withLock { prefixes }
        guard !candidates.isEmpty else { return nil }
        var bytes = path
        let matched = bytes.withUTF8 { bytes in
            candidates.first { candidate in
                var prefix = candidate.0
                return prefix.withUTF8 { wanted in
                    guard bytes.count >= wanted.count, let have = bytes.baseAddress, let want = wanted.baseAddress
                    else {
                        return false
                    }
                    return memcmp(have, want, wanted.count) == 0
                }
            }
        }
        guard let (prefix, confinement) = matched else { return nil }
        return (confinement, prefix, path[path.utf8.index(path.utf8.startIndex, offsetBy: prefix.utf8.count)...])
    }

    /// Runs `body` with where a call on `path` acts: the descriptor of its verified folder and its
    /// name there when `path` is below the confined root, else `AT_FDCWD` and `path` itself.
    ///
    /// Throws when the folder cannot be reached: `ENOENT` when missing, a refusal naming the link
    /// met, `EINVAL` for a `..` component. Empty and `.` components are skipped.
    static func at<T>(_ path: String, _ call: String, _ body: (Int32, String) throws -> T) throws -> T {
        guard let (confinement, prefix, relative) = confinement(of: path) else { return try body(AT_FDCWD, path) }
        var (folderPath, name) = split(relative)
        if !isPlainName(name) {
            (folderPath, name) = split(try plain(relative, call: call, path: path))
            guard !name.isEmpty else { return try body(AT_FDCWD, path) }
        }
        let folder = try confinement.folder(folderPath, prefix: prefix, call: call, path: path)
        return try withExtendedLifetime(folder) { try body(folder.fd, String(name)) }
    }

    /// `relative` cut at its last slash: the folder's path and the name in it.
    static func split(_ relative: Substring) -> (folder: Substring, name: Substring) {
        guard let slash = relative.utf8.lastIndex(of: UInt8(ascii: "/")) else { return ("", relative) }
        return (relative[..<slash], relative[relative.index(after: slash)...])
    }

    /// Whether `name` is a component as it is: not empty, `.` or `..`.
    static func isPlainName(_ name: Substring) -> Bool {
        switch name.utf8.count {
        case 0: return false
        case 1: return name.utf8.first != UInt8(ascii: ".")
        case 2: return name.utf8.first != UInt8(ascii: ".") || name.utf8.last != UInt8(ascii: ".")
        default: return true
        }
    }

    /// The verified folder `path` itself names below the confined root; nil outside it (or for
    /// the root itself).
    static func verifiedFolder(_ path: String, _ call: String) throws -> Folder? {
        guard let (confinement, prefix, relative) = confinement(of: path), !relative.isEmpty else { return nil }
        return try confinement.folder(relative, prefix: prefix, call: call, path: path)
    }

    /// A path below the confined root as plain components joined by single slashes: empty and
    /// `.` components skipped, `..` refused.
    static func plain(_ relative: Substring, call: String, path: String) throws -> Substring {
        let parts = relative.split(separator: "/", omittingEmptySubsequences: true).filter { $0 != "." }
        if parts.contains("..") {
            throw SystemCallError(
                call: call, path: path, errno: EINVAL, refusal: "a `..` inside a state folder is never followed")
        }
        return Substring(parts.joined(separator: "/"))
    }

    /// The error for `code` from `call` on `name` in `dir`: a refusal naming `link` (the file
    /// itself unless told) when what is there is a symbolic link below the confined root.
    static func failure(
        _ call: String, _ path: String, _ code: Int32, _ dir: Int32, _ name: String, link: String? = nil
    ) -> SystemCallError {
        if dir != AT_FDCWD, [ELOOP, ENOTDIR, EOPNOTSUPP, EMLINK].contains(code), isLink(dir, name) {
            return linkRefusal(call, path, link: link ?? path)
        }
        return SystemCallError(call: call, path: path, errno: code)
    }

    static func linkRefusal(_ call: String, _ path: String, link: String) -> SystemCallError {
        SystemCallError(
            call: call, path: path, errno: ELOOP,
            refusal: "\(link) is a symbolic link; rgov never follows a link inside a state folder")
    }

    /// `fstatat(AT_SYMLINK_NOFOLLOW)`: whether `name` in `dir` is a symbolic link.
    static func isLink(_ dir: Int32, _ name: String) -> Bool {
        var st = stat()
        return fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_mode & S_IFMT == S_IFLNK
    }

    /// `lstat(2)`, or `fstatat(AT_SYMLINK_NOFOLLOW)` in its verified folder below the confined
    /// root; nil when it is not there or cannot be reached without following a link.
    static func linkStatus(_ path: String) -> stat? { (try? checkedLinkStatus(path)) ?? nil }

    /// `linkStatus`, but a link met on the way below the confined root is refused (thrown).
    static func checkedLinkStatus(_ path: String) throws -> stat? {
        var st = stat()
        let found = try unlessRefused {
            try at(path, "lstat") { dir, name in
                dir == AT_FDCWD ? lstat(path, &st) == 0 : fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) == 0
            }
        }
        return found == true ? st : nil
    }
}
