// swift-tools-version:6.0
import PackageDescription

// No package dependencies, by design: everything rgov needs is in the toolchain.
let package = Package(
    name: "rgov",
    products: [
        .library(name: "GovernanceCore", targets: ["GovernanceCore"]),
        .executable(name: "rgov", targets: ["orchestrator"]),
        .executable(name: "rgov-watchdog", targets: ["watchdog"]),
        .executable(name: "rgov-dispatcher", targets: ["dispatcher"]),
        .executable(name: "rgov-bridge", targets: ["bridge"]),
        .executable(name: "rgov-sender", targets: ["sender"]),
    ],
    targets: [
        .target(name: "GovernanceCore"),
        // The webhook's HTTP (FoundationNetworking, libcurl), linked by rgov-sender alone.
        .target(name: "SenderNetworking", dependencies: ["GovernanceCore"]),
        .executableTarget(name: "orchestrator", dependencies: ["GovernanceCore"]),
        .executableTarget(name: "watchdog", dependencies: ["GovernanceCore"]),
        .executableTarget(name: "dispatcher", dependencies: ["GovernanceCore"]),
        .executableTarget(name: "bridge", dependencies: ["GovernanceCore"]),
        .executableTarget(name: "sender", dependencies: ["GovernanceCore", "SenderNetworking"]),
        .testTarget(name: "GovernanceCoreTests", dependencies: ["GovernanceCore"]),
        .testTarget(name: "EndToEndTests", dependencies: ["GovernanceCore"]),
    ]
)
