import Foundation

/// `shim`: the trial channel, an outbox file; its acks are synthetic, its keys deduplicated.
struct ShimBinding: SenderProcessBinding {
    func declaresAck(_ binding: SenderBinding) -> Bool { true }
    func supportsIdempotency(_ binding: SenderBinding) -> Bool { true }
}
