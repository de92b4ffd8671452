import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The one place rgov gives a group access to anything in a state: it changes a file's or a
/// folder's group (never its owner) and its mode.
///
/// Used for the metrics textfile alone (`MetricsAccess`); everything else stays the owner's, 0700 and
/// 0600.
public enum GroupAccess {
    /// A group and the mode to give what it may read.
    public struct Share: Sendable, Equatable {
        public var gid: UInt32
        public var mode: mode_t
    }

    /// `getgrnam_r(3)`: the id of the group named `name`; nil when the group database has none.
    public static func groupID(named name: String) -> UInt32? {
        var group = group()
        var found: UnsafeMutablePointer<group>? = nil
        var buffer = [CChar](repeating: 0, count: 16 << 10)
        guard getgrnam_r(name, &group, &buffer, buffer.count, &found) == 0, found != nil else { return nil }
        return group.gr_gid
    }

    /// `getgrouplist(3)`: whether the user `uid` is a member of `gid` (primary or supplementary),
    /// which the kernel requires before the user may give a file that group.
    public static func isMember(uid: UInt32, of gid: UInt32) -> Bool {
        guard let pw = getpwuid(uid), let name = pw.pointee.pw_name else { return false }
        let primary = pw.pointee.pw_gid
        if primary == gid { return true }
        var count: Int32 = 256
        var ids = [gid_t](repeating: 0, count: Int(count))
        guard getgrouplist(name, primary, &ids, &count) >= 0 else { return false }
        return ids.prefix(Int(count)).contains(gid)
    }

    /// `lstat(2)`: the group and permission bits of `path`; nil when it is missing.
    public static func status(_ path: String) -> (gid: UInt32, mode: mode_t)? {
        var st = stat()
        guard lstat(path, &st) == 0 else { return nil }
        return (st.st_gid, st.st_mode & 0o7777)
    }

    /// `fchownat(2)` (the owner left alone, links not followed), then `fchmodat(2)`.
    ///
    /// Gives `path` the group and mode of `share`, only what differs. The group goes first, so the
    /// new mode never opens `path` to the group it had.
    public static func apply(_ share: Share, to path: String) throws {
        guard let now = status(path) else { throw SystemCallError(call: "lstat", path: path, errno: ENOENT) }
        if now.gid != share.gid, fchownat(AT_FDCWD, path, uid_t.max, share.gid, AT_SYMLINK_NOFOLLOW) != 0 {
            throw SystemCallError(call: "chown", path: path, errno: errno)
        }
        if now.mode != share.mode, fchmodat(AT_FDCWD, path, share.mode, 0) != 0 {
            throw SystemCallError(call: "chmod", path: path, errno: errno)
        }
    }

    /// `fchown(2)` and `fchmod(2)` of an open file (a temporary before it is renamed into place).
    public static func apply(_ share: Share, to fd: Int32, path: String) throws {
        guard fchown(fd, uid_t.max, share.gid) == 0 else {
            throw SystemCallError(call: "chown", path: path, errno: errno)
        }
        guard fchmod(fd, share.mode) == 0 else { throw SystemCallError(call: "chmod", path: path, errno: errno) }
    }

    /// `fchmodat(2)`: takes a group's access away from `path` again, if its mode is `shared`.
    public static func withdraw(_ path: String, ifMode shared: mode_t, to mode: mode_t) throws {
        guard status(path)?.mode == shared else { return }
        guard fchmodat(AT_FDCWD, path, mode, 0) == 0 else {
            throw SystemCallError(call: "chmod", path: path, errno: errno)
        }
    }
}
