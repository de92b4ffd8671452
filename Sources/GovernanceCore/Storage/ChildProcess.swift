import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// What to run, with what input, and how long it may take.
public struct ChildSpec: Sendable {
    public var executable: String
    public var arguments: [String]
    /// The whole environment of the child; nil inherits this process's.
    public var environment: [String: String]?
    public var standardInput: [UInt8] = []
    /// Seconds from start until the process group gets SIGTERM.
    public var deadline: Double
    /// Seconds without a new stdout line (from start, then from the last line) until the process
    /// group gets SIGTERM: a batch whose deadline is its items' deadlines summed still ends soon
    /// after it stops answering.
    public var idleDeadline: Double?
    /// Seconds between SIGTERM and SIGKILL.
    public var killGrace: Double = 2
    /// Bytes of stdout kept (all of it is still counted and hashed).
    public var stdoutLimit: Int = 1 << 20
    /// Bytes of stderr kept, from the end.
    public var stderrLimit: Int = 8192
    /// Seconds between SIGTERM and SIGKILL when this process was asked to stop (`Shutdown`):
    /// short, so every process of a run is gone within seconds of `systemctl stop`.
    public var stopGrace: Double = 1.5
    /// Copy the child's stderr to this process's stderr as it arrives (a tick passes its stages'
    /// log lines through, so one log holds the whole run).
    public var forwardStderr = false
    /// Start the child with the stop signals blocked, for a program that installs its own stop
    /// handler (`Shutdown.install` unblocks them): a stop forwarded while it starts waits for
    /// its handler instead of killing it before it can answer.
    public var holdsStopUntilReady = false
}

/// How a child ended, and what it printed.
public struct ChildResult: Sendable {
    /// The exit status, or 128 + signal number when a signal ended it.
    public var status: Int32
    public var signaled: Bool
    /// The deadline passed and the process group was signalled.
    public var timedOut: Bool
    /// This process was asked to stop while the child ran, and the stop was forwarded to its group.
    public var interrupted: Bool = false
    public var stdout: [UInt8]
    public var stdoutBytes: Int
    public var stdoutSHA256: String
    public var stderrTail: [UInt8]
    public var durationSeconds: Double
    /// Descendants still holding the pipes after the child exited were killed.
    public var killedLingeringDescendants: Bool

    public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    public var stderrText: String { String(decoding: stderrTail, as: UTF8.self) }
}

/// Runs one child process under supervision: its own process group, a deadline, and both pipes
/// read while it runs, so a chatty child cannot deadlock on a full pipe and a grandchild that keeps
/// the pipes open cannot hang the caller.
///
/// `posix_spawn` rather than `Foundation.Process`, which costs ~50 ms per child here, signals only
/// the direct child, and waits for grandchildren holding inherited descriptors.
public enum ChildProcess {
    private static let ignoreSIGPIPE: Void = { _ = signal(SIGPIPE, SIG_IGN) }()

    /// Runs `spec`; `onLine` sees each complete stdout line as it arrives, while the child runs
    /// (how a batch's results are recorded one by one, not only when the batch ends).
    public static func run(_ spec: ChildSpec, onLine: ((String) -> Void)? = nil) throws -> ChildResult {
        _ = ignoreSIGPIPE
        if let signal = Shutdown.requested {
            // Asked to stop: start nothing new (nothing started, so nothing was sent).
            throw SystemCallError(
                call: "posix_spawn (\(Shutdown.name(of: signal)) received)", path: spec.executable, errno: ECANCELED)
        }
        let started = Sys.monotonicSeconds()
        let (stdinPipe, stdoutPipe, stderrPipe) = try makePipes(for: spec.executable)
        let (pid, spawnResult, marker) = spawn(spec, stdin: stdinPipe[0], stdout: stdoutPipe[1], stderr: stderrPipe[1])
        for fd in [stdinPipe[0], stdoutPipe[1], stderrPipe[1]] { Sys.close(fd) }
        guard spawnResult == 0 else {
            for fd in [stdinPipe[1], stdoutPipe[0], stderrPipe[0]] { Sys.close(fd) }
            throw SystemCallError(call: "posix_spawn", path: spec.executable, errno: spawnResult)
        }
        var pipes = Pipes(stdin: stdinPipe[1], stdout: stdoutPipe[0], stderr: stderrPipe[0], input: spec.standardInput)
        defer { pipes.closeAll() }
        var result = supervise(pid: pid, pipes: &pipes, spec: spec, started: started, onLine: onLine)
        if Containment.finished(pid, marker: marker) > 0 { result.killedLingeringDescendants = true }
        return result
    }

    /// The child's stdin, stdout and stderr pipes, in that order; none left open when one cannot be made.
    ///
    /// `pipe(2)` + `FD_CLOEXEC` on both ends (`pipe2` is not imported); rgov spawns from one thread.
    private static func makePipes(for executable: String) throws -> ([Int32], [Int32], [Int32]) {
        var pipes: [[Int32]] = []
        for _ in 0..<3 {
            var fds: [Int32] = [0, 0]
            guard pipe(&fds) == 0 else {
                for fd in pipes.joined() { Sys.close(fd) }
                throw SystemCallError(call: "pipe", path: executable, errno: errno)
            }
            for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
            pipes.append(fds)
        }
        return (pipes[0], pipes[1], pipes[2])
    }

    /// Starts `spec` in a process group of its own, with `stdin`, `stdout` and `stderr` as its 0, 1
    /// and 2 and every signal at its default: its pid, `posix_spawn`'s result, and its containment marker.
    private static func spawn(
        _ spec: ChildSpec, stdin: Int32, stdout: Int32, stderr: Int32
    ) -> (pid: pid_t, result: Int32, marker: String?) {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, stdin, 0)
        posix_spawn_file_actions_adddup2(&actions, stdout, 1)
        posix_spawn_file_actions_adddup2(&actions, stderr, 2)
        // Only 0, 1 and 2 reach the child, whatever this process inherited or another thread is
        // opening at this moment (a pipe is close-on-exec only once `fcntl` has run).
        addCloseFrom(&actions, 3)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(
            &attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        posix_spawnattr_setpgroup(&attributes, 0)
        var mask = sigset_t()
        sigemptyset(&mask)
        if spec.holdsStopUntilReady { for signal in Shutdown.stopSignals { sigaddset(&mask, signal) } }
        posix_spawnattr_setsigmask(&attributes, &mask)
        var defaults = sigset_t()
        sigfillset(&defaults)
        sigdelset(&defaults, SIGKILL)
        sigdelset(&defaults, SIGSTOP)
        posix_spawnattr_setsigdefault(&attributes, &defaults)

        let argv = [spec.executable] + spec.arguments
        var environment = spec.environment ?? ProcessInfo.processInfo.environment
        // In a process that contains its children (the bridge), each child is marked, and so is
        // everything it starts: what is left of it when it ends is found and ended.
        let marker = Containment.nextMarker()
        if let marker { environment[Containment.variable] = marker }
        let envp = environment.map { "\($0.key)=\($0.value)" }.sorted()
        var pid: pid_t = 0
        var spawnResult: Int32 = 0
        Containment.spawning {
            // ETXTBSY: a program written a moment ago can still be open for writing in a child that
            // another thread is spawning (between its clone and its exec); that clears in microseconds.
            for retry in 0..<50 {
                spawnResult = withCStrings(argv) { cArgv in
                    withCStrings(envp) { cEnvp in
                        posix_spawn(&pid, spec.executable, &actions, &attributes, cArgv, cEnvp)
                    }
                }
                guard spawnResult == ETXTBSY else { break }
                Sys.sleep(milliseconds: 2 + retry)
            }
            return spawnResult == 0 ? pid : nil
        }
        return (pid, spawnResult, marker)
    }

    /// The child closes every descriptor from `low` up before its exec.
    ///
    /// Through `posix_spawn_file_actions_addclosefrom_np` (glibc 2.34; not imported, so reached
    /// through `dlsym`). Without it (an older libc), only the descriptors rgov marks close-on-exec
    /// stay out of the child.
    private static func addCloseFrom(_ actions: inout posix_spawn_file_actions_t, _ low: Int32) {
        typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np")
        else { return }
        _ = unsafeBitCast(symbol, to: AddCloseFrom.self)(&actions, low)
    }

    private struct Pipes {
        var stdin: Int32
        var stdout: Int32
        var stderr: Int32
        var input: [UInt8]
        var inputOffset = 0

        init(stdin: Int32, stdout: Int32, stderr: Int32, input: [UInt8]) {
            self.stdin = stdin
            self.stdout = stdout
            self.stderr = stderr
            self.input = input
            for fd in [stdin, stdout, stderr] { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
            if input.isEmpty { closeStdin() }
        }

        mutating func closeStdin() {
            if stdin >= 0 { Sys.close(stdin) }
            stdin = -1
        }

        mutating func closeAll() {
            for fd in [stdin, stdout, stderr] where fd >= 0 { Sys.close(fd) }
            (stdin, stdout, stderr) = (-1, -1, -1)
        }
    }

    /// Reads both pipes and feeds stdin until the child has exited and its pipes are closed,
    /// forwarding a stop, signalling at a deadline, and ending what it left holding the pipes.
    private static func supervise(
        pid: pid_t, pipes: inout Pipes, spec: ChildSpec, started: Double, onLine: ((String) -> Void)?
    ) -> ChildResult {
        var output = Output(spec: spec, onLine: onLine, answeredAt: started)
        var stop = Stop(grace: spec.killGrace)
        var ended: (status: Int32, signaled: Bool, at: Double)? = nil
        var killedLingering = false
        while true {
            let now = Sys.monotonicSeconds()
            if ended == nil { ended = reap(pid, now: now) }
            if ended == nil {
                stop.enforce(on: pid, spec: spec, started: started, answeredAt: output.answeredAt, now: now)
            }
            if pipes.stdout < 0 && pipes.stderr < 0 && ended != nil { break }
            if let exited = ended?.at, now - exited >= 0.25 {
                // The child is gone but something it started still holds the pipes: end the group.
                kill(-pid, SIGKILL)
                killedLingering = true
                output.drain(&pipes)
                break
            }
            waitForPipes(pipes, exited: ended != nil)
            output.drain(&pipes)
            feedStdin(&pipes)
        }
        if output.err.count > spec.stderrLimit { output.err.removeFirst(output.err.count - spec.stderrLimit) }
        return ChildResult(
            status: ended?.status ?? 128 + SIGKILL, signaled: ended?.signaled ?? false, timedOut: stop.timedOut,
            interrupted: stop.interrupted, stdout: output.out,
            stdoutBytes: output.outBytes, stdoutSHA256: output.outHash.hexDigest(), stderrTail: output.err,
            durationSeconds: Sys.monotonicSeconds() - started, killedLingeringDescendants: killedLingering)
    }

    /// The child's exit status (128 + the signal that ended it) once it has ended, without waiting.
    private static func reap(_ pid: pid_t, now: Double) -> (status: Int32, signaled: Bool, at: Double)? {
        var status: Int32 = 0
        let r = waitpid(pid, &status, WNOHANG)
        if r == pid {
            let low = status & 0x7f
            return (low == 0 ? (status >> 8) & 0xff : 128 + low, low != 0, now)
        } else if r < 0 && errno != EINTR {
            return (128 + SIGKILL, true, now)
        }
        return nil
    }

    /// Waits up to 10 ms (25 once the child has exited) for a pipe to be ready, 1 ms with every pipe
    /// closed: the child is exiting, so look again soon (a tick waits on each stage this way).
    private static func waitForPipes(_ pipes: Pipes, exited: Bool) {
        var fds: [pollfd] = []
        if pipes.stdout >= 0 { fds.append(pollfd(fd: pipes.stdout, events: Int16(POLLIN), revents: 0)) }
        if pipes.stderr >= 0 { fds.append(pollfd(fd: pipes.stderr, events: Int16(POLLIN), revents: 0)) }
        if pipes.stdin >= 0 { fds.append(pollfd(fd: pipes.stdin, events: Int16(POLLOUT), revents: 0)) }
        let timeout: Int32 = fds.isEmpty ? 1 : exited ? 25 : 10
        _ = poll(&fds, nfds_t(fds.count), timeout)
    }

    /// Writes what stdin will take of the input; closes it when all is written or it fails.
    private static func feedStdin(_ pipes: inout Pipes) {
        guard pipes.stdin >= 0 else { return }
        let fd = pipes.stdin
        let offset = pipes.inputOffset
        let n = pipes.input.withUnsafeBytes { bytes in
            bytes.baseAddress.map { Glibc.write(fd, $0 + offset, bytes.count - offset) } ?? 0
        }
        if n > 0 { pipes.inputOffset += n }
        if pipes.inputOffset >= pipes.input.count || (n < 0 && errno != EAGAIN && errno != EINTR) {
            pipes.closeStdin()
        }
    }

    /// When the child's group is signalled: the stop this process was asked for, forwarded (the
    /// group never sees the caller's signals), SIGTERM at a deadline, SIGKILL a grace later.
    private struct Stop {
        var grace: Double
        var termSentAt: Double? = nil
        var timedOut = false
        var interrupted = false

        mutating func enforce(on pid: pid_t, spec: ChildSpec, started: Double, answeredAt: Double, now: Double) {
            if !interrupted && Shutdown.requested != nil {
                interrupted = true
                grace = min(grace, spec.stopGrace)
                termSentAt = termSentAt ?? now
                kill(-pid, SIGTERM)
            }
            if termSentAt == nil
                && (now - started >= spec.deadline || spec.idleDeadline.map { now - answeredAt >= $0 } == true)
            {
                timedOut = true
                termSentAt = now
                kill(-pid, SIGTERM)
            } else if let sent = termSentAt, now - sent >= grace {
                kill(-pid, SIGKILL)
            }
        }
    }

    /// What the child printed: stdout counted, hashed, kept up to its limit and handed on line by
    /// line; stderr forwarded if asked and kept from the end.
    private struct Output {
        let spec: ChildSpec
        let onLine: ((String) -> Void)?
        /// When the child last printed a whole stdout line (its start until it does).
        var answeredAt: Double
        var partial: [UInt8] = []
        var out: [UInt8] = []
        var outBytes = 0
        var outHash = SHA256()
        var err: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)

        /// Reads what stdout and then stderr hold now.
        mutating func drain(_ pipes: inout Pipes) {
            drain(&pipes.stdout, isStdout: true)
            drain(&pipes.stderr, isStdout: false)
        }

        /// Reads `fd` until it would block; closes it at its end or on an error.
        mutating func drain(_ fd: inout Int32, isStdout: Bool) {
            while fd >= 0 {
                let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
                if n > 0 {
                    let slice = Array(chunk[0..<n])
                    if isStdout { keepStdout(slice) } else { keepStderr(slice) }
                    continue
                }
                if n < 0 && (errno == EINTR) { continue }
                if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { return }
                Sys.close(fd)
                fd = -1
            }
        }

        private mutating func keepStdout(_ slice: [UInt8]) {
            outBytes += slice.count
            outHash.update(slice)
            if let onLine {
                partial.append(contentsOf: slice)
                while let newline = partial.firstIndex(of: 0x0a) {
                    onLine(String(decoding: partial[..<newline], as: UTF8.self))
                    answeredAt = Sys.monotonicSeconds()
                    partial.removeSubrange(...newline)
                }
            }
            if out.count < spec.stdoutLimit { out.append(contentsOf: slice.prefix(spec.stdoutLimit - out.count)) }
        }

        private mutating func keepStderr(_ slice: [UInt8]) {
            if spec.forwardStderr { slice.withUnsafeBytes { try? Sys.writeAll(2, $0, path: "<stderr>") } }
            err.append(contentsOf: slice)
            if err.count > spec.stderrLimit * 2 { err.removeFirst(err.count - spec.stderrLimit) }
        }
    }

    private static func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R)
        -> R
    {
        var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
        pointers.append(nil)
        defer { for p in pointers { free(p) } }
        return pointers.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { preconditionFailure("the list always holds its nil terminator") }
            return body(base)
        }
    }
}

extension ChildProcess {
    /// A program name resolved on PATH, or the path as given.
    public static func resolve(_ program: String, environment: [String: String]) throws -> String {
        if program.contains("/") { return program }
        for dir in (environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":") {
            let candidate = dir + "/" + program
            if Sys.kind(candidate) == .regular { return candidate }
        }
        throw ConfigurationError("program \(Identifier.quoted(program)) not found on PATH")
    }
}
