import Foundation

/// rgov's data folder (found by `PackageRoot`), and the host's paths rgov reads.
///
/// The data folder holds the shipped profiles, capability descriptors, policy packs, schemas,
/// manifest and build record. Its paths are built here, as the state's are in `StateLayout`; so
/// are the paths of the executables beside the running one and of systemd's unit folders.
public struct PackageLayout: Sendable {
    public let root: String

    /// The folders every data folder holds.
    public static let requiredFolders = ["profiles", "capabilities", "policy-packs"]

    public var profiles: String { root + "/profiles" }
    public var capabilities: String { root + "/capabilities" }
    public var policyPacks: String { root + "/policy-packs" }
    public var manifest: String { root + "/package-manifest.json" }
    /// What `scripts/install` records of the build (its commit).
    public var buildInfo: String { root + "/build-info.json" }

    public func profile(_ id: String) -> String { profiles + "/" + id + ".yaml" }
    public func descriptor(_ id: String) -> String { capabilities + "/" + id + ".json" }
    /// A shipped folder by its name (`schemas`, `profiles`), and a file in one.
    public func folder(_ name: String) -> String { root + "/" + name }
    public func file(_ name: String, in folder: String) -> String { folder + "/" + name }

    public var holdsData: Bool { Self.requiredFolders.allSatisfy { Sys.isDirectory(folder($0)) } }

    /// The data folder an install puts beside `bin`: `PREFIX/share/rgov` for `PREFIX/bin`.
    public static func installed(besides bin: String) -> PackageLayout {
        PackageLayout(root: (bin as NSString).deletingLastPathComponent + "/share/rgov")
    }

    /// A file of the git checkout at `tree` (`HEAD`, `refs/heads/main`, `packed-refs`).
    public static func gitFile(_ name: String, in tree: String) -> String { tree + "/.git/" + name }

    /// Where systemd keeps the units that may run this package (the system's, then the user's).
    public static func unitFolders(home: String) -> [String] {
        ["/etc/systemd/system", "/usr/local/lib/systemd/system", home + "/.config/systemd/user"]
    }
    public static func unit(_ name: String, in folder: String) -> String { folder + "/" + name }

    /// The executable `name` in `directory`, or beside the running one (how stages find each other).
    public static func executable(_ name: String, in directory: String? = nil) -> String {
        (directory ?? (Sys.executablePath() as NSString).deletingLastPathComponent) + "/" + name
    }
}
