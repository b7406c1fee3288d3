import Foundation
@testable import Journal
import StewardModel
import Testing

/// The batched journal writer, against a datagram socket of the test's own in place of journald's:
/// every entry arrives, as journald's native protocol has it, in the order it was written; an
/// urgent one arrives at once with everything queued before it; a queued one arrives without
/// anyone flushing.
@Suite struct JournalWriterTests {
    /// A bound datagram socket in a temporary directory, standing in for journald.
    final class FakeJournald {
        let dir = NSTemporaryDirectory() + "steward-journal-\(UUID().uuidString.prefix(8))"
        var path: String { dir + "/socket" }
        let fd: Int32

        init() throws {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            var addr = sockaddr_un()
            addr.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &addr.sun_path) { raw in
                for (i, b) in dir.utf8.enumerated() { raw[i] = b }
                for (i, b) in "/socket".utf8.enumerated() { raw[dir.utf8.count + i] = b }
            }
            let rc = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            #expect(rc == 0)
            // Room for every datagram a test sends before it reads.
            var size: Int32 = 4 * 1024 * 1024
            _ = setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
            startReading()
        }

        deinit {
            shutdown(fd, Int32(SHUT_RDWR))
            readerDone.wait()
            close(fd)
            try? FileManager.default.removeItem(atPath: dir)
        }

        /// Datagrams received so far, read by a thread of their own (a datagram socket's queue
        /// is short: a writer with nobody reading would wait).
        let received = Locked<[[UInt8]]>([])
        /// Signalled when the reader has stopped: only then is the descriptor closed, or the
        /// reader could read from another test's socket given the same number.
        let readerDone = DispatchSemaphore(value: 0)

        func startReading() {
            let fd = fd, received = received, readerDone = readerDone
            Thread.detachNewThread {
                var buffer = [UInt8](repeating: 0, count: 256 * 1024)
                while true {
                    let n = recv(fd, &buffer, buffer.count, 0)
                    // A signal to the test process (a child exiting) interrupts the wait.
                    if n < 0 && errno == EINTR { continue }
                    // 0 once deinit has shut the socket down (no test sends an empty datagram).
                    if n <= 0 {
                        readerDone.signal()
                        return
                    }
                    received.withLock { $0.append(Array(buffer[..<n])) }
                }
            }
        }

        /// The first `count` datagrams, once that many have arrived (nil after `seconds`).
        func first(_ count: Int, within seconds: Double = 60) -> [[UInt8]]? {
            let deadline = Date().addingTimeInterval(seconds)
            while Date() < deadline {
                let got = received.withLock { $0 }
                if got.count >= count { return Array(got.prefix(count)) }
                usleep(2_000)
            }
            return nil
        }
    }

    /// Decodes journald's native protocol: `NAME=value\n`, or `NAME\n` + 64-bit little-endian
    /// length + value + `\n`.
    static func fields(_ datagram: [UInt8]) throws -> [(String, String)] {
        var out: [(String, String)] = []
        var i = 0
        while i < datagram.count {
            let lineEnd = try #require(datagram[i...].firstIndex(of: UInt8(ascii: "\n")))
            let line = datagram[i..<lineEnd]
            if let equals = line.firstIndex(of: UInt8(ascii: "=")) {
                out.append((String(decoding: line[..<equals], as: UTF8.self), String(decoding: line[(equals + 1)...], as: UTF8.self)))
                i = lineEnd + 1
            } else {
                var length: UInt64 = 0
                for k in 0..<8 { length |= UInt64(datagram[lineEnd + 1 + k]) << (8 * k) }
                let start = lineEnd + 9
                let end = start + Int(length)
                try #require(end < datagram.count && datagram[end] == UInt8(ascii: "\n"))
                out.append((String(decoding: line, as: UTF8.self), String(decoding: datagram[start..<end], as: UTF8.self)))
                i = end + 1
            }
        }
        return out
    }

    static func entry(_ message: String, _ extra: [(String, String)] = []) -> JournalEntry {
        var e = JournalEntry()
        e.append("MESSAGE", message)
        e.append("PRIORITY", "6")
        for (k, v) in extra { e.append(k, v) }
        return e
    }

    @Test func datagramsAreJournaldsNativeProtocolAlsoForValuesWithNewlines() throws {
        var e = Self.entry("two\nlines", [("PLAIN", "a=b"), ("EMPTY", ""), ("BINARY", "x\ny\n")])
        e.append("", "a field without a name is left out")
        var bytes: [UInt8] = []
        e.appendDatagram(to: &bytes)
        let decoded = try Self.fields(bytes)
        #expect(decoded.map(\.0) == ["MESSAGE", "PRIORITY", "PLAIN", "EMPTY", "BINARY"])
        #expect(decoded.map(\.1) == ["two\nlines", "6", "a=b", "", "x\ny\n"])
        // The plain fields are `NAME=value` lines, as sd_journal_sendv writes them.
        #expect(String(decoding: bytes, as: UTF8.self).contains("PRIORITY=6\nPLAIN=a=b\nEMPTY=\n"))
    }

    @Test func everyEntryArrivesInOrderWhenFlushed() throws {
        let journald = try FakeJournald()
        let writer = JournalWriter(path: journald.path)
        for i in 0..<300 { writer.write(Self.entry("entry \(i)", [("N", "\(i)")]), urgent: false) }
        writer.flush()
        let datagrams = try #require(journald.first(300))
        for (i, datagram) in datagrams.enumerated() {
            #expect(try Self.fields(datagram).first { $0.0 == "N" }?.1 == "\(i)")
        }
    }

    @Test func anUrgentEntryIsSentAtOnceAfterWhatWasQueuedBeforeIt() throws {
        let journald = try FakeJournald()
        let writer = JournalWriter(path: journald.path)
        for i in 0..<3 { writer.write(Self.entry("queued \(i)"), urgent: false) }
        writer.write(Self.entry("urgent"), urgent: true)
        // No flush: all four were sent when write returned (the urgent write takes the queue, or
        // the writer's thread had sent part of it), the urgent one last.
        let datagrams = try #require(journald.first(4))
        let messages = try datagrams.map { try Self.fields($0).first { $0.0 == "MESSAGE" }?.1 ?? "" }
        #expect(messages == ["queued 0", "queued 1", "queued 2", "urgent"])
    }

    @Test func aQueuedEntryArrivesWithoutAFlush() throws {
        let journald = try FakeJournald()
        let writer = JournalWriter(path: journald.path)
        writer.write(Self.entry("on its own"), urgent: false)
        let datagrams = try #require(journald.first(1), "the writer's thread sends it")
        #expect(try Self.fields(datagrams[0]).first { $0.0 == "MESSAGE" }?.1 == "on its own")
    }
}
