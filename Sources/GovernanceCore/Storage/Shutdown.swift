import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The last stop signal received (0: none).
///
/// Written only by the signal handler, read by the
/// supervision loops; a plain word is what a handler may safely store.
nonisolated(unsafe) private let receivedStopSignal: UnsafeMutablePointer<Int32> = {
    let pointer = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
    pointer.initialize(to: 0)
    return pointer
}()

/// Stop means stop: `SIGTERM`, `SIGINT` and `SIGHUP` (what `systemctl stop`, `timeout`, a host
/// shutdown and a terminal send) end a run at its next safe point instead of killing it mid-step.
///
/// Stages and senders run in their own process groups, so they never see a signal sent to the
/// caller: `ChildProcess` forwards it (SIGTERM, then SIGKILL after a short grace) to every child it
/// supervises, the bridge starts no new send, and the process exits with 128 + the signal number.
/// A stage started by `rgov tick` also asks the kernel for SIGTERM when the tick dies
/// (`PR_SET_PDEATHSIG`), so a SIGKILLed tick leaves no stage running alone.
public enum Shutdown {
    /// The signals that ask rgov to stop.
    public static let stopSignals: [Int32] = [SIGTERM, SIGINT, SIGHUP]

    /// Installs the handler (`sigaction`, `SA_RESTART`) for every stop signal.
    public static func install() {
        _ = receivedStopSignal.pointee
        for signal in stopSignals {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { number in receivedStopSignal.pointee = number }
            sigemptyset(&action.sa_mask)
            action.sa_flags = SA_RESTART
            _ = sigaction(signal, &action, nil)
        }
        // A parent may have started us with these signals blocked; a stop must still arrive.
        var unblock = sigset_t()
        sigemptyset(&unblock)
        for signal in stopSignals { sigaddset(&unblock, signal) }
        _ = pthread_sigmask(SIG_UNBLOCK, &unblock, nil)
    }

    public static var requested: Int32? {
        let value = receivedStopSignal.pointee
        return value == 0 ? nil : value
    }

    /// The exit status of a run that a stop signal ended (128 + the signal number).
    public static var exitStatus: Int32? { requested.map { 128 + $0 } }

    /// A safe point of a long step: throws `StopRequested` once a stop signal has arrived, so the
    /// step unwinds (its `defer`s clean up) and the process exits 128 + the signal number.
    public static func checkpoint() throws {
        if let signal = requested { throw StopRequested(signal: signal) }
    }

    /// A signal's name (`SIGTERM`), for logs and receipts.
    public static func name(of signal: Int32) -> String {
        switch signal {
        case SIGTERM: return "SIGTERM"
        case SIGINT: return "SIGINT"
        case SIGHUP: return "SIGHUP"
        case SIGKILL: return "SIGKILL"
        case SIGSEGV: return "SIGSEGV"
        case SIGABRT: return "SIGABRT"
        case SIGILL: return "SIGILL"
        case SIGBUS: return "SIGBUS"
        case SIGPIPE: return "SIGPIPE"
        default: return "signal \(signal)"
        }
    }

    /// The environment variable through which `rgov tick` names itself to its stages.
    public static let parentVariable = "RGOV_TICK_PID"

    /// `prctl(PR_SET_PDEATHSIG, SIGTERM)`, when this process was started by the tick named in
    /// `RGOV_TICK_PID`: the kernel sends SIGTERM when that parent dies.
    ///
    /// If the parent is already
    /// gone (it died before the call), the process stops at once with SIGTERM's status.
    public static func followParent() {
        guard let text = Sys.environment(parentVariable), let parent = Int32(text), parent > 1 else { return }
        typealias Prctl = @convention(c) (Int32, UInt, UInt, UInt, UInt) -> Int32
        if let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "prctl") {
            let prctl = unsafeBitCast(symbol, to: Prctl.self)
            let prSetPdeathsig: Int32 = 1
            _ = prctl(prSetPdeathsig, UInt(SIGTERM), 0, 0, 0)
        }
        if getppid() != parent { receivedStopSignal.pointee = SIGTERM }
    }
}

/// A step ended at a safe point because a stop signal arrived (`Shutdown.checkpoint`); the verb
/// that catches it exits 128 + `signal`.
public struct StopRequested: OperatorFacingError, Sendable {
    public var signal: Int32
    public var exitCode: ExitCode { .temporaryFailure }
    public var description: String { "stopped by \(Shutdown.name(of: signal))" }
}
