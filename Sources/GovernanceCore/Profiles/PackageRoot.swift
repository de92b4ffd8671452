import Foundation

/// Finds rgov's data folder: the shipped `profiles/`, `capabilities/` and `policy-packs/` (and, once
/// installed, schemas, templates and docs).
///
/// In order: `RGOV_HOME` (refused, not skipped, when it does not hold the data); `../share/rgov`
/// beside the running executable (an install by `scripts/install`); the nearest ancestor of the
/// executable holding the data (the source tree, for `.build/release/`). Never the current
/// directory: a cron job's working directory is `$HOME`, and a profile found there by accident is
/// worse than a clear refusal.
public enum PackageRoot {
    public struct Location: Sendable, Equatable {
        public var path: String
        /// How it was found: `RGOV_HOME`, `installed`, or `source tree`.
        public var how: String
    }

    /// The data folder in force, or a configuration error (exit 78) that says where it looked.
    public static func find() throws -> Location {
        if let home = Sys.environment("RGOV_HOME"), !home.isEmpty {
            guard PackageLayout(root: home).holdsData else {
                throw ConfigurationError(
                    "RGOV_HOME=\(home) does not hold rgov's data (\(PackageLayout.requiredFolders.map { $0 + "/" }.joined(separator: ", "))); "
                        + "unset it, or point it at PREFIX/share/rgov")
            }
            return Location(path: home, how: "RGOV_HOME")
        }
        let bin = (Sys.executablePath() as NSString).deletingLastPathComponent
        let installed = PackageLayout.installed(besides: bin).root
        if PackageLayout(root: installed).holdsData { return Location(path: installed, how: "installed") }
        var dir = bin
        while dir.count > 1 {
            if PackageLayout(root: dir).holdsData { return Location(path: dir, how: "source tree") }
            dir = (dir as NSString).deletingLastPathComponent
        }
        throw ConfigurationError(
            "rgov's data folder was not found: looked in \(installed) and the ancestors of \(bin) for "
                + "\(PackageLayout.requiredFolders.map { $0 + "/" }.joined(separator: ", ")); install with scripts/install --prefix PREFIX, "
                + "or set RGOV_HOME to the folder holding them")
    }

    public static func locate() throws -> String { try find().path }
}

/// What this build is: the version, and the git commit it was built from.
public enum PackageInfo {
    public static let version = "0.1.0"

    /// The profile `pluginVersion`s this build runs: its own major version, not newer than itself
    /// (`0.1.0` runs `0.0.0` through `0.1.0`), as `package-manifest.json` says.
    public static var pluginVersions: PluginVersions {
        PluginVersions(from: "\(PluginVersions.parts(version)?.first ?? 0).0.0", through: version)
    }

    /// `rgov 0.1.0 (commit 0123456789ab)`: the commit recorded by `scripts/install` in
    /// `share/rgov/build-info.json`, or for a build inside a source tree that tree's checked-out
    /// commit (said so, since the tree may have moved on since the build).
    public static func versionLine(_ executable: String) -> String {
        guard let root = try? PackageRoot.find() else { return "\(executable) \(version) (commit unknown)" }
        if let commit = installedCommit(root.path) { return "\(executable) \(version) (commit \(commit))" }
        if let commit = gitCommit(root.path) { return "\(executable) \(version) (source tree at commit \(commit))" }
        return "\(executable) \(version) (commit unknown)"
    }

    /// The commit of this build: the installed one, else the source tree's; nil when neither says.
    public static func commit() -> String? {
        guard let root = try? PackageRoot.find() else { return nil }
        return installedCommit(root.path) ?? gitCommit(root.path)
    }

    static func installedCommit(_ root: String) -> String? {
        guard let data = try? Sys.readFile(PackageLayout(root: root).buildInfo, limit: 1 << 16),
            case .object(let info)? = try? CanonicalJSON.decode(JSONValue.self, from: data),
            case .string(let commit)? = info["commit"]
        else { return nil }
        return commit
    }

    /// The commit `HEAD` names in `tree/.git`, read from the files (no `git` process).
    static func gitCommit(_ tree: String) -> String? {
        func read(_ name: String, limit: Int = 4096) -> String? {
            (try? Sys.readFile(PackageLayout.gitFile(name, in: tree), limit: limit)).map {
                String(decoding: $0, as: UTF8.self)
            }
        }
        guard let text = read("HEAD")?.trimmingCharacters(in: .whitespacesAndNewlines) else { return nil }
        guard text.hasPrefix("ref: ") else { return isCommit(text) ? text : nil }
        let ref = String(text.dropFirst(5))
        if let commit = read(ref)?.trimmingCharacters(in: .whitespacesAndNewlines) {
            return isCommit(commit) ? commit : nil
        }
        guard let packed = read("packed-refs", limit: 16 << 20) else { return nil }
        for line in packed.split(separator: "\n") {
            let parts = line.split(separator: " ")
            if parts.count == 2, parts[1] == ref, isCommit(String(parts[0])) { return String(parts[0]) }
        }
        return nil
    }

    private static func isCommit(_ text: String) -> Bool {
        text.count == 40 && text.allSatisfy { $0.isHexDigit }
    }
}

/// A range of profile plugin versions, both ends included.
public struct PluginVersions: Codable, Sendable, Equatable {
    public var from: String
    public var through: String

    /// `MAJOR.MINOR.PATCH` as numbers; nil for anything else.
    static func parts(_ version: String) -> [Int]? {
        let parts = version.split(separator: ".", omittingEmptySubsequences: false).compactMap { Int($0) }
        guard parts.count == 3, version.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }) else { return nil }
        return parts
    }

    /// Why this build cannot run a profile written for `version`; nil when it can.
    func refusal(_ version: String) -> String? {
        guard let given = Self.parts(version), let low = Self.parts(from), let high = Self.parts(through) else {
            return "\(Identifier.quoted(version)) is not MAJOR.MINOR.PATCH; rgov \(PackageInfo.version) "
                + "runs profiles of \(from) through \(through)"
        }
        guard given.lexicographicallyPrecedes(low) || high.lexicographicallyPrecedes(given) else { return nil }
        return
            "\(version) is not a version rgov \(PackageInfo.version) runs (it runs \(from) through \(through): "
            + "its own major version, not newer than itself); use a profile written for this package, or the rgov "
            + "it was written for"
    }
}
