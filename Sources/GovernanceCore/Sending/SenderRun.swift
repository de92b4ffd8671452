import Foundation

/// Runs a binding's senders over a list of sends and judges what each one says.
///
/// Batch modes (dry-run, shim, webhook) run one `rgov-sender` per batch of up to `batchSize`
/// sends, each result line judged as it arrives. Per-notice programs (command, openclaw-cli) run
/// one process each, at most `concurrency` at a time. A sender runs as a child process with a
/// deadline: one that hangs, crashes or floods its output never takes the caller with it.
///
/// The caller records: `claim` records a send's intent (false: skip it), and the intents of a
/// batch are committed before its sender starts; `conclude` records a verdict, one at a time.
public struct SenderRun: Sendable {
    public var binding: SenderBinding
    public var layout: StateLayout
    /// The `rgov-sender` executable; by default the one beside the running executable.
    public var senderExecutable: String
    public var environment: [String: String]
    /// Each send's deadline, and how many sends are under way at once (per-notice programs, or a
    /// webhook batch's requests).
    public var limits: SendLimits
    public var runtimeHasAckReceipts: Bool
    /// How the caller's records are written: a batch's intents are committed before its sender
    /// starts, and its conclusions after it ends.
    public var writes: Writes = .immediate

    /// At most this many sends go to one `rgov-sender` process.
    public static let batchSize = 500

    /// Why the binding's program cannot run here (not on PATH, not executable, a variable its
    /// binding gives it not set), or nil.
    public func unavailableProgram() -> String? {
        if binding.mode == .command {
            do { _ = try CommandBinding.variables(binding, environment: environment) } catch {
                return "\(error)"
            }
        }
        guard let program = binding.kind.program(binding, senderExecutable: senderExecutable) else {
            return "the command binding has no program"
        }
        guard let path = try? ChildProcess.resolve(program, environment: environment), Sys.isExecutable(path) else {
            return "sender program \(Identifier.quoted(program)) is not installed (not an executable on PATH)"
        }
        return nil
    }

    /// Sends each handoff (claimed first) and returns what `conclude` made of each verdict judged at `now`.
    ///
    /// Asked to stop (`Shutdown`), sends not yet started are left unclaimed for the next run.
    public func run<T: Sendable>(
        _ handoffs: [SpoolHandoff], now: Date, claim: @escaping @Sendable (Int) throws -> Bool,
        conclude: @escaping @Sendable (Int, SendVerdict, ChildResult?) throws -> T
    ) throws -> [T] {
        let collector = Collector<T>()
        if binding.kind.perNotice {
            Workers.forEach(handoffs.count, width: limits.concurrency) { i in
                // The send runs outside the lock; only its conclusion is serialized.
                guard let (verdict, child) = send(handoffs[i], number: i, now: now, claim: claim) else { return }
                collector.conclude { try conclude(i, verdict, child) }
            }
        } else {
            for start in stride(from: 0, to: handoffs.count, by: Self.batchSize) where Shutdown.requested == nil {
                let batch = try (start..<min(start + Self.batchSize, handoffs.count)).filter { try claim($0) }
                guard !batch.isEmpty else { continue }
                writes.point("bridge.after_intent")
                // Every intent durable before the sender starts; the conclusions commit after it ends.
                try writes.commit()
                send(batch.map { ($0, handoffs[$0]) }, now: now, collector: collector, conclude: conclude)
                try writes.commit()
            }
        }
        if let error = collector.errors.first { throw error }
        return collector.results
    }

    /// One `rgov-sender` for a batch; each result line is concluded as it arrives, so a crash
    /// mid-batch leaves every send with its conclusion or its intent, never both.
    private func send<T>(
        _ batch: [(Int, SpoolHandoff)], now: Date, collector: Collector<T>,
        conclude: @escaping @Sendable (Int, SendVerdict, ChildResult?) throws -> T
    ) {
        var pending = Dictionary(uniqueKeysWithValues: batch.map { ($0.1.notice_id, $0.0) })
        let started = Sys.monotonicSeconds()
        let onLine: (String) -> Void = { line in
            guard let result = try? CanonicalJSON.decode(SenderResult.self, from: Data(line.utf8)),
                let i = pending.removeValue(forKey: result.notice_id)
            else { return }
            let child = ChildResult(
                status: 0, signaled: false, timedOut: false, stdout: Array(line.utf8), stdoutBytes: line.utf8.count,
                stdoutSHA256: SHA256.hex(of: line), stderrTail: [], durationSeconds: Sys.monotonicSeconds() - started,
                killedLingeringDescendants: false)
            collector.conclude { try conclude(i, judge(child, result: result, at: now), child) }
            writes.point("bridge.after_batch_result")
        }
        let child: ChildResult
        do {
            child = try ChildProcess.run(try spec(for: batch.map(\.1)), onLine: onLine)
        } catch {
            Log.error("rgov-bridge", "the sender could not start: \(error)")
            for (i, _) in batch { collector.conclude { try conclude(i, Self.unavailable, nil) } }
            return
        }
        writes.point("bridge.after_send")
        // Sends the sender never answered for: judged by how the batch ended.
        for (i, handoff) in batch where pending[handoff.notice_id] != nil {
            collector.conclude { try conclude(i, judge(child, result: nil, at: now), child) }
        }
    }

    /// Claims and runs one per-notice program; returns its verdict (not yet recorded), or nil when
    /// the claim was refused and nothing was sent.
    private func send(
        _ handoff: SpoolHandoff, number i: Int, now: Date, claim: (Int) throws -> Bool
    ) -> (SendVerdict, ChildResult?)? {
        do {
            guard try claim(i) else { return nil }
        } catch {
            Log.error("rgov-bridge", "\(handoff.notice_id): cannot record the attempt: \(error)")
            return (Self.unavailable, nil)
        }
        FaultInjection.point("bridge.after_intent")
        let child: ChildResult
        do {
            child = try ChildProcess.run(try spec(for: [handoff]))
        } catch {
            // Nothing started, so nothing was sent: a failed attempt, retried with backoff.
            Log.error("rgov-bridge", "\(handoff.notice_id): the sender could not start: \(error)")
            return (Self.unavailable, nil)
        }
        FaultInjection.point("bridge.after_send")
        return (judge(child, result: binding.kind.interpret(child, noticeID: handoff.notice_id), at: now), child)
    }

    /// Nothing could start, so nothing was sent: retried with backoff.
    private static let unavailable = SendVerdict(
        state: .pending_external_send, reason: .sender_unavailable, retry: true)

    private func judge(_ child: ChildResult, result: SenderResult?, at now: Date) -> SendVerdict {
        var verdict = SendVerdict.judge(
            child, result: result, binding: binding, runtimeHasAckReceipts: runtimeHasAckReceipts, at: now)
        verdict.senderSaid = Self.said(child, result: result)
        return verdict
    }

    /// What the sender said about its send, for the receipt.
    ///
    /// Its own result when it ended cleanly; otherwise how it ended (the exit status, the signal,
    /// the deadline, a stop), with any refusal it printed. Never a reading of its output as a
    /// send when the process failed.
    static func said(_ child: ChildResult, result: SenderResult?) -> String? {
        let ms = Int((child.durationSeconds * 1000).rounded())
        let ended = child.signaled ? "killed by \(Shutdown.name(of: child.status - 128))" : "exit \(child.status)"
        let how: String
        if child.timedOut {
            how = "deadline: it was still running at its deadline and was stopped; \(ended) after \(ms) ms"
        } else if child.interrupted {
            how = "stopped: rgov was asked to stop while it ran and stopped it; \(ended) after \(ms) ms"
        } else if child.signaled {
            how = "signal: \(ended) after \(ms) ms"
        } else {
            switch child.status {
            case 0:
                return result.map { $0.reason.rawValue + ($0.detail.map { ": " + $0 } ?? "") }
                    ?? "exit 0 without a result for this notice"
            case ExitCode.temporaryFailure.rawValue: how = "exit 75 (EX_TEMPFAIL): it asked to be retried later"
            case ExitCode.configuration.rawValue: how = "exit 78 (EX_CONFIG): it refused its configuration"
            default: how = "exit \(child.status): it failed"
            }
        }
        // A refusal or an unknown outcome it printed before failing is in its own words too.
        guard let result, !result.ok || result.outcome_unknown == true else { return how }
        return how + "; it printed " + result.reason.rawValue + (result.detail.map { ": " + $0 } ?? "")
    }

    private func spec(for handoffs: [SpoolHandoff]) throws -> ChildSpec {
        var spec = try binding.plan(
            handoffs[0], layout: layout, senderExecutable: senderExecutable, environment: environment, limits: limits)
        guard handoffs.count > 1 else { return spec }
        spec.standardInput = handoffs.flatMap { Array(CanonicalJSON.line($0).utf8) + [0x0a] }
        // Each item has its timeout; the sender's start (a few ms, seconds on a loaded host) is allowed for.
        spec.deadline = limits.timeout * Double(handoffs.count)
        spec.idleDeadline = limits.timeout + 5
        // A batch is many notices: no one notice's fields belong in its environment.
        let noticeFields: Set = [
            "RGOV_NOTICE_ID", "RGOV_MISSION_ID", "RGOV_RULE_ID", "RGOV_SEVERITY", "RGOV_IDEMPOTENCY_KEY",
        ]
        spec.environment = spec.environment?.filter { !noticeFields.contains($0.key) }
        return spec
    }

    /// Conclusions of sends, one at a time.
    private final class Collector<T>: @unchecked Sendable {
        private let lock = NSLock()
        private(set) var results: [T] = []
        private(set) var errors: [Error] = []

        func conclude(_ body: () throws -> T) {
            lock.withLock {
                do { results.append(try body()) } catch { errors.append(error) }
            }
        }
    }
}
