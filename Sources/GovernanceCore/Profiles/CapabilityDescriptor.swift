import Foundation

/// What a runtime may be able to do, as `capabilities/<id>.json` and `capability_expectations` name it.
public enum Capability: String, Sendable, CaseIterable {
    case inline_block, queue, bridge, direct_send, ack_receipts, scheduler, export
    public static let names = allCases.map(\.rawValue)

    /// What the chain does instead when the runtime lacks this capability and the profile would use it.
    public var fallback: String {
        switch self {
        case .queue: "no queue: notices are recorded as prepared (queue_capability_missing) and never dispatched"
        case .bridge: "no bridge: dispatched notices wait in pending_external_send (bridge_capability_missing)"
        case .ack_receipts:
            "no ack path: sends that happen stay pending_external_send (sent_unconfirmed) until an operator acks"
        case .inline_block:
            "no inline block: unbacked completions are not refused at report time; the watchdog downgrades them (downgrade_status) with a review notice"
        case .scheduler: "no scheduler: run `rgov tick` by hand or from cron (manual orchestrator invocation)"
        case .direct_send: "no escalation channel: escalations go to the operator target as a force_checkpoint notice"
        case .export: "no export: audit bundles are written locally only"
        }
    }

    /// The fallback of a gap a run recorded; the name itself when it names no capability.
    public static func explain(_ gap: String) -> String { Self(rawValue: gap)?.fallback ?? gap }
}

/// What the runtime truly can do (`capabilities/<id>.json`).
///
/// A profile may never claim more.
public struct CapabilityDescriptor: Codable, Sendable, Equatable {
    public var schema: String
    public var id: String
    public var version: String
    public var runtime: String
    public var description: String?
    public var capabilities: [String: Bool]

    public var reference: String { id + "@" + version }

    public func has(_ capability: Capability) -> Bool { capabilities[capability.rawValue] ?? false }

    public static func parse(_ data: Data, file: String) throws -> CapabilityDescriptor {
        let descriptor: CapabilityDescriptor
        do {
            descriptor = try CanonicalJSON.decode(CapabilityDescriptor.self, from: data)
        } catch {
            throw ConfigurationError("\(file): not a capability descriptor: \(error)")
        }
        guard descriptor.schema == "rgov.capability-descriptor/v1" else {
            throw ConfigurationError("\(file): schema must be rgov.capability-descriptor/v1")
        }
        for name in descriptor.capabilities.keys where Capability(rawValue: name) == nil {
            let valid = Capability.names.joined(separator: ", ")
            throw ConfigurationError("\(file): unknown capability \"\(name)\" (valid: \(valid))")
        }
        return descriptor
    }
}
