import Foundation

/// The colony's mission snapshots (`missions/`): input, read and validated, never trusted.
///
/// The one reader of snapshot files, so nothing needs a `Watchdog` to read a mission.
public struct MissionStore: Sendable {
    public let layout: StateLayout

    /// A snapshot larger than this is refused, never read half.
    public static let sizeLimit = 4 << 20

    public func read(_ id: String) throws -> MissionSnapshot {
        try Self.read(layout.mission(id), name: StateLayout.artifactName(id))
    }

    /// A snapshot's bytes: a regular file (never a link) within the size limit.
    public static func bytes(_ path: String) throws -> Data {
        switch Sys.kind(path) {
        case .regular: break
        case .symlink: throw RgovError.data("is a symbolic link; snapshots must be regular files")
        default: throw RgovError.data("is not a regular file")
        }
        do {
            return try Sys.readFile(path, limit: sizeLimit)
        } catch let error as SystemCallError where error.errno == EFBIG {
            throw RgovError.data("larger than \(sizeLimit) bytes")
        }
    }

    /// The snapshot at `path` (file `name`), validated: no duplicate keys, every field as the
    /// contract says, its id matching its file name.
    public static func read(_ path: String, name: String) throws -> MissionSnapshot {
        let data = try bytes(path)
        if let duplicate = DuplicateKeys.first(in: data) {
            throw RgovError.data(
                "key \(Identifier.quoted(duplicate.key)) appears twice in one object (byte \(duplicate.offset)); "
                    + "readers would disagree on its value")
        }
        let mission: MissionSnapshot
        do {
            mission = try CanonicalJSON.decode(MissionSnapshot.self, from: data)
        } catch let error as DecodingError {
            throw RgovError.data(error.described)
        }
        try mission.validate(fileName: name)
        return mission
    }
}
