import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Senders stay contained: nothing a sender starts outlives it.
///
/// The bridge makes itself a child subreaper (`prctl(PR_SET_CHILD_SUBREAPER)`), so whatever a
/// sender leaves behind when it exits (a background job, a daemon that `setsid`s out of the
/// sender's process group) is re-parented to the bridge instead of to init. When a sender ends,
/// `ChildProcess` asks `finished` to end each such process that is its: in its process group, or
/// carrying its marker (`RGOV_SENDER_RUN`, set in every sender's environment and inherited by
/// what it starts), with everything below it. An orphan that can be told apart from no running
/// sender's is ended once no sender runs. Every one of them is reaped.
public enum Containment {
    /// Marks every process of one send: `<bridge pid>.<serial>`.
    public static let variable = "RGOV_SENDER_RUN"

    private final class State: @unchecked Sendable {
        let lock = NSLock()
        var active = false
        var serial = 0
        /// The children `ChildProcess` supervises: never taken for orphans.
        var running: Set<pid_t> = []
    }

    private static let state = State()

    /// Makes this process the subreaper of everything its children start; true when it is.
    ///
    /// `prctl` is variadic and not imported: it is reached through `dlsym` (as `followParent` does).
    @discardableResult
    public static func becomeSubreaper() -> Bool {
        typealias Prctl = @convention(c) (Int32, UInt, UInt, UInt, UInt) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "prctl") else { return false }
        let prSetChildSubreaper: Int32 = 36
        let done = unsafeBitCast(symbol, to: Prctl.self)(prSetChildSubreaper, 1, 0, 0, 0) == 0
        state.lock.withLock { state.active = state.active || done }
        return done
    }

    /// A fresh marker for the next child, or nil when this process contains nothing.
    static func nextMarker() -> String? {
        state.lock.withLock {
            guard state.active else { return nil }
            state.serial += 1
            return "\(getpid()).\(state.serial)"
        }
    }

    /// Runs `spawn` (which returns the new child's pid, or nil) so that no sweep can take the
    /// child for an orphan before it is known.
    static func spawning(_ spawn: () -> pid_t?) {
        state.lock.withLock {
            if let pid = spawn(), state.active { state.running.insert(pid) }
        }
    }

    /// The child `pid` (already reaped) has ended: ends and reaps what it left.
    ///
    /// Returns how many processes were killed.
    @discardableResult
    static func finished(_ pid: pid_t, marker: String?) -> Int {
        state.lock.withLock {
            state.running.remove(pid)
            guard state.active else { return 0 }
            return sweep(group: pid, marker: marker, anyOrphan: state.running.isEmpty)
        }
    }

    /// Ends and reaps every orphan left, once nothing this process started runs any more (the
    /// bridge, at its end): the thorough look, through every process.
    @discardableResult
    public static func endOrphans() -> Int {
        state.lock.withLock {
            guard state.active, state.running.isEmpty else { return 0 }
            return sweep(group: 0, marker: nil, anyOrphan: true, thorough: true)
        }
    }

    /// Ends the orphans of one child, and everything below them; reaps them.
    ///
    /// An orphan (adopted by this process) is the child's when it is in the child's group `group`
    /// or carries `marker`; with `anyOrphan`, every orphan is. Each orphan already dead is reaped
    /// too. Bounded: a process that will not die (stuck in the kernel) is left after about two
    /// seconds.
    private static func sweep(group: pid_t, marker: String?, anyOrphan: Bool, thorough: Bool = false) -> Int {
        let me = getpid()
        let needle = marker.map { Array((variable + "=" + $0).utf8) }
        var killed: Set<pid_t> = []
        for round in 0..<2000 {
            // The cheap look first (the children of this process's threads): most sends leave
            // nothing. The kernel's lists may miss a child while children come and go; the
            // thorough first look does not.
            if !(thorough && round == 0), let children = childrenOfThisProcess(),
                children.allSatisfy({ state.running.contains($0) })
            {
                break
            }
            let table = processTable()
            var targets: [pid_t] = []
            var waiting = false
            for (pid, entry) in table where entry.parent == me && !state.running.contains(pid) {
                if entry.state == UInt8(ascii: "Z") {
                    var status: Int32 = 0
                    _ = waitpid(pid, &status, WNOHANG)
                } else if killed.contains(pid) {
                    waiting = true
                } else if anyOrphan || entry.group == group || needle.map({ carries(pid, $0) }) == true {
                    targets.append(pid)
                }
            }
            if targets.isEmpty && !waiting { break }
            // Everything below each target too, at once: nothing is left to start another.
            var children: [pid_t: [pid_t]] = [:]
            for (pid, entry) in table { children[entry.parent, default: []].append(pid) }
            var queue = targets
            while let pid = queue.popLast() {
                guard !killed.contains(pid) else { continue }
                kill(pid, SIGKILL)
                killed.insert(pid)
                queue += children[pid] ?? []
            }
            // Wait for the kills to land: the next look reaps the dead, and finds what a killed
            // process re-parented to this one.
            _ = poll(nil, 0, 1)
        }
        return killed.count
    }

    private struct Entry {
        var state: UInt8
        var parent: pid_t
        var group: pid_t
    }

    /// Every process's state, parent and process group, from `/proc/PID/stat`.
    private static func processTable() -> [pid_t: Entry] {
        var table: [pid_t: Entry] = [:]
        guard let dir = opendir("/proc") else { return table }
        defer { closedir(dir) }
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) {
                String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard let pid = pid_t(name), let stat = read("/proc/\(name)/stat", limit: 4096),
                let close = stat.lastIndex(of: UInt8(ascii: ")"))
            else { continue }
            // After the command's closing parenthesis: " S ppid pgrp ...".
            let fields = stat[(close + 1)...].split(separator: UInt8(ascii: " "))
            guard fields.count > 2, let parent = pid_t(String(decoding: fields[1], as: UTF8.self)),
                let group = pid_t(String(decoding: fields[2], as: UTF8.self))
            else { continue }
            table[pid] = Entry(state: fields[0].first ?? 0, parent: parent, group: group)
        }
        return table
    }

    /// This process's children (of every thread), from `/proc/self/task/TID/children`; nil when
    /// the kernel does not list them.
    private static func childrenOfThisProcess() -> [pid_t]? {
        guard let dir = opendir("/proc/self/task") else { return nil }
        defer { closedir(dir) }
        var children: [pid_t] = []
        var listed = false
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) {
                String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
            }
            // A thread that ended meanwhile has no list: it has no children either.
            guard pid_t(name) != nil, let list = read("/proc/self/task/\(name)/children", limit: 1 << 20) else {
                continue
            }
            listed = true
            children += list.split(separator: UInt8(ascii: " ")).compactMap {
                pid_t(String(decoding: $0, as: UTF8.self))
            }
        }
        return listed ? children : nil
    }

    /// Whether process `pid`'s environment holds `needle` (`NAME=value`) as one whole entry.
    private static func carries(_ pid: pid_t, _ needle: [UInt8]) -> Bool {
        guard let environ = read("/proc/\(pid)/environ", limit: 1 << 20) else { return false }
        return environ.split(separator: 0).contains { $0.elementsEqual(needle) }
    }

    private static func read(_ path: String, limit: Int) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while bytes.count < limit {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            bytes += chunk[0..<n]
        }
        return bytes
    }
}
