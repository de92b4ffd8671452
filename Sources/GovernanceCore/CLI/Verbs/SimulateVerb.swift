import Foundation

extension Verb {
    static let simulate = Verb(
        CommandSpec(
            "rgov simulate", summary: "write N realistic missions with planted conditions, and a manifest naming them",
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
        var lines = [
            "simulated \(manifest.missions.count) missions (seed \(seed), now \(Timestamp.format(manifest.now))) into \(layout.missions)"
        ]
        for (name, n) in manifest.conditions.sorted(by: { $0.key < $1.key }) { lines.append("  \(name): \(n)") }
        lines.append("  manifest: \(path)")
        options.emit(["manifest": path, "missions": String(manifest.missions.count)], lines.joined(separator: "\n"))
        return 0
    }
}
