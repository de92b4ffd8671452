import Foundation

/// `dry-run`: renders and records, sends nothing, proves nothing.
struct DryRunBinding: SenderProcessBinding {
    func declaresAck(_ binding: SenderBinding) -> Bool { false }
    func supportsIdempotency(_ binding: SenderBinding) -> Bool { true }
}
