import Maintenance
import NIOHTTP1
import StewardModel

/// The `Range` header of a download, as Go's `http.ServeContent` (which Mattermost's export and job
/// downloads use) reads it: one range of bytes — `bytes=N-`, `bytes=N-M` or the suffix `bytes=-S` —
/// is served as `206 Partial Content`; a range starting past the end is `416`; anything else (no
/// header, another unit, several ranges, a malformed value, an `If-Range`, which nothing we send can
/// match) gets the whole file with `200`. mmctl resumes an interrupted `export download` with
/// `Range: bytes=<size of what it has>-`.
enum ByteRange: Equatable {
    case whole
    case partial(offset: Int64, length: Int64)
    case unsatisfiable

    static func parse(_ header: String?, ifRange: String? = nil, size: Int64) -> ByteRange {
        guard let header, ifRange == nil else { return .whole }
        let value = header.trimmingSpaces
        guard value.hasPrefix("bytes="), value.utf8.count <= 64 else { return .whole }
        let spec = value.dropFirst(6)
        guard !spec.utf8.contains(UInt8(ascii: ",")), let dash = spec.firstIndex(of: "-") else { return .whole }
        let first = spec[..<dash], last = spec[spec.index(after: dash)...]
        guard first.utf8.allSatisfy(isDigit), last.utf8.allSatisfy(isDigit), !(first.isEmpty && last.isEmpty) else { return .whole }
        if first.isEmpty {
            // The last S bytes.
            guard let suffix = Int64(last) else { return .whole }
            guard suffix > 0, size > 0 else { return .unsatisfiable }
            let length = min(suffix, size)
            return .partial(offset: size - length, length: length)
        }
        guard let start = Int64(first) else { return .whole }
        guard start < size else { return .unsatisfiable }
        var end = size - 1
        if !last.isEmpty {
            guard let e = Int64(last), e >= start else { return .whole }
            end = min(e, size - 1)
        }
        return .partial(offset: start, length: end - start + 1)
    }

    private static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
}

extension String {
    fileprivate var trimmingSpaces: Substring {
        var s = self[...]
        while s.first == " " || s.first == "\t" { s = s.dropFirst() }
        while s.last == " " || s.last == "\t" { s = s.dropLast() }
        return s
    }
}

/// A file answer: the whole file or the range the request asks for, with the headers downloads
/// need. Every download route builds its answer here, so ranges behave the same on all of them.
enum FileAnswer {
    static func make(_ file: OpenFile, contentType: String, attachmentName: String?, request: APIRequest) throws -> APIResponse {
        let size = file.size
        var headers: [(name: String, value: String)] = [("Content-Type", contentType), ("Accept-Ranges", "bytes")]
        if let name = attachmentName {
            headers.append(("Content-Disposition", "attachment;filename=\"\(name)\"; filename*=UTF-8''\(name)"))
        }
        switch ByteRange.parse(request.headers.first(name: "Range"), ifRange: request.headers.first(name: "If-Range"), size: size) {
        case .whole:
            var r = APIResponse(status: 200, headers: headers, body: [])
            r.file = ResponseFile(file)
            return r
        case .partial(let offset, let length):
            headers.append(("Content-Range", "bytes \(offset)-\(offset + length - 1)/\(size)"))
            var r = APIResponse(status: 206, headers: headers, body: [])
            r.file = ResponseFile(file, offset: offset, size: length)
            return r
        case .unsatisfiable:
            var e = AppError(id: "api.file.range_not_satisfiable.app_error", message: "The requested range is past the end of the file.",
                             detailedError: "size=\(size)", statusCode: 416)
            e.requestID = request.requestID
            var r = APIResponse.error(e)
            r.headers.append(("Content-Range", "bytes */\(size)"))
            return r
        }
    }
}
