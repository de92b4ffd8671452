import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Who invoked this process, as the operating system said at its start: what every record names
/// as the acting person (beside `--by` and `SUDO_USER`), even after the process has switched to the
/// state's owner.
public struct Invoker: Sendable {
    public let uid: UInt32
    public let name: String
    public let groups: [String]

    /// Asked once, before any switch of identity (`StateOwner.become` reads it first).
    public static let current: Invoker = {
        let uid = getuid()
        return Invoker(uid: uid, name: StateOwner.userName(uid) ?? "uid-\(uid)", groups: StateOwner.processGroupNames())
    }()
}

/// The owner of a state folder: the owner of the folder itself.
///
/// Everything rgov writes in a state is the owner's; root acts on a state as its owner, anyone else is
/// refused.
public struct StateOwner: Sendable, Equatable {
    public let uid: UInt32
    public let gid: UInt32

    /// `lstat(2)` of the state folder: its owner; nil when it is missing or not a folder.
    ///
    /// The gid is the owner's primary group (`getpwuid(3)`), the folder's only for a uid with no
    /// user: the folder's group may be the metrics group (`MetricsAccess`), which is not who the owner is.
    public static func of(_ root: String) -> StateOwner? {
        var st = stat()
        guard lstat(root, &st) == 0, st.st_mode & S_IFMT == S_IFDIR else { return nil }
        return StateOwner(uid: st.st_uid, gid: getpwuid(st.st_uid)?.pointee.pw_gid ?? st.st_gid)
    }

    /// The owner's user name, or `uid-N` when the user database has none.
    public var name: String { Self.userName(uid) ?? "uid-\(uid)" }

    static func userName(_ uid: UInt32) -> String? {
        guard let pw = getpwuid(uid), let name = pw.pointee.pw_name else { return nil }
        return String(cString: name)
    }

    /// `getpwnam(3)`: a user's uid and primary gid, for `rgov init --owner`.
    public static func user(named name: String) -> StateOwner? {
        guard let pw = getpwnam(name) else { return nil }
        return StateOwner(uid: pw.pointee.pw_uid, gid: pw.pointee.pw_gid)
    }

    /// `getgroups(2)` + `getgrgid(3)`: the names of the groups this process runs with.
    static func processGroupNames() -> [String] {
        var ids = [gid_t](repeating: 0, count: 256)
        let n = getgroups(Int32(ids.count), &ids)
        var names: [String] = []
        for id in ids.prefix(max(0, Int(n))) + [getegid()] {
            if let group = getgrgid(id), let name = group.pointee.gr_name { names.append(String(cString: name)) }
        }
        return Array(Set(names)).sorted()
    }

    /// The user this process acts as now (`geteuid`): the state's owner once it has switched.
    public static var effectiveUserName: String { userName(geteuid()) ?? "uid-\(geteuid())" }

    /// Whether this process already runs as the owner (its effective uid).
    public var isCurrentUser: Bool { geteuid() == uid }

    /// `initgroups(3)`, `setgid(2)`, `setuid(2)`: this process, running as root, becomes the owner
    /// for good (real, effective and saved ids), so nothing it writes from now on is root's.
    ///
    /// The invoking identity is read first (`Invoker.current`), so records still name who acted.
    public func become() throws {
        _ = Invoker.current
        let label = "the owner of the state (\(name), uid \(uid))"
        if let pw = getpwuid(uid), let user = pw.pointee.pw_name {
            guard initgroups(user, gid) == 0 else {
                throw SystemCallError(call: "initgroups", path: label, errno: errno)
            }
        } else {
            guard setgroups(0, nil) == 0 else { throw SystemCallError(call: "setgroups", path: label, errno: errno) }
        }
        guard setgid(gid) == 0 else { throw SystemCallError(call: "setgid", path: label, errno: errno) }
        guard setuid(uid) == 0 else { throw SystemCallError(call: "setuid", path: label, errno: errno) }
        guard getuid() == uid, geteuid() == uid, getegid() == gid else {
            throw SystemCallError(call: "setuid", path: label, errno: EPERM)
        }
    }

    /// `chown(2)` of a folder rgov just created for this owner (`rgov init --owner`, as root).
    public func take(_ path: String) throws {
        guard lchown(path, uid, gid) == 0 else { throw SystemCallError(call: "chown", path: path, errno: errno) }
    }
}
