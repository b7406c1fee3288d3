import StewardModel
#if canImport(Glibc)
import Glibc
#endif

/// A helper program a worker runs (`pg_dump`, `pg_restore`): spawned with an explicit argument
/// list and environment (no shell), its standard input and output given as descriptors the worker
/// opened itself, its standard error collected (the first 8 KiB) for the job's error. The worker
/// polls it, so a cancel stops it within a tenth of a second.
struct ChildProcess {
    let pid: pid_t
    private let errors: Int32
    private var collected: [UInt8] = []

    struct Failure: Error, CustomStringConvertible { var description: String }

    /// Starts `path` with `arguments` (argv[1…]) and exactly `environment`; `stdin`/`stdout` are
    /// descriptors to hand it (-1: /dev/null).
    init(_ path: String, _ arguments: [String], environment: [String: String], stdin: Int32 = -1, stdout: Int32 = -1) throws {
        var pipeFDs: [Int32] = [-1, -1]
        guard ChildProcess.pipeCloseOnExec(&pipeFDs) else { throw Failure(description: "pipe: \(String(cString: strerror(errno)))") }
        let null = open("/dev/null", O_RDWR | O_CLOEXEC)
        defer {
            close(pipeFDs[1])
            if null >= 0 { close(null) }
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, stdin >= 0 ? stdin : null, 0)
        posix_spawn_file_actions_adddup2(&actions, stdout >= 0 ? stdout : null, 1)
        posix_spawn_file_actions_adddup2(&actions, pipeFDs[1], 2)
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        let envp = environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var child: pid_t = 0
        let rc = posix_spawn(&child, path, &actions, nil, argv, envp)
        guard rc == 0 else {
            close(pipeFDs[0])
            throw Failure(description: "cannot run \(path): \(String(cString: strerror(rc)))")
        }
        pid = child
        errors = pipeFDs[0]
        _ = fcntl(errors, F_SETFL, fcntl(errors, F_GETFL) | O_NONBLOCK)
    }

    /// Waits for the exit, asking `shouldStop` every 100 ms (true: the child is terminated and
    /// `JobCancelled` thrown). Returns the exit status and what it wrote on standard error.
    mutating func wait(shouldStop: () -> Bool) throws -> (status: Int32, stderr: String) {
        defer { close(errors) }
        var status: Int32 = 0
        while true {
            drain()
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid { break }
            if r < 0 && errno != EINTR { throw Failure(description: "waitpid: \(String(cString: strerror(errno)))") }
            if shouldStop() {
                kill(pid, SIGTERM)
                _ = waitpid(pid, &status, 0)
                throw JobCancelled()
            }
            usleep(100_000)
        }
        drain()
        let code: Int32 = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return (code, String(decoding: collected, as: UTF8.self))
    }

    /// `pipe` with both ends close-on-exec (the child gets only what is dup'ed onto 0–2).
    static func pipeCloseOnExec(_ fds: inout [Int32]) -> Bool {
        guard pipe(&fds) == 0 else { return false }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        return true
    }

    private mutating func drain() {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(errors, $0.baseAddress, $0.count) }
            guard n > 0 else { return }
            if collected.count < 8192 { collected += buffer[0..<min(n, 8192 - collected.count)] }
        }
    }
}
