import StewardModel
#if canImport(Glibc)
import Glibc
#endif

/// Where jobs keep their files, and the only code that names them.
///
/// A job's artifact is `<jobs dir>/<type>/<type>-<create_at>-<id>.<ext>`: derived from the job's
/// type, creation time and id — all set by the daemon — and from its type's declared artifact kind,
/// never from job data, which whoever created the job wrote. A worker writes the staging name beside
/// it and `commit`s; download and delete open exactly that name through descriptors of the
/// directories (no link followed), so no client value can name, move or remove another file.
public struct JobArtifacts: Sendable {
    /// The jobs directory (`JobSettings.Directory`, or `steward-jobs` beside the store).
    public let root: String
    /// The store's directory: the jobs directory may never be it.
    let storeDirectory: String

    public init(root: String, storeDirectory: String) {
        self.root = root
        self.storeDirectory = storeDirectory
    }

    /// The jobs directory the settings name.
    public static func root(for settings: StewardConfig) -> String {
        if !settings.jobSettings.directory.isEmpty { return settings.jobSettings.directory }
        return storeDirectory(for: settings) + "/steward-jobs"
    }

    static func storeDirectory(for settings: StewardConfig) -> String {
        settings.sqlSettings.localDirectory ?? "."
    }

    public init(settings: StewardConfig) {
        self.init(root: Self.root(for: settings), storeDirectory: Self.storeDirectory(for: settings))
    }

    /// The artifact's file name, nil for a kind without one.
    public static func fileName(of job: Job, kind: JobArtifactKind) -> String? {
        guard kind != .none, isPlainName(job.type), isPlainName(job.id) else { return nil }
        // Mattermost's name for a bulk export, which mmctl lists and downloads by name.
        if kind == .bulkExport { return "\(job.id)_export.zip" }
        return "\(job.type)-\(job.createAt)-\(job.id).\(kind.fileExtension)"
    }

    /// Type names and ids are the daemon's own; checked anyway, since they become path components.
    private static func isPlainName(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.count <= 64 && s.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x5F }
    }

    /// `<type>/<name>`, the artifact's name relative to the jobs directory (shown in `data.file`).
    public static func relativeName(of job: Job, kind: JobArtifactKind) -> String? {
        fileName(of: job, kind: kind).map { "\(job.type)/\($0)" }
    }

    /// The directory of a type's artifacts, created (0700) with the jobs directory if missing.
    public func directory(for type: String, create: Bool) throws(JobFailure) -> OpenDirectory {
        do {
            let mode: mode_t? = create ? 0o700 : nil
            let jobs = try OpenDirectory.open(root, createMode: mode)
            if let store = FileIdentity(followingLinksAt: storeDirectory), jobs.identity == store {
                throw JobFailure("JobSettings.Directory must not be the store's directory (\(storeDirectory))")
            }
            if create { try jobs.restrictToOwner() }
            let typeDirectory = try jobs.child(type, createMode: mode)
            if create { try typeDirectory.restrictToOwner() }
            return typeDirectory
        } catch let e as JobFailure {
            throw e
        } catch {
            throw JobFailure("the jobs directory: \(error)")
        }
    }

    /// The finished artifact of `job`, opened for reading; nil when there is none (never written,
    /// removed by retention, or not a regular file).
    public func open(_ job: Job, kind: JobArtifactKind) -> OpenFile? {
        guard let name = Self.fileName(of: job, kind: kind), let dir = try? directory(for: job.type, create: false) else { return nil }
        return dir.openRegularFile(name)
    }

    /// Removes the job's artifact and any staging file it left; true when something was removed.
    @discardableResult
    public func remove(_ job: Job, kind: JobArtifactKind) -> Bool {
        guard let name = Self.fileName(of: job, kind: kind), let dir = try? directory(for: job.type, create: false) else { return false }
        // SQLite's side files of a backup interrupted while its copy was open go too.
        let staged = ["", "-journal", "-wal", "-shm"].map { dir.remove(Self.stagingName(name) + $0) }.contains(true)
        return dir.remove(name) || staged
    }

    static func stagingName(_ name: String) -> String { "." + name + ".partial" }
}

extension JobArtifacts {
    /// Deletes all but the `keep` newest artifacts of `type` in its directory (names sort by
    /// creation time); returns what it removed. Staging files of running jobs are not artifacts.
    static func keepNewest(_ keep: Int, of type: String, kind: JobArtifactKind, in directory: OpenDirectory) -> [String] {
        let names = directory.entries().filter { $0.hasPrefix(type + "-") && $0.hasSuffix("." + kind.fileExtension) }.sorted()
        guard names.count > keep else { return [] }
        let old = Array(names.prefix(names.count - keep))
        for n in old { directory.remove(n) }
        return old
    }
}

/// The file a running worker writes its artifact to: `path` is a staging name in the type's
/// directory (through its descriptor); `commit` renames it to the artifact's name once complete, so
/// a crash or a failure leaves no half-written artifact under the final name.
public struct ArtifactWriter: Sendable {
    public let kind: JobArtifactKind
    public let directory: OpenDirectory
    public let name: String

    /// Where the worker writes (a path through the directory's descriptor).
    public var path: String { directory.pinnedPath(JobArtifacts.stagingName(name)) }

    /// Makes the staged file the artifact.
    public func commit() throws(JobFailure) {
        let staging = JobArtifacts.stagingName(name)
        let fd = openat(directory.descriptor, staging, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        if fd >= 0 {
            fsync(fd)
            close(fd)
        }
        guard directory.rename(staging, to: name) else {
            throw JobFailure("cannot keep the artifact \(name): \(String(cString: strerror(errno)))")
        }
    }

    /// Removes the staging file (after a failure or a cancel).
    public func discard() { directory.remove(JobArtifacts.stagingName(name)) }

    /// Writes the whole artifact at once (a small report) and commits it.
    public func write(_ bytes: [UInt8]) throws(JobFailure) {
        let fd = try create()
        var offset = 0
        var failure: Int32 = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { failure = errno; break }
            offset += n
        }
        if failure == 0 && fsync(fd) != 0 { failure = errno }
        close(fd)
        guard failure == 0 else { throw JobFailure("cannot write \(name): \(String(cString: strerror(failure)))") }
        try commit()
    }

    /// Writes the artifact through `body`, which is handed a function writing one chunk; then syncs
    /// and commits it. On any failure the staging file is removed and nothing is committed.
    public func stream(_ body: (_ write: (UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws {
        let fd = try create()
        do {
            try body { chunk in
                var offset = 0
                while offset < chunk.count {
                    let n = Glibc.write(fd, chunk.baseAddress! + offset, chunk.count - offset)
                    if n < 0 && errno == EINTR { continue }
                    if n <= 0 { throw JobFailure("cannot write \(name): \(String(cString: strerror(errno)))") }
                    offset += n
                }
            }
            guard fsync(fd) == 0 else { throw JobFailure("cannot write \(name): \(String(cString: strerror(errno)))") }
        } catch {
            close(fd)
            discard()
            throw error
        }
        close(fd)
        try commit()
    }

    /// Opens the staging file for writing (created or truncated, 0600).
    public func create() throws(JobFailure) -> Int32 {
        let fd = openat(directory.descriptor, JobArtifacts.stagingName(name), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw JobFailure("cannot create \(name): \(String(cString: strerror(errno)))") }
        return fd
    }
}
