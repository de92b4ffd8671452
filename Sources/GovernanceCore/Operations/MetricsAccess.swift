import Foundation

/// Who may read `STATE/metrics/rgov.prom`: the owner alone, or with `spec.audit.metrics_group`
/// the members of that group too (node_exporter's textfile collector, run as its own user).
///
/// The group reads the file through two folders, so three entries are shared with it, each by
/// group and mode: the state folder may be searched (0710: a path may be followed, nothing
/// listed), `metrics/` listed (0750), `rgov.prom` read (0640). Everything else stays 0700 and
/// 0600: a member who knows another path still meets a folder it cannot enter, or a file it cannot
/// read. The owner must be a member of the group (the kernel refuses it a group it is not in); a
/// group that does not exist, or is refused, leaves all three private, and `rgov doctor` fails.
public enum MetricsAccess {
    public static let stateMode: mode_t = 0o710
    public static let folderMode: mode_t = 0o750
    public static let fileMode: mode_t = 0o640

    /// The three entries the group is given, with the mode each then has.
    public static func shared(_ layout: StateLayout) -> [(path: String, mode: mode_t)] {
        [
            ((layout.root as NSString).resolvingSymlinksInPath, stateMode), (layout.metrics, folderMode),
            (layout.metricsFile, fileMode),
        ]
    }

    /// Gives the state folder and `metrics/` to the profile's metrics group, or takes them back
    /// when it names none; returns how `rgov.prom` is to be written (nil: private).
    ///
    /// Never throws: metrics that cannot be shared are written private, and the error is logged.
    static func prepare(_ deployment: Deployment) -> GroupAccess.Share? {
        let layout = deployment.layout
        let folders = shared(layout).prefix(2)
        /// Takes both folders back: `rgov.prom` is then written private.
        func withdrawn() -> GroupAccess.Share? {
            for (path, mode) in folders.reversed() {
                do {
                    try GroupAccess.withdraw(path, ifMode: mode, to: 0o700)
                } catch {
                    Log.error("rgov", "metrics: \(error)")
                }
            }
            return nil
        }
        guard let name = deployment.profile.metricsGroup else { return withdrawn() }
        guard let gid = GroupAccess.groupID(named: name) else {
            Log.error(
                "rgov",
                "metrics: spec.audit.metrics_group \(Identifier.quoted(name)) is no group on this host; rgov.prom stays "
                    + "private (rgov doctor says how to fix it)")
            return withdrawn()
        }
        do {
            for (path, mode) in folders { try GroupAccess.apply(GroupAccess.Share(gid: gid, mode: mode), to: path) }
        } catch {
            Log.error(
                "rgov",
                "metrics: cannot share with group \(Identifier.quoted(name)): \(error); rgov.prom stays private "
                    + "(the state's owner must be a member of the group)")
            return withdrawn()
        }
        return GroupAccess.Share(gid: gid, mode: fileMode)
    }
}
