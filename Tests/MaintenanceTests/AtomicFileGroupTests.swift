import Foundation
import Maintenance
import StewardModel
import Testing

/// A config and its rules file replaced as one change, including after a crash at either side of
/// the commit record (the crash is reproduced by leaving the files a killed write leaves).
@Suite struct AtomicFileGroupTests {
    let dir: String
    var config: String { dir + "/config.json" }
    var rules: String { dir + "/rules.json" }

    init() throws {
        dir = NSTemporaryDirectory() + "steward-group-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    func put(_ text: String, _ path: String) throws { try Data(text.utf8).write(to: URL(fileURLWithPath: path)) }
    func text(_ path: String) throws -> String? { try AtomicFileGroup.read(path, primary: config).map { String(decoding: $0, as: UTF8.self) } }
    func leftovers() throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix(".") }.sorted() }

    @Test func writesEveryFileAndLeavesNothingBehind() throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try AtomicFileGroup.write([(rules, Array("rules v1".utf8)), (config, Array("config v1".utf8))], primary: config)
        try AtomicFileGroup.write([(rules, Array("rules v2".utf8)), (config, Array("config v2".utf8))], primary: config)
        #expect(try text(config) == "config v2" && text(rules) == "rules v2")
        #expect(String(decoding: try Data(contentsOf: URL(fileURLWithPath: rules)), as: UTF8.self) == "rules v2", "in place, not only staged")
        #expect(try leftovers() == [])
        var st = stat()
        #expect(stat(config, &st) == 0 && st.st_mode & 0o777 == 0o600)
    }

    @Test func aCrashBeforeTheCommitRecordLeavesTheOldSet() throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try put("config v1", config)
        try put("rules v1", rules)
        // Killed while staging: the new versions exist beside the targets, no record yet.
        try put("rules v2", dir + "/.rules.json.staged")
        try put("config v2", dir + "/.config.json.staged")
        #expect(try text(config) == "config v1" && text(rules) == "rules v1")
        // The next write is not confused by what the dead one staged.
        try AtomicFileGroup.write([(rules, Array("rules v3".utf8)), (config, Array("config v3".utf8))], primary: config)
        #expect(try text(config) == "config v3" && text(rules) == "rules v3")
        #expect(try leftovers() == [])
    }

    @Test func aCrashBetweenTheRenamesReadsAsTheNewSetAndTheNextWriteCompletesIt() throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try put("config v1", config)
        // Killed after the record and the first rename: the rules file is new on disk, the config
        // is still staged. A reader going by the files alone would see a mix; through the group, v2.
        try put("rules v2", rules)
        try put("config v2", dir + "/.config.json.staged")
        try put(rules + "\n" + config, dir + "/.config.json.commit")
        #expect(try text(config) == "config v2" && text(rules) == "rules v2")
        let store = FileConfigStore(path: config)
        #expect(throws: ConfigStoreError.self) { try store.read() }  // "config v2" is not JSON: read went to the staged file

        try AtomicFileGroup.write([(dir + "/other.json", Array("other".utf8)), (config, Array("config v3".utf8))], primary: config)
        #expect(try text(config) == "config v3" && text(rules) == "rules v2" && text(dir + "/other.json") == "other")
        #expect(try leftovers() == [])
    }

    /// A record written through one path to the directory (a migrate writes through
    /// `/proc/self/fd/N/`) means the same files to a reader that comes by another path: it names
    /// files, not paths. (It held the writer's paths, so after a kill between the renames the next
    /// daemon read a new config under the old rules file.)
    @Test func theRecordMeansTheSameFilesWhateverPathTheDirectoryIsReachedBy() throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try put("rules v1", rules)
        // The config's rename will fail (a non-empty directory is in the way), so the write stops
        // after its record and the rules' rename, as a kill there would leave it.
        try FileManager.default.createDirectory(atPath: config + "/in-the-way", withIntermediateDirectories: true)
        let fd = open(dir, O_RDONLY | O_DIRECTORY)
        defer { close(fd) }
        let pinned = "/proc/self/fd/\(fd)"
        #expect(throws: ConfigStoreError.self) {
            try AtomicFileGroup.write([(pinned + "/rules.json", Array("rules v2".utf8)), (pinned + "/config.json", Array("config v2".utf8))],
                                      primary: pinned + "/config.json")
        }
        let record = try #require(FileManager.default.contents(atPath: dir + "/.config.json.commit"))
        #expect(!String(decoding: record, as: UTF8.self).contains("/proc/"), "names, not the writer's paths")
        #expect(try text(config) == "config v2" && text(rules) == "rules v2", "read by another path: the new set")
    }

    @Test func theFileStoreWritesConfigAndRulesAsOneChange() throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var c = StewardConfig.development(dataDir: dir)
        c.localAuthorizationSettings.rulesFile = "rules.json"
        c.serviceSettings.maximumURLLength = 1111
        let store = FileConfigStore(path: config)
        try store.write(ConfigSnapshot(config: c, files: ["rules.json": Array(#"[{"Uids":[1111],"Roles":["observer"]}]"#.utf8)]))
        // Crash in the middle of the next write, after its record: the store reads the new pair.
        var next = c
        next.serviceSettings.maximumURLLength = 2222
        try put(#"[{"Uids":[2222],"Roles":["observer"]}]"#, rules)
        try Data(ConfigCodec.encode(next)).write(to: URL(fileURLWithPath: dir + "/.config.json.staged"))
        try put(rules + "\n" + config, dir + "/.config.json.commit")
        let read = try store.read()
        #expect(read.config.serviceSettings.maximumURLLength == 2222)
        #expect(read.files["rules.json"].map { String(decoding: $0, as: UTF8.self).contains("2222") } == true)
    }
}
