import Foundation
import StewardModel
import Store

/// Generated Mattermost-like databases (tools/mmdb/generate.py) and the reference SQL's answers.
enum SampleDatabase {
    static let tools = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("tools/mmdb")

    struct Expected: Decodable {
        var results: [IntegrityCheckResult]
        var counts: [Int]
    }

    static func python(_ args: [String]) throws -> Data {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3"] + args
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw CocoaError(.executableLoad) }
        return data
    }

    /// A fresh generated database in its own folder.
    static func generate(posts: Int, seed: Int = 1, extra: [String] = []) throws -> (path: String, expected: Expected) {
        let dir = NSTemporaryDirectory() + "steward-integrity-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let path = dir + "/mm.db"
        _ = try python([tools.appendingPathComponent("generate.py").path, path, "--posts", "\(posts)", "--seed", "\(seed)"] + extra)
        let expected = try JSONDecoder().decode(Expected.self, from: Data(contentsOf: URL(fileURLWithPath: path + ".expected.json")))
        return (path, expected)
    }

    /// What Mattermost's own queries answer on `path`.
    static func reference(_ path: String) throws -> [IntegrityCheckResult] {
        try JSONDecoder().decode([IntegrityCheckResult].self, from: python([tools.appendingPathComponent("reference.py").path, path]))
    }

    static func pool(_ path: String) throws -> DatabasePool {
        try DatabasePool(options: .init(path: path), migrations: [])
    }

    /// Runs `sql` with foreign keys off: tables whose schema declares keys, with rows that break them
    /// on purpose.
    static func executeBreakingKeys(_ pool: DatabasePool, _ sql: String) throws {
        try pool.writeSync { conn in
            try conn.execute("PRAGMA foreign_keys=OFF")
            defer { try? conn.execute("PRAGMA foreign_keys=ON") }
            try conn.execute(sql)
        }
    }
}
