import Foundation

/// What the runtime truly can do (`capabilities/<id>.json`).
///
/// A profile may never claim more.
public struct CapabilityDescriptor: Codable, Sendable, Equatable {
    public static let capabilityNames = [
        "inline_block", "queue", "bridge", "direct_send", "ack_receipts", "scheduler", "export",
    ]

    public var schema: String
    public var id: String
    public var version: String
    public var runtime: String
    public var description: String?
    public var capabilities: [String: Bool]

    public var reference: String { id + "@" + version }

    public func has(_ capability: String) -> Bool { capabilities[capability] ?? false }

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
        for name in descriptor.capabilities.keys where !capabilityNames.contains(name) {
            throw ConfigurationError(
                "\(file): unknown capability \"\(name)\" (valid: \(capabilityNames.joined(separator: ", ")))")
        }
        return descriptor
    }
}
