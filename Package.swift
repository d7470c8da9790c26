// swift-tools-version:6.0
// FedCT: federated pretraining of 3D CT encoders — C++ bridges to gRPC and libtorch, Swift above them.
import PackageDescription

/// System include folders for the two C++ bridges (Debian's libgrpc++-dev and libtorch-dev).
let torchIncludes = ["-I/usr/include/torch/csrc/api/include"]

let package = Package(
    name: "FedCT",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "fedct-coordinator", targets: ["fedct-coordinator"]),
        .executable(name: "fedct-site", targets: ["fedct-site"]),
        .executable(name: "fedctl", targets: ["fedctl"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-protobuf", exact: "1.39.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-certificates", exact: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1", exact: "1.7.4"),
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", exact: "1.16.2"),
        .package(url: "https://github.com/jpsim/Yams", exact: "6.2.2"),
        .package(url: "https://github.com/groue/GRDB.swift", exact: "7.10.0"),
        .package(url: "https://github.com/apple/swift-metrics", exact: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", exact: "2.4.1"),
        .package(url: "https://github.com/apple/swift-nio", "2.101.2"..<"2.102.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", exact: "2.28.1"),
        .package(url: "https://github.com/apple/swift-nio-ssl", exact: "2.37.6"),
        .package(url: "https://github.com/apple/swift-http-types", exact: "1.8.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", exact: "2.13.0"),
    ],
    targets: [
        // Layer 1: C ABI bridges over C++ libraries.
        .target(
            name: "CGRPCBridge",
            linkerSettings: [
                .linkedLibrary("grpc++"), .linkedLibrary("grpc"), .linkedLibrary("gpr"), .linkedLibrary("absl_synchronization"),
            ]
        ),
        .target(
            name: "CTorchBridge",
            cxxSettings: [.unsafeFlags(torchIncludes + ["-Wno-deprecated-declarations"])],
            linkerSettings: [.linkedLibrary("torch"), .linkedLibrary("torch_cpu"), .linkedLibrary("c10"), .linkedLibrary("gloo")]
        ),
        .target(
            name: "CNIfTI",
            cSettings: [.unsafeFlags(["-I/usr/include/nifti"])],
            linkerSettings: [.linkedLibrary("nifti2"), .linkedLibrary("znz"), .linkedLibrary("z")]
        ),
        .target(
            name: "CDICOMBridge",
            cxxSettings: [.unsafeFlags(["-I/usr/include/gdcm-3.0"])],
            linkerSettings: [
                .linkedLibrary("gdcmMSFF"), .linkedLibrary("gdcmDSED"), .linkedLibrary("gdcmDICT"),
                .linkedLibrary("gdcmIOD"), .linkedLibrary("gdcmCommon"),
            ]
        ),

        // Layer 2: Swift wrappers that own the bridge handles.
        .target(name: "FedCTRPC", dependencies: ["CGRPCBridge"]),
        .target(name: "FedCTTorch", dependencies: ["CTorchBridge"]),

        // Wire messages generated from Protos/ (committed; Scripts/generate-protos.sh).
        .target(name: "FedCTProto", dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf")]),
        // The services' methods as typed values (path, message types, caller, ledger kind), used by every side of a call.
        .target(name: "FedCTProtocol", dependencies: ["FedCTProto", .product(name: "SwiftProtobuf", package: "swift-protobuf")]),

        // Layer 3: pure logic and data.
        .target(
            name: "FedCTCore",
            dependencies: [
                "FedCTProto",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The file-backed stores under the services: crash-safe file replacement, UTF-8 text and YAML files, the privacy
        // budget ledger's file, the web pages' login key; FedCTCore itself does no file I/O.
        .target(
            name: "FedCTStorage",
            dependencies: [
                "FedCTCore", "FedCTProto",
                .product(name: "Crypto", package: "swift-crypto"), .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
        .target(
            name: "FedCTData",
            dependencies: [
                "FedCTCore", "FedCTStorage", "CNIfTI", "CDICOMBridge",
                .product(name: "Crypto", package: "swift-crypto"), .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "FedCTIdentity",
            dependencies: [
                "FedCTCore",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),

        // The site's signed egress ledger and coordinator receipts: sealing, offline verification, reports (site, coordinator, fedctl).
        .target(
            name: "FedCTAudit",
            dependencies: ["FedCTCore", "FedCTIdentity", "FedCTProto", "FedCTProtocol", "FedCTStorage", .product(name: "Crypto", package: "swift-crypto")]
        ),

        .target(name: "FedCTTraining", dependencies: ["FedCTCore", "FedCTData", "FedCTProto", "FedCTTorch", .product(name: "Crypto", package: "swift-crypto")]),
        // A small self-supervised objective proving the objective seam; registered by the executables only when
        // FEDCT_TEST_OBJECTIVES=1 (the multi-process tests), and by the tests.
        .target(name: "FedCTReconstructionObjective", dependencies: ["FedCTCore", "FedCTData", "FedCTProto", "FedCTTorch", "FedCTTraining"]),
        // The pretraining experiments behind `fedctl experiment` (arms, scoring, tables, plots): a tool's code, linked by fedctl
        // and the tests, not by the daemons.
        .target(
            name: "FedCTExperiment",
            dependencies: ["FedCTCore", "FedCTData", "FedCTProto", "FedCTTorch", "FedCTTraining", .product(name: "Crypto", package: "swift-crypto")]
        ),
        // Benchmark of decode + preprocess throughput with the preprocessing cache, run by Scripts/bench-data.sh (not a product).
        .executableTarget(name: "fedct-bench-data", dependencies: ["FedCTCore", "FedCTData", "FedCTProto", "FedCTTorch", "FedCTTraining"]),

        // What an admin needs to reach and run a coordinator, without its database or training: the Admin API client
        // and coordinator.yaml (fedctl links this, not FedCTCoordinator).
        .target(
            name: "FedCTAdmin",
            dependencies: ["FedCTCore", "FedCTRPC", "FedCTProto", "FedCTProtocol", "FedCTStorage", .product(name: "Crypto", package: "swift-crypto")]
        ),

        // Layer 4: services.
        .target(
            name: "FedCTCoordinator",
            dependencies: [
                "FedCTAdmin", "FedCTCore", "FedCTRPC", "FedCTProto", "FedCTProtocol", "FedCTIdentity", "FedCTTraining", "FedCTAudit",
                "FedCTStorage",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        .target(
            name: "FedCTSite",
            dependencies: [
                "FedCTCore", "FedCTRPC", "FedCTProto", "FedCTProtocol", "FedCTData", "FedCTTraining", "FedCTIdentity", "FedCTAudit",
                "FedCTStorage",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),

        // Layer 5: thin executables.
        // What the executables share: leaving through _exit, and the daemons' service group (swift-service-lifecycle:
        // graceful shutdown on SIGTERM/SIGINT).
        .target(
            name: "FedCTCommandLine",
            dependencies: [
                "FedCTCore", "FedCTRPC", .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),
        // The daemons' /metrics endpoint (SwiftNIO HTTP/1) and Prometheus backend, and their log bootstrap (text or JSON lines
        // on stderr); only executables import it.
        .target(
            name: "FedCTObservability",
            dependencies: [
                "FedCTCore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        // The web pages (Hummingbird 2): login links and session cookies, the HTTP(S) server, the shared page shell and charts.
        .target(
            name: "FedCTWeb",
            dependencies: [
                "FedCTCore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["Vendor/chart.js-LICENSE.md"]
        ),
        // The coordinator's dashboard (consortium, jobs, one job) over HTTPS; only fedct-coordinator imports it.
        .target(
            name: "FedCTDashboard",
            dependencies: [
                "FedCTWeb", "FedCTCoordinator", "FedCTCore", "FedCTProto", "FedCTIdentity", "FedCTStorage",
                .product(name: "Hummingbird", package: "hummingbird"), .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The site's loopback status page; only fedct-site imports it.
        .target(
            name: "FedCTSiteStatus",
            dependencies: [
                "FedCTWeb", "FedCTSite", "FedCTCore", "FedCTData", "FedCTStorage",
                .product(name: "Hummingbird", package: "hummingbird"), .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "fedct-coordinator",
            dependencies: [
                "FedCTAdmin", "FedCTCoordinator", "FedCTDashboard", "FedCTCommandLine", "FedCTObservability", "FedCTReconstructionObjective",
                "FedCTStorage",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "fedct-site",
            dependencies: [
                "FedCTSite", "FedCTSiteStatus", "FedCTCommandLine", "FedCTObservability", "FedCTReconstructionObjective", "FedCTStorage", "FedCTTorch",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "fedctl",
            dependencies: [
                "FedCTAdmin", "FedCTIdentity", "FedCTData", "FedCTTraining", "FedCTProto", "FedCTProtocol", "FedCTCommandLine", "FedCTAudit",
                "FedCTReconstructionObjective", "FedCTStorage", "FedCTExperiment",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),

        // Benchmark of the streaming EHR reader, run by Scripts/bench-ehr.sh (not a product).
        .executableTarget(name: "fedct-bench-ehr", dependencies: ["FedCTData"]),
        // libFuzzer entry points for the decoders of outside bytes, built instrumented by Scripts/fuzz.sh; an ordinary
        // build replays saved inputs through a target (`fedct-fuzz TARGET FILE…`). Not a product.
        .executableTarget(
            name: "fedct-fuzz",
            dependencies: [
                "FedCTAdmin", "FedCTCore", "FedCTData", "FedCTIdentity", "FedCTProto", "FedCTSite", "FedCTStorage", "FedCTTraining",
                .product(name: "Crypto", package: "swift-crypto"), .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),

        .testTarget(name: "FedCTCoreTests", dependencies: ["FedCTCore", "FedCTStorage"]),
        .testTarget(
            name: "FedCTObservabilityTests",
            dependencies: ["FedCTObservability", "FedCTCore", .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(
            name: "FedCTAuditTests",
            dependencies: ["FedCTAudit", "FedCTIdentity", "FedCTCore", "FedCTProto", "FedCTStorage", .product(name: "Crypto", package: "swift-crypto")]
        ),
        .testTarget(name: "FedCTDataTests", dependencies: ["FedCTData"], resources: [.copy("Fixtures")]),
        .testTarget(
            name: "FedCTIdentityTests",
            dependencies: ["FedCTIdentity", .product(name: "X509", package: "swift-certificates")]
        ),
        .testTarget(
            name: "FedCTCoordinatorTests",
            dependencies: [
                "FedCTAdmin", "FedCTCoordinator", "FedCTCore", "FedCTStorage", .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        .testTarget(
            name: "FedCTIntegrationTests",
            dependencies: [
                "FedCTAdmin", "FedCTCoordinator", "FedCTIdentity", "FedCTData", "FedCTProto", "FedCTProtocol", "FedCTRPC", "FedCTCore", "FedCTAudit",
                "FedCTReconstructionObjective", "FedCTStorage",
            ]
        ),
        .testTarget(
            name: "FedCTRPCTests",
            dependencies: ["FedCTRPC", .product(name: "Crypto", package: "swift-crypto")],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(name: "FedCTProtocolTests", dependencies: ["FedCTProtocol", "FedCTProto"]),
        .testTarget(name: "FedCTSiteTests", dependencies: ["FedCTSite", "FedCTCore", "FedCTProto", "FedCTRPC"]),
        .testTarget(name: "FedCTTorchTests", dependencies: ["FedCTTorch"]),
        .testTarget(
            name: "FedCTTrainingTests",
            dependencies: ["FedCTTraining", "FedCTExperiment", "FedCTTorch", "FedCTCore", "FedCTReconstructionObjective"]
        ),
        .testTarget(
            name: "FedCTWebTests",
            dependencies: [
                "FedCTWeb", "FedCTDashboard", "FedCTCoordinator", "FedCTProto", "FedCTCore", "FedCTStorage",
                .product(name: "Crypto", package: "swift-crypto"), .product(name: "Logging", package: "swift-log"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6],
    cxxLanguageStandard: .cxx17
)
