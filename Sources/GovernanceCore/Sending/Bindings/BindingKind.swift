import Foundation

/// What one sender mode is.
///
/// What it proves and promises, what its binding must hold, how the bridge runs a send of it,
/// and how it reads what came back. One file per mode in this folder; `SenderBinding.kind`
/// picks the mode's.
protocol BindingKind: Sendable {
    /// A send runs as its own program per notice (at most `max_concurrent_sends` at a time),
    /// rather than through `rgov-sender` in batches.
    var perNotice: Bool { get }
    /// An explicit ok with a message id from the binding may count as delivery proof.
    func declaresAck(_ binding: SenderBinding) -> Bool
    /// Resending with the same idempotency key cannot deliver twice.
    func supportsIdempotency(_ binding: SenderBinding) -> Bool
    /// The program a send runs (a name on PATH or a path); nil when the binding names none.
    func program(_ binding: SenderBinding, senderExecutable: String) -> String?
    /// Refuses a binding the mode cannot run.
    func validate(_ binding: SenderBinding, profile: String) throws
    /// The child process of one send, with `limits.timeout` as its deadline; `environment`
    /// already carries the notice's fields.
    func plan(
        _ handoff: SpoolHandoff, binding: SenderBinding, layout: StateLayout, senderExecutable: String,
        environment: [String: String], limits: SendLimits
    ) throws -> ChildSpec
    /// What the child said about `noticeID`; nil when unreadable.
    func interpret(_ child: ChildResult, noticeID: String) -> SenderResult?
}

/// How long one send may take (seconds), and how many sends may be under way at once.
public struct SendLimits: Sendable {
    public var timeout: Double
    public var concurrency: Int
}

/// The modes `rgov-sender` runs (dry-run, shim, webhook): a batch of spool handoffs on stdin, one
/// sender-result line per item on stdout.
protocol SenderProcessBinding: BindingKind {}

extension SenderProcessBinding {
    var perNotice: Bool { false }

    func program(_ binding: SenderBinding, senderExecutable: String) -> String? { senderExecutable }

    func validate(_ binding: SenderBinding, profile: String) throws {}

    func plan(
        _ handoff: SpoolHandoff, binding: SenderBinding, layout: StateLayout, senderExecutable: String,
        environment: [String: String], limits: SendLimits
    ) throws -> ChildSpec {
        ChildSpec(
            executable: senderExecutable, arguments: ["--mode", binding.mode.rawValue, "--state", layout.root],
            environment: environment, standardInput: Array(CanonicalJSON.line(handoff).utf8) + [0x0a],
            deadline: limits.timeout)
    }

    func interpret(_ child: ChildResult, noticeID: String) -> SenderResult? {
        for line in child.stdoutText.split(separator: "\n") {
            if let r = try? CanonicalJSON.decode(SenderResult.self, from: Data(line.utf8)), r.notice_id == noticeID {
                return r
            }
        }
        return nil
    }
}
