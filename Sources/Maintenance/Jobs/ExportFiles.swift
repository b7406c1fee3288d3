import StewardModel
#if canImport(Glibc)
import Glibc
#endif

/// Why an `/api/v4/exports/{name}` request names no file it may have.
public enum ExportFileError: Error, Equatable, Sendable {
    /// Not a plain `.zip` file name (a path, a hidden name, a character outside the allowed set).
    case invalidName
    case notFound
    case removeFailed(String)
}

/// The files of Mattermost's bulk exports (`export_process`), which mmctl lists, downloads and
/// deletes by name: `<id>_export.zip` in the exports directory, `<JobSettings.Directory>/export_process`.
///
/// A name from a request is used only if it is a plain file name — letters, digits, `.`, `_`, `-`,
/// not starting with a dot (so never `..`, a path or a staging file), ending in `.zip`, at most 255
/// bytes — and only through the directory's descriptor, no link followed, regular files only; the
/// rules of every other file the daemon serves (docs/security.md, "Files from requests").
public struct ExportFiles: Sendable {
    public static let type = "export_process"
    let artifacts: JobArtifacts

    public init(artifacts: JobArtifacts) { self.artifacts = artifacts }

    public static func isValidName(_ name: String) -> Bool {
        let bytes = name.utf8
        guard bytes.count > 4, bytes.count <= 255, name.hasSuffix(".zip"), bytes.first != UInt8(ascii: ".") else { return false }
        return bytes.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
                || c == UInt8(ascii: ".") || c == UInt8(ascii: "_") || c == UInt8(ascii: "-")
        }
    }

    /// The exports, sorted by name (Mattermost lists its directory, which Go reads sorted): regular
    /// files with a valid name; a half-written export is a hidden staging file and is not listed.
    public func names() -> [String] {
        guard let dir = try? artifacts.directory(for: Self.type, create: false) else { return [] }
        return dir.entries().filter { name in
            guard Self.isValidName(name), let st = dir.status(of: name) else { return false }
            return (st.st_mode & S_IFMT) == S_IFREG
        }.sorted()
    }

    /// The export `name`, opened for reading.
    public func open(_ name: String) throws(ExportFileError) -> OpenFile {
        guard Self.isValidName(name) else { throw .invalidName }
        guard let dir = try? artifacts.directory(for: Self.type, create: false), let file = dir.openRegularFile(name) else { throw .notFound }
        return file
    }

    /// Removes the export `name` (the job that made it stays, as in Mattermost).
    public func remove(_ name: String) throws(ExportFileError) {
        guard Self.isValidName(name) else { throw .invalidName }
        guard let dir = try? artifacts.directory(for: Self.type, create: false), let st = dir.status(of: name),
              (st.st_mode & S_IFMT) == S_IFREG
        else { throw .notFound }
        guard dir.remove(name) else { throw .removeFailed(String(cString: strerror(errno))) }
    }
}

extension JobEngine {
    /// The bulk-export files under the settings in force.
    public var exports: ExportFiles { ExportFiles(artifacts: artifacts) }
}
