#if canImport(Glibc)
import Glibc
#endif

/// Replaces several files in one directory as one change: a config and the files it references.
///
/// Each new version is written and fsynced beside its target (`.NAME.staged`), then a commit record
/// naming the targets (`.PRIMARY.commit`) is made durable, then each staged file is renamed over
/// its target and the record removed. A crash before the record exists leaves every old file; once
/// it exists the change counts as made: `read` returns the staged version of a listed file until
/// the next `write` completes the renames. Readers that go through `read` see the old set or the
/// new one, never a mix.
public enum AtomicFileGroup {
    /// - Parameters:
    ///   - files: target paths (all in the primary's directory) and their new contents.
    ///   - primary: the file the group is known by (the config).
    public static func write(_ files: [(path: String, bytes: [UInt8])], primary: String, mode: mode_t = 0o600) throws(ConfigStoreError) {
        let dir = PathName.directory(of: primary) ?? "."
        try complete(primary: primary)
        for f in files {
            try AtomicFile.writeDurably(f.bytes, to: staged(f.path), exclusive: false, mode: mode, reportAs: f.path)
        }
        // Names, not paths: the record must mean the same files to a later reader that reaches the
        // directory by another path (a migrate writes through `/proc/self/fd/N/`).
        let record = Array(files.map { entry(for: $0.path, in: dir) }.joined(separator: "\n").utf8)
        do {
            try AtomicFile.write(record, to: commitRecord(primary), mode: mode)
        } catch {
            for f in files { unlink(staged(f.path)) }
            throw error
        }
        // From here on the new set is the one `read` returns; the renames only make it visible to
        // readers that do not know about the record.
        try finish(files.map(\.path), primary: primary, dir: dir)
    }

    /// The file's bytes as of the last committed group write, nil when it does not exist.
    public static func read(_ path: String, primary: String) throws(ConfigStoreError) -> [UInt8]? {
        if let record = try AtomicFile.read(commitRecord(primary)), listed(record, in: PathName.directory(of: primary) ?? ".").contains(entry(for: path, in: PathName.directory(of: primary) ?? ".")),
           let bytes = try AtomicFile.read(staged(path)) {
            return bytes
        }
        return try AtomicFile.read(path)
    }

    /// Finishes a group write a crash interrupted after its commit record. (Staged files a crash left
    /// before the record are not part of any change; the next write overwrites them.)
    static func complete(primary: String) throws(ConfigStoreError) {
        let dir = PathName.directory(of: primary) ?? "."
        if let record = try AtomicFile.read(commitRecord(primary)) {
            try finish(listed(record, in: dir).map { $0.contains("/") ? $0 : dir + "/" + $0 }, primary: primary, dir: dir)
        }
    }

    private static func finish(_ paths: [String], primary: String, dir: String) throws(ConfigStoreError) {
        for path in paths where access(staged(path), F_OK) == 0 {
            guard rename(staged(path), path) == 0 else { throw .unwritable("\(path): \(String(cString: strerror(errno)))") }
        }
        AtomicFile.syncDirectory(dir)
        unlink(commitRecord(primary))
        AtomicFile.syncDirectory(dir)
    }

    static func staged(_ path: String) -> String { sibling(of: path, suffix: ".staged") }
    static func commitRecord(_ primary: String) -> String { sibling(of: primary, suffix: ".commit") }

    private static func sibling(of path: String, suffix: String) -> String {
        (PathName.directory(of: path) ?? ".") + "/." + PathName.lastComponent(of: path) + suffix
    }

    /// A file as a commit record names it: its name when it is in the primary's directory (so the
    /// record means the same files to a reader that reaches the directory by another path — a
    /// migrate writes through `/proc/self/fd/N/`), its path otherwise.
    static func entry(for path: String, in dir: String) -> String {
        PathName.directory(of: path) == dir ? PathName.lastComponent(of: path) : path
    }

    /// The entries a commit record lists (one written with full paths reads the same).
    private static func listed(_ record: [UInt8], in dir: String) -> [String] {
        String(decoding: record, as: UTF8.self).split(separator: "\n").map { entry(for: String($0), in: dir) }
    }
}
