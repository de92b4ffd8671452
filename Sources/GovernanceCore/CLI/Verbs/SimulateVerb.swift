import Foundation

extension Verb {
    static let simulate = Verb(
        CommandSpec(
            "rgov simulate", summary: "write N realistic missions with planted conditions, and a manifest naming them",
            discussion: """
                Into a state (a folder with an active profile) given by --state, the simulation is also recorded as
                a lifecycle record (who, when, size, seed, the manifest's sha256) that rgov history lists.
                """,
            options: [
                OptionSpec("missions", value: "N", "how many missions (1 to 1000000); required"),
                OptionSpec("seed", value: "S", "random seed (a whole number); required"),
            ],
            example: "rgov simulate --missions 1000 --seed 7 --state /tmp/sim --now 2026-11-20T12:00:00Z")
    ) { options in
        guard let count = try options.integer("missions"), count > 0, count <= 1_000_000 else {
            throw UsageError("--missions N (1...1000000) is required")
        }
        guard let seedText = options.value("seed"), let seed = UInt64(seedText) else {
            throw UsageError("--seed S (a whole number) is required")
        }
        let layout = StateLayout(root: options.stateDirectory)
        // A generator makes a folder of missions for a trial (its first tick takes a profile);
        // into an existing state it writes as the state's owner, like every writer.
        if Sys.exists(layout.root) { try StateAccess.actAsOwner(layout) }
        let (manifest, path) = try Simulation(seed: seed, now: try options.clock().now()).write(
            count: Int(count), layout: layout)
        let lifecycle = ProfileLifecycle(layout: layout, clock: try options.clock())
        let active = lifecycle.active()
        let record =
            options.value("state") == nil
            ? nil
            : try lifecycle.noteIfState(
                LifecycleRecord(
                    action: .simulate, profile: active?.profile, profileSHA256: active?.snapshot_sha256,
                    by: Sys.userName(), result: .ok,
                    inputs: ["simulation_manifest": SHA256.hex(of: [UInt8](try Sys.readFile(path, limit: 256 << 20)))],
                    detail: "\(manifest.missions.count) missions, seed \(seed), into \(layout.missions)"))
        var lines = [
            "simulated \(manifest.missions.count) missions (seed \(seed), now \(Timestamp.format(manifest.now))) into \(layout.missions)"
        ]
        for (name, n) in manifest.conditions.sorted(by: { $0.key < $1.key }) { lines.append("  \(name): \(n)") }
        lines.append("  manifest: \(path)")
        if let record { lines.append("  recorded as \(record.record_id)") }
        var out = ["manifest": path, "missions": String(manifest.missions.count)]
        out["lifecycle_record"] = record?.record_id
        options.emit(out, lines.joined(separator: "\n"))
        return 0
    }
}
