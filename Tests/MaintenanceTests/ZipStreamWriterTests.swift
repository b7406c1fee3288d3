import Foundation
@testable import Maintenance
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The export's zip writer, read back by two independent readers (Python's zipfile and Info-ZIP's
/// unzip): plain archives, and zip64 ones — forced here with a low threshold, since a real one needs
/// more than 4 GiB of data.
@Suite struct ZipStreamWriterTests {
    let dir = NSTemporaryDirectory() + "zip-\(UUID().uuidString)"

    func write(threshold: UInt64, entries: [(String, [[UInt8]])]) throws -> String {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let path = dir + "/t-\(threshold).zip"
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        #expect(fd >= 0)
        defer { close(fd) }
        var zip = ZipStreamWriter(descriptor: fd, zip64Threshold: threshold)
        for (name, chunks) in entries {
            try zip.begin(name)
            for c in chunks { try zip.write(c) }
            try zip.endEntry()
        }
        try zip.finish()
        return path
    }

    /// Each entry's name, size and sha256 as Python's zipfile reads them, after testzip (CRCs).
    func pythonListing(_ path: String) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", """
            import zipfile, sys, hashlib
            z = zipfile.ZipFile(sys.argv[1]); assert z.testzip() is None
            for i in z.infolist(): print(i.filename, i.file_size, hashlib.sha256(z.read(i)).hexdigest()[:16])
            """, path]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        return String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    }

    func unzipTests(_ path: String) throws -> Bool {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/unzip") else { return true }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/unzip")
        p.arguments = ["-tq", path]
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        return p.terminationStatus == 0
    }

    static let chunk = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }

    func expected(_ entries: [(String, [[UInt8]])]) -> String {
        entries.map { name, chunks in
            let all = chunks.flatMap { $0 }
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
            let input = Pipe(), output = Pipe()
            p.standardInput = input
            p.standardOutput = output
            try? p.run()
            input.fileHandleForWriting.write(Data(all))
            try? input.fileHandleForWriting.close()
            p.waitUntilExit()
            let hex = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).prefix(16)
            return "\(name) \(all.count) \(hex)\n"
        }.joined()
    }

    @Test(arguments: [UInt64(0xFFFF_FFFF), 0, 100_000])
    func readersAgreeOnTheEntries(threshold: UInt64) throws {
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let entries: [(String, [[UInt8]])] = [
            ("messages.csv", [Array("a,b\r\n".utf8), Self.chunk, Self.chunk]),
            ("empty.txt", []),
            ("ünïcode.txt", [Array("x".utf8)]),
        ]
        let path = try write(threshold: threshold, entries: entries)
        #expect(try pythonListing(path) == expected(entries))
        #expect(try unzipTests(path), "unzip -t")
    }

    @Test func crcMatchesTheKnownValue() {
        #expect(CRC32.update(0, Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(CRC32.update(CRC32.update(0, Array("1234".utf8)), Array("56789".utf8)) == 0xCBF4_3926)
    }
}
