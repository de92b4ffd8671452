import Foundation

/// Everything a stage needs to act: where state lives, the profile and runtime capabilities in
/// force, the gaps between them, and the clock.
public struct Deployment: Sendable {
    public var layout: StateLayout
    public var profile: DeploymentProfile
    public var descriptor: CapabilityDescriptor
    public var clock: Clock
    /// The enabled packs, and every enabled rule with its parameters resolved.
    public var packs: [PolicyPack]
    public var rules: [RuleParameters]
    /// The sender binding in force (profile, then local bindings).
    public var binding: SenderBinding { SenderBinding(mode: profile.senderMode, values: profile.binding) }
    /// The profile's fallback binding (`spec.adapters.fallback`, then local bindings), or nil.
    public var fallbackBinding: SenderBinding? {
        profile.fallbackMode.map { SenderBinding(mode: $0, values: profile.fallbackBinding) }
    }
    /// Capabilities the profile would use that this runtime lacks, recorded in every artifact of the run.
    public var capabilityGaps: [String]
    /// Where the state runs (`state.json`), stamped on every record beside the profile.
    public var environment: StateEnvironment = .local

    public init(
        layout: StateLayout, profile: DeploymentProfile, descriptor: CapabilityDescriptor, clock: Clock,
        availablePacks: [String: PolicyPack]
    ) throws {
        self.layout = layout
        self.profile = profile
        self.descriptor = descriptor
        self.clock = clock
        (packs, rules) = try PolicyResolution.resolve(profile: profile, available: availablePacks)
        let missing = profile.requiredCapabilities.filter { !descriptor.has($0) }.map(\.rawValue)
        if !missing.isEmpty {
            throw ConfigurationError(
                "profile \(profile.reference) requires \(missing.joined(separator: ", ")), which runtime "
                    + "\(descriptor.reference) does not provide; refusing to run (fail closed)")
        }
        if profile.sendingEnabled, profile.senderMode != .dryRun, !descriptor.has(.direct_send) {
            throw ConfigurationError(
                "profile \(profile.reference) sends with \(profile.senderMode.rawValue), which needs direct_send; runtime "
                    + "\(descriptor.reference) cannot send (use sender mode dry-run, or a runtime with direct_send)")
        }
        let binding = SenderBinding(mode: profile.senderMode, values: profile.binding)
        if profile.sendingEnabled {
            try binding.validate(
                requiresAck: profile.requiredCapabilities.contains(.ack_receipts), profile: profile.reference)
        }
        if profile.sendingEnabled, let mode = profile.fallbackMode {
            try Self.check(SenderBinding(mode: mode, values: profile.fallbackBinding), of: profile, descriptor)
        }
        let uses: [(Capability, Bool)] = [
            (.queue, profile.queueEnabled), (.bridge, profile.sendingEnabled), (.ack_receipts, binding.declaresAck),
            (.inline_block, profile.hookInlineBlock), (.scheduler, true),
            (.direct_send, profile.escalationWindowMs != nil),
        ]
        var gaps: [Capability] = []
        for (capability, used) in uses + profile.optionalCapabilities.map({ ($0, true) })
        where used && !descriptor.has(capability) && !gaps.contains(capability) {
            gaps.append(capability)
        }
        capabilityGaps = gaps.map(\.rawValue)
    }

    /// Refuses a fallback binding this runtime cannot provide, or that cannot work, as the primary
    /// binding is refused (fail closed), naming the profile's `spec.adapters.fallback.mode` line.
    private static func check(
        _ fallback: SenderBinding, of profile: DeploymentProfile, _ descriptor: CapabilityDescriptor
    ) throws {
        func refusal(_ message: String) -> ConfigurationError {
            ConfigurationError(
                "spec.adapters.fallback: " + message, file: profile.source.isEmpty ? nil : profile.source,
                line: profile.fallbackLine)
        }
        if fallback.mode != .dryRun, !descriptor.has(.direct_send) {
            throw refusal(
                "profile \(profile.reference) falls back to \(fallback.mode.rawValue), which needs direct_send; runtime "
                    + "\(descriptor.reference) cannot send (refusing to run: fail closed)")
        }
        do {
            try fallback.validate(
                requiresAck: profile.requiredCapabilities.contains(.ack_receipts),
                profile: profile.reference + " (fallback)")
        } catch let error as ConfigurationError {
            throw refusal(
                error.message.replacingOccurrences(of: "spec.adapters.sender.", with: "spec.adapters.fallback."))
        }
    }

    public var profileReference: String { profile.reference }
    public var descriptorReference: String { descriptor.reference }

    /// What a deployment is loaded from: a profile (id or path), a capability descriptor (or the
    /// profile's own), the state folder (for its local bindings) and the clock.
    public struct Request: Sendable {
        public var profile: String
        public var capabilities: String?
        public var stateDirectory: String
        public var clock: Clock
    }

    /// Loads the profile and capability descriptor asked for, and checks them together.
    public static func load(_ request: Request) throws -> Deployment {
        try make(try loadProfile(request.profile, root: try PackageRoot.locate()), request)
    }

    /// `profile` with the local layer applied, checked against its capability descriptor.
    static func make(_ stored: DeploymentProfile, _ request: Request) throws -> Deployment {
        let root = try PackageRoot.locate()
        var profile = stored
        try LocalBindings.apply(
            to: &profile, stateDirectory: request.stateDirectory, environment: ProcessInfo.processInfo.environment)
        let descriptor = try loadDescriptor(request.capabilities ?? profile.capabilityDescriptor, root: root)
        let layout = StateLayout(root: request.stateDirectory)
        var deployment = try Deployment(
            layout: layout, profile: profile, descriptor: descriptor, clock: request.clock,
            availablePacks: try loadPacks(root: root))
        deployment.environment = StateInit.record(layout)?.environment ?? .local
        return deployment
    }

    /// A profile by file path, or by id from the package's `profiles/` folder.
    public static func loadProfile(_ name: String, root: String) throws -> DeploymentProfile {
        let package = PackageLayout(root: root)
        let path = looksLikePath(name) ? name : package.profile(name)
        guard Sys.kind(path) == .regular else {
            let known =
                (try? Sys.listDirectory(package.profiles))?.filter { $0.hasSuffix(".yaml") }
                .map { String($0.dropLast(5)) }.sorted() ?? []
            throw ConfigurationError(
                "profile \(Identifier.quoted(name)) not found at \(path) (shipped: \(known.joined(separator: ", ")))")
        }
        let text = String(decoding: try Sys.readFile(path, limit: 1 << 20), as: UTF8.self)
        return try ConfigurationError.reading { try DeploymentProfile.parse(text, file: path) }
    }

    /// A capability descriptor by file path, or by id (optionally `id@version`) from `capabilities/`.
    public static func loadDescriptor(_ name: String, root: String) throws -> CapabilityDescriptor {
        let parts = name.split(separator: "@", maxSplits: 1).map(String.init)
        let path = looksLikePath(name) ? name : PackageLayout(root: root).descriptor(parts[0])
        guard Sys.kind(path) == .regular else {
            throw ConfigurationError("capability descriptor \(Identifier.quoted(name)) not found at \(path)")
        }
        let descriptor = try CapabilityDescriptor.parse(try Sys.readFile(path, limit: 1 << 20), file: path)
        if parts.count == 2, parts[1] != descriptor.version {
            throw ConfigurationError("\(path) is \(descriptor.reference), not \(name)")
        }
        return descriptor
    }

    /// Every pack in the package's `policy-packs/`, checked against the rules this build implements.
    public static func loadPacks(root: String) throws -> [String: PolicyPack] {
        var packs: [String: PolicyPack] = [:]
        let folder = PackageLayout(root: root).policyPacks
        for name in try Sys.listDirectory(folder).sorted() where name.hasSuffix(".yaml") {
            let path = PackageLayout(root: root).file(name, in: folder)
            let text = String(decoding: try Sys.readFile(path, limit: 1 << 20), as: UTF8.self)
            let pack = try ConfigurationError.reading { try PolicyPack.parse(text, file: path) }
            guard name == pack.id + ".yaml" else {
                throw ConfigurationError("\(path): pack id \(pack.id) does not match the file name")
            }
            for rule in pack.rules {
                guard let implementation = RuleBook.byID[rule.id] else {
                    throw ConfigurationError(
                        "\(path): rule \(rule.id) has no implementation in rgov \(PackageInfo.version)")
                }
                for needed in implementation.parameters where !rule.parameters.contains(where: { $0.name == needed }) {
                    throw ConfigurationError("\(path): rule \(rule.id) must declare parameter \(needed)")
                }
            }
            packs[pack.id] = pack
        }
        return packs
    }

    private static func looksLikePath(_ name: String) -> Bool {
        name.contains("/") || name.hasSuffix(".yaml") || name.hasSuffix(".yml") || name.hasSuffix(".json")
    }
}

extension Deployment {
    /// The posture stamped on every record this deployment writes.
    public var stamp: LedgerStamp {
        LedgerStamp(
            profile: profileReference, descriptor: descriptorReference, profileSHA256: profile.sha256,
            capabilityGaps: capabilityGaps, environment: environment)
    }

    /// The ledger every change to a notice and its records goes through.
    public var ledger: NoticeLedger { NoticeLedger(layout: layout, stamp: stamp) }
}

extension Deployment {
    /// The one rule for a new notice's first state: `queued` when this deployment queues (its
    /// profile enables the queue, its runtime has one) and `severity` reaches the profile's
    /// minimum; otherwise `prepared`, with why.
    public func firstState(severity: Severity) -> (state: DeliveryState, why: String?) {
        if !profile.queueEnabled { return (.prepared, "queue_disabled_by_profile") }
        if !descriptor.has(.queue) { return (.prepared, "queue_capability_missing") }
        if severity < profile.minSeverity { return (.prepared, "below_min_severity") }
        return (.queued, nil)
    }
}
