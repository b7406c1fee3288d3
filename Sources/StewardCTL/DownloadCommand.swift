import ArgumentParser
import CStewardShims
import Foundation
import StewardModel
#if canImport(Glibc)
import Glibc
#endif

extension JobCommand {
    /// `job download ID [-o FILE] [--force]`. The daemon's answer is streamed to disk in 64 KiB
    /// pieces (a backup is the whole database: it never has to fit in memory), and the daemon's
    /// file name is only a suggestion: its base name, in the current directory.
    struct Download: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Save a finished job's file (backup, report, export).",
            discussion: """
                Without -o the file goes into the current directory, under the base name of the file name the \
                daemon sends (a name with control characters or a leading dot is refused: use -o). An existing \
                file is an error unless --force. The file (mode 0600) is written under a temporary name beside \
                it and renamed when complete, so an interrupted or short download leaves nothing under the final \
                name. A progress bar goes to stderr when it is a terminal (not with --quiet or --json).

                Example: stewardctl job download 9m7kd3b6qtbq8p1mh4c1h5x3ga -o /srv/backups/steward.db
                """)
        @OptionGroup var options: GlobalOptions
        @Argument var id: String
        @Option(name: .shortAndLong, help: "Where to write it (default: the daemon's file name, in the current directory).")
        var output: String?
        @Flag(name: .long, help: "Replace an existing file.") var force = false

        func run() throws {
            try runReportingErrors { () throws(CLIError) in
                let context = "unable to download the job's file"
                let answer = try options.client.open("GET", "/jobs/\(id)/download")
                guard (200..<300).contains(answer.status) else {
                    let body = (try? answer.readAll(limit: 1 << 20)) ?? []
                    throw CLIError.from(.init(status: answer.status, headers: answer.headers, body: body), context: context)
                }
                let directory: String, name: String
                if let output {
                    (directory, name) = try DownloadName.split(output)
                } else {
                    (directory, name) = (".", try DownloadName.choose(contentDisposition: answer.headers["content-disposition"], jobID: id))
                }
                let shown = output ?? name
                let file = try DownloadFile.create(directory: directory, name: name, shown: shown, replacing: force)
                let bar = ProgressBar(total: answer.contentLength, enabled: isatty(STDERR_FILENO) == 1 && !options.quiet && !options.json)
                do throws(CLIError) {
                    while try answer.read({ (piece) throws(CLIError) in
                        try file.write(piece)
                        bar.update(answer.received)
                    }) {}
                    bar.finish(answer.received)
                    if let length = answer.contentLength, answer.received != length {
                        throw .error("\(context): the answer ended after \(answer.received) of \(length) bytes; nothing was saved")
                    }
                    try file.commit(replacing: force)
                } catch {
                    bar.finish(answer.received)
                    file.abandon()
                    throw error
                }
                if options.json {
                    options.sayJSON(#"{"file":\#(JSONWriter.quote(shown)),"size_bytes":\#(answer.received)}"#)
                } else {
                    options.say("Saved \(TerminalText.field(shown)) (\(answer.received) bytes)")
                }
            }
        }
    }
}

/// The name a download is saved under.
enum DownloadName {
    /// Without `-o`: the base name of the daemon's `Content-Disposition` file name, or `job-ID` when
    /// it sends none. A name that is still unusable after taking its base name is refused rather
    /// than repaired: it was not made by stewardd.
    static func choose(contentDisposition: String?, jobID: String) throws(CLIError) -> String {
        guard let header = contentDisposition, let raw = filename(in: header) else {
            guard !jobID.isEmpty, jobID.utf8.allSatisfy({ isalnum(Int32($0)) != 0 }) else {
                throw .error("the daemon sent no file name; give one with -o")
            }
            return "job-\(jobID)"
        }
        guard let name = baseName(raw) else {
            throw .error("the daemon's file name \"\(TerminalText.field(raw))\" cannot be used as a file name here; give one with -o")
        }
        return name
    }

    /// The last path component; nil when that is empty, `.`/`..` or another hidden name (a planted
    /// `.profile`), longer than a file name may be, or holds a control character. Split by scalars,
    /// not characters: a `/` followed by a combining mark is one Character, and would survive.
    static func baseName(_ raw: String) -> String? {
        guard let scalars = raw.unicodeScalars.split(separator: "/").last else { return nil }
        let last = String(String.UnicodeScalarView(scalars))
        guard last.utf8.first != UInt8(ascii: "."), last.utf8.count <= 255,
              !last.unicodeScalars.contains(where: { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) })
        else { return nil }
        return last
    }

    /// The `filename*` (RFC 5987, UTF-8 only) or else the `filename` parameter, undecorated.
    static func filename(in header: String) -> String? {
        var plain: String?, extended: String?
        for (key, value) in parameters(header) {
            if key == "filename" && plain == nil { plain = value }
            if key == "filename*" && extended == nil { extended = decodeExtended(value) }
        }
        return extended ?? plain
    }

    /// `-o PATH`: its directory and last component, as given.
    static func split(_ path: String) throws(CLIError) -> (String, String) {
        let scalars = path.unicodeScalars
        let slash = scalars.lastIndex(of: "/")
        let name = String(slash.map { scalars[scalars.index(after: $0)...] } ?? scalars[...])
        guard !name.isEmpty, name != ".", name != ".." else { throw .error("-o \(TerminalText.field(path)) does not name a file") }
        guard let slash else { return (".", name) }
        return (slash == scalars.startIndex ? "/" : String(scalars[..<slash]), name)
    }

    /// `; key=value` pairs after the disposition type; quoted values unquoted (`\` escapes honoured).
    private static func parameters(_ header: String) -> [(String, String)] {
        var result: [(String, String)] = []
        var chars = Substring(header)
        guard let first = chars.firstIndex(of: ";") else { return [] }
        chars = chars[chars.index(after: first)...]
        while !chars.isEmpty {
            chars = chars.drop { $0 == " " || $0 == "\t" || $0 == ";" }
            guard let eq = chars.firstIndex(of: "=") else { break }
            let key = chars[..<eq].trimmingCharacters(in: .whitespaces).lowercased()
            chars = chars[chars.index(after: eq)...].drop { $0 == " " || $0 == "\t" }
            var value = ""
            if chars.first == "\"" {
                chars = chars.dropFirst()
                var escaped = false
                while let c = chars.first {
                    chars = chars.dropFirst()
                    if escaped { value.append(c); escaped = false } else if c == "\\" { escaped = true } else if c == "\"" { break } else { value.append(c) }
                }
                chars = chars.drop { $0 != ";" }
            } else {
                let end = chars.firstIndex(of: ";") ?? chars.endIndex
                value = chars[..<end].trimmingCharacters(in: .whitespaces)
                chars = chars[end...]
            }
            result.append((key, value))
        }
        return result
    }

    /// `UTF-8''percent%20encoded` → its text; nil for another charset or a broken encoding.
    private static func decodeExtended(_ value: String) -> String? {
        let parts = value.split(separator: "'", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].lowercased() == "utf-8" else { return nil }
        var bytes: [UInt8] = []
        var utf8 = parts[2].utf8[...]
        while let b = utf8.popFirst() {
            guard b == UInt8(ascii: "%") else { bytes.append(b); continue }
            guard utf8.count >= 2, let v = UInt8(String(decoding: utf8.prefix(2), as: UTF8.self), radix: 16) else { return nil }
            bytes.append(v)
            utf8 = utf8.dropFirst(2)
        }
        return String(validating: bytes, as: UTF8.self)
    }
}

/// A download being written: a temporary file (0600, created exclusively, no link followed) in the
/// target's directory, renamed onto the target when complete. The directory is opened once and
/// every later step is relative to it, so renaming or swapping the directory meanwhile does not
/// redirect the file. Interrupted by a signal, the temporary file is removed (`DownloadCleanup`).
final class DownloadFile {
    private let dirfd: Int32
    private let name: String
    private let shown: String
    private let temp: String
    private var fd: Int32 = -1
    private var done = false

    /// Checks the target (an existing one is an error unless `replacing`) and creates the
    /// temporary file. Nothing is left open or behind when it throws.
    static func create(directory: String, name: String, shown: String, replacing: Bool) throws(CLIError) -> DownloadFile {
        let f = TerminalText.field
        let dirfd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dirfd >= 0 else { throw .error("cannot open the directory \(f(directory)): \(String(cString: strerror(errno)))") }
        var owned = true
        defer { if owned { close(dirfd) } }
        var st = stat()
        if fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 {
            guard replacing else { throw .error("\(f(shown)) already exists; use --force to replace it") }
            if (st.st_mode & S_IFMT) == S_IFDIR { throw .error("\(f(shown)) is a directory") }
        }
        let temp = ".stewardctl-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).part"
        DownloadCleanup.arm(dirfd: dirfd, name: temp)
        let fd = openat(dirfd, temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            let e = errno
            DownloadCleanup.disarm()
            throw .error("cannot create a file in \(f(directory)): \(String(cString: strerror(e)))")
        }
        owned = false
        return DownloadFile(dirfd: dirfd, fd: fd, name: name, temp: temp, shown: shown)
    }

    private init(dirfd: Int32, fd: Int32, name: String, temp: String, shown: String) {
        self.dirfd = dirfd
        self.fd = fd
        self.name = name
        self.temp = temp
        self.shown = shown
    }

    deinit {
        if !done { abandon() }
        close(dirfd)
    }

    func write(_ bytes: ArraySlice<UInt8>) throws(CLIError) {
        var offset = bytes.startIndex
        while offset < bytes.endIndex {
            let n = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw .error("cannot write \(TerminalText.field(shown)): \(String(cString: strerror(errno)))") }
            offset += n
        }
    }

    /// Makes the file durable and gives it its name: without `replacing`, only if nothing has taken
    /// the name meanwhile (RENAME_NOREPLACE, or a hard link where the file system has no such rename).
    func commit(replacing: Bool) throws(CLIError) {
        let f = TerminalText.field
        guard fsync(fd) == 0, close(fd) == 0 else { throw .error("cannot write \(f(shown)): \(String(cString: strerror(errno)))") }
        fd = -1
        var rc = replacing ? renameat(dirfd, temp, dirfd, name) : steward_rename_noreplace(dirfd, temp, name)
        if rc != 0 && !replacing && (errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP) {
            rc = linkat(dirfd, temp, dirfd, name, 0)
            if rc == 0 { unlinkat(dirfd, temp, 0) }
        }
        guard rc == 0 else {
            let e = errno
            if e == EEXIST { throw .error("\(f(shown)) appeared meanwhile; use --force to replace it") }
            throw .error("cannot save \(f(shown)): \(String(cString: strerror(e)))")
        }
        done = true
        DownloadCleanup.disarm()
    }

    /// Removes the temporary file; the target is untouched.
    func abandon() {
        if fd >= 0 { close(fd); fd = -1 }
        if !done { unlinkat(dirfd, temp, 0) }
        done = true
        DownloadCleanup.disarm()
    }
}

/// Removes a download's temporary file when SIGINT, SIGTERM or SIGHUP ends stewardctl, then dies of
/// that signal as it would have. A signal the caller ignores (a background job's SIGINT, nohup's
/// SIGHUP) stays ignored. Only async-signal-safe calls in the handler; the name is a C string
/// allocated before the handler can run.
enum DownloadCleanup {
    nonisolated(unsafe) private static var dirfd: Int32 = -1
    nonisolated(unsafe) private static var name: UnsafeMutablePointer<CChar>?
    nonisolated(unsafe) private static var previous: [(Int32, __sighandler_t?)] = []

    static func arm(dirfd: Int32, name: String) {
        Self.dirfd = dirfd
        Self.name = strdup(name)
        for sig in [SIGINT, SIGTERM, SIGHUP] {
            let before = signal(sig) { sig in
                if let n = DownloadCleanup.name { unlinkat(DownloadCleanup.dirfd, n, 0) }
                signal(sig, SIG_DFL)
                raise(sig)
            }
            if let before, unsafeBitCast(before, to: Int.self) == unsafeBitCast(SIG_IGN, to: Int.self) { signal(sig, SIG_IGN) }
            previous.append((sig, before))
        }
    }

    static func disarm() {
        for (sig, before) in previous { signal(sig, before) }
        previous = []
        if let n = name { name = nil; free(n) }
    }
}

/// `[#####.....]  52%  12.3 MiB of 23.6 MiB` on stderr, redrawn at most ten times a second.
final class ProgressBar {
    let total: Int?
    let enabled: Bool
    private var lastDraw: UInt64 = 0
    private var drawn = false
    private var finished = false

    init(total: Int?, enabled: Bool) {
        self.total = total
        self.enabled = enabled
    }

    func update(_ done: Int) {
        guard enabled, !finished else { return }
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let ms = UInt64(now.tv_sec) * 1000 + UInt64(now.tv_nsec) / 1_000_000
        guard !drawn || ms - lastDraw >= 100 else { return }
        lastDraw = ms
        draw(done)
    }

    /// The last state and a newline; once, however often it is called.
    func finish(_ done: Int) {
        guard enabled, !finished else { return }
        finished = true
        draw(done)
        FileHandle.standardError.write(Data("\n".utf8))
    }

    private func draw(_ done: Int) {
        drawn = true
        var line = "\r"
        if let total, total > 0 {
            let percent = min(100, done * 100 / total)
            line += "[" + String(repeating: "#", count: percent / 5) + String(repeating: ".", count: 20 - percent / 5) + "] "
            line += "\(percent)%".leftPadded(4) + "  \(Self.size(done)) of \(Self.size(total))"
        } else {
            line += Self.size(done)
        }
        FileHandle.standardError.write(Data((line + "   ").utf8))
    }

    static func size(_ bytes: Int) -> String {
        if bytes < 1024 * 1024 { return "\(bytes / 1024) KiB" }
        let tenths = bytes * 10 / (1024 * 1024)
        return "\(tenths / 10).\(tenths % 10) MiB"
    }
}

extension String {
    fileprivate func leftPadded(_ width: Int) -> String { String(repeating: " ", count: max(0, width - count)) + self }
}
