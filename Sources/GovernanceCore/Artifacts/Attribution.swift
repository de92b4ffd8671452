import Foundation

/// Where a state runs in the promotion path: `local` (a desk), `staging` (where a profile is
/// evaluated) and `production` (where only an evaluated profile may be activated).
///
/// Recorded by `rgov init --environment` in `state.json`; a state made before environments is `local`.
public enum StateEnvironment: String, Codable, Sendable, CaseIterable {
    case local, staging, production
}

/// A mission's tenant or actor as a record carries it: the snapshot's value, or JSON `null` when
/// the snapshot had none.
///
/// A record written before rgov carried the field reads back without it and is written back
/// without it (`present` is false), so the hash of an older notice's header stays what it was.
@propertyWrapper
public struct MissionParty: Codable, Sendable, Equatable {
    private var value: String?
    /// False only for a record read without the field (until a value is set).
    private(set) var present: Bool

    public var wrappedValue: String? {
        get { value }
        set {
            value = newValue
            present = true
        }
    }

    public init(wrappedValue: String?) {
        value = wrappedValue
        present = true
    }

    init(absent: Void) {
        value = nil
        present = false
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        value = container.decodeNil() ? nil : try container.decode(String.self)
        present = true
    }

    public func encode(to encoder: Encoder) throws {
        var value = encoder.singleValueContainer()
        if let wrappedValue { try value.encode(wrappedValue) } else { try value.encodeNil() }
    }
}

extension KeyedDecodingContainer {
    /// A missing tenant or actor field is an older record's, not an error.
    public func decode(_ type: MissionParty.Type, forKey key: Key) throws -> MissionParty {
        guard contains(key) else { return MissionParty(absent: ()) }
        return MissionParty(wrappedValue: try decodeNil(forKey: key) ? nil : decode(String.self, forKey: key))
    }
}

extension KeyedEncodingContainer {
    /// An older record's missing field stays missing; a new record's is written, `null` or not.
    public mutating func encode(_ value: MissionParty, forKey key: Key) throws {
        guard value.present else { return }
        if let party = value.wrappedValue { try encode(party, forKey: key) } else { try encodeNil(forKey: key) }
    }
}
