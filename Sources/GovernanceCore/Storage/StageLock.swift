import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// One `flock(2)` per stage under `locks/`, so an overlapping cron run of the same stage steps aside.
///
/// `flock` rather than `fcntl` record locks, which drop when any descriptor of the file in the
/// process closes. The lock file is never deleted; a SIGKILLed holder releases the lock.
public final class StageLock {
    private let fd: Int32
    public let path: String

    private init(fd: Int32, path: String) { (self.fd, self.path) = (fd, path) }

    deinit { Sys.close(fd) }

    /// Takes the lock without waiting.
    ///
    /// Returns nil when another run holds it.
    public static func acquire(_ path: String, holder: String) throws -> StageLock? {
        let fd = try Sys.open(path, O_RDWR | O_CREAT, mode: 0o600)
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            if errno == EINTR { continue }
            let code = errno
            Sys.close(fd)
            if code == EWOULDBLOCK { return nil }
            throw SystemCallError(call: "flock", path: path, errno: code)
        }
        // Who holds it, for `rgov status`; advisory only, the flock is the truth.
        _ = ftruncate(fd, 0)
        var line = Array((holder + "\n").utf8)
        _ = line.withUnsafeMutableBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        return StageLock(fd: fd, path: path)
    }

    /// Runs `body` holding the lock at `path`, waiting up to 10 s for it (for short critical
    /// sections shared by stages and verbs, never for a whole run).
    public static func exclusively<T>(_ path: String, _ body: () throws -> T) throws -> T {
        var lock: StageLock? = nil
        for _ in 0..<2_000 {
            lock = try acquire(path, holder: "pid \(Sys.processID())")
            if lock != nil { break }
            Sys.sleep(milliseconds: 5)
        }
        guard let lock else { throw RgovError(.temporaryFailure, "\(path) stayed busy for 10 s; try again") }
        return try withExtendedLifetime(lock) { try body() }
    }

    /// The holder line written by the current holder, if the lock is held now; nil when free.
    public static func currentHolder(_ path: String) -> String? {
        guard let fd = try? Sys.open(path, O_RDWR) else { return nil }
        defer { Sys.close(fd) }
        if flock(fd, LOCK_EX | LOCK_NB) == 0 {
            _ = flock(fd, LOCK_UN)
            return nil
        }
        let text = (try? Sys.readFile(path, limit: 4096)).map { String(decoding: $0, as: UTF8.self) } ?? ""
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
