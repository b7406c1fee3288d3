// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "steward",
    products: [
        .executable(name: "stewardd", targets: ["Agent"]),
        .executable(name: "stewardctl", targets: ["StewardCTL"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
    ],
    targets: [
        // C shims: kernel structs Swift's Glibc does not expose (struct ucred, SO_PEERGROUPS buffer).
        .target(name: "CStewardShims"),
        .systemLibrary(
            name: "CSystemd",
            pkgConfig: "libsystemd",
            providers: [.apt(["libsystemd-dev"])]
        ),
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        // libpq's headers only (Debian's libpq-dev); the library is opened with dlopen when a
        // PostgreSQL store is used, so it is not linked (Sources/CLibPQ/shim.h says why).
        .systemLibrary(name: "CLibPQ"),
        // Wire models shared by the daemon and the CLI. No server dependencies.
        .target(name: "StewardModel", dependencies: ["CStewardShims"]),
        // The store interface (`SQLStore`) and its two dialects: SQLite (connections, the
        // writer/reader pool, group commit) and PostgreSQL (`PostgresPool` over libpq); migrations.
        .target(
            name: "Store",
            dependencies: ["CSQLite", "Postgres", "StewardModel", .product(name: "Logging", package: "swift-log")]
        ),
        // PostgreSQL through libpq: connections, text-parameter statements, errors with secrets masked.
        .target(name: "Postgres", dependencies: ["CLibPQ", "StewardModel"]),
        // Domain: busy flag, caches, database recycle, config stores, jobs and their workers.
        .target(
            name: "Maintenance",
            dependencies: ["Store", "Postgres", "StewardModel", .product(name: "Logging", package: "swift-log")]
        ),
        .target(name: "Integrity", dependencies: ["CStewardShims", "Maintenance", "Store", "Postgres", "StewardModel"]),
        // Transport, route table, dispatcher, peer-credential authorization, handlers.
        .target(
            name: "LocalAPI",
            dependencies: [
                "CStewardShims", "StewardModel", "Maintenance", "Integrity", "Store",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Journal entries and their batched sending to journald.
        .target(name: "Journal", dependencies: ["CStewardShims", "CSystemd", "StewardModel"]),
        // The daemon executable: startup, config, systemd, journal, lifecycle.
        .executableTarget(
            name: "Agent",
            dependencies: [
                "LocalAPI", "Maintenance", "Store", "StewardModel", "CSystemd", "Journal",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            // The daemon's idle memory (docs/performance.md, "Idle memory"): lld packs the 58,000
            // relative relocations of the PIE (DT_RELR, glibc ≥ 2.36) instead of 1.4 MB of RELA
            // entries the loader reads at every start, and nothing is exported to the dynamic
            // symbol table (16,000 symbols nobody looks up, whose tables the loader touches):
            // idle RSS 20.8-20.9 → 18.6-18.9 MB.
            linkerSettings: [
                .unsafeFlags(["-use-ld=lld", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs", "-Xlinker", "--no-export-dynamic"]),
            ]
        ),
        .executableTarget(
            name: "StewardCTL",
            dependencies: [
                "CStewardShims", "StewardModel",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "StewardModelTests", dependencies: ["StewardModel"]),
        .testTarget(name: "JournalTests", dependencies: ["Journal", "StewardModel"]),
        .testTarget(name: "StoreTests", dependencies: ["Store", "StewardModel", "Postgres", "PostgresTestSupport"]),
        .testTarget(name: "MaintenanceTests", dependencies: ["Maintenance", "Store", "StewardModel", "Postgres", "PostgresTestSupport"]),
        .testTarget(name: "PostgresTests", dependencies: ["Postgres", "StewardModel", "PostgresTestSupport"]),
        // A private PostgreSQL cluster for the tests (initdb into a temporary directory, Unix socket
        // only), started once per test process and stopped by its pid when the process exits.
        .target(name: "PostgresTestSupport", dependencies: ["StewardModel"], path: "Tests/PostgresTestSupport"),
        .testTarget(
            name: "LocalAPITests",
            dependencies: [
                "LocalAPI", "StewardModel", "Maintenance", "Integrity", "Store", "FuzzChecks",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ]
        ),
        .testTarget(name: "IntegrityTests", dependencies: ["Integrity", "StewardModel", "Store", "Postgres", "PostgresTestSupport"]),
        // Fuzzing (docs/security.md, "Fuzzing"): the invariants each libFuzzer target asserts, in a
        // library so that Tests/LocalAPITests replays the regression inputs through the same checks.
        .target(
            name: "FuzzChecks",
            dependencies: ["LocalAPI", "Maintenance", "StewardModel", "CFuzzerDriver", .product(name: "NIOCore", package: "swift-nio")],
            path: "Fuzz/FuzzChecks"
        ),
        // The libFuzzer targets. scripts/fuzz builds them with -sanitize=fuzzer,address and
        // -D STEWARD_LIBFUZZER (their main runs libFuzzer's driver); a plain build makes replay
        // tools that run the same check over the files named on the command line.
        .target(name: "CFuzzerDriver", path: "Fuzz/CFuzzerDriver"),
        .executableTarget(name: "FuzzHTTPParser", dependencies: ["FuzzChecks"], path: "Fuzz/FuzzHTTPParser"),
        .executableTarget(name: "FuzzRequestBodies", dependencies: ["FuzzChecks"], path: "Fuzz/FuzzRequestBodies"),
        .executableTarget(name: "FuzzConfigDecoder", dependencies: ["FuzzChecks"], path: "Fuzz/FuzzConfigDecoder"),
        // End-to-end: the built stewardd and stewardctl over real sockets, real users, real systemd tools.
        .testTarget(name: "EndToEndTests", dependencies: ["StewardModel", "PostgresTestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
