import FoundationEssentials
import Integrity
import Logging
import NIOHTTP1
import Maintenance
import StewardModel

/// A fully read request, within the transport's size limits.
public struct APIRequest: Sendable {
    public var method: String
    /// The path without the query string, percent-decoding not applied (routes are ASCII).
    public var path: String
    public var query: [String: String]
    public var headers: HTTPHeaders
    public var body: [UInt8]
    public var requestID: String
    public var peer: PeerCredentials

    public init(method: String, uri: String, headers: HTTPHeaders = [:], body: [UInt8] = [],
                requestID: String = NewID.make(), peer: PeerCredentials) {
        self.method = method
        let (path, query) = Self.split(uri: uri)
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.requestID = requestID
        self.peer = peer
    }

    static func split(uri: String) -> (String, [String: String]) {
        guard let q = uri.firstIndex(of: "?") else { return (uri, [:]) }
        var query: [String: String] = [:]
        for pair in uri[uri.index(after: q)...].split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = decode(kv[0])
            // Like Go's url.Values.Get: the first value wins.
            if query[key] == nil { query[key] = kv.count > 1 ? decode(kv[1]) : "" }
        }
        return (String(uri[..<q]), query)
    }

    /// Query decoding as Go's url.ParseQuery: `+` is a space, `%XX` a byte; a bad escape is kept as is.
    static func decode(_ s: Substring) -> String {
        guard s.utf8.contains(where: { $0 == UInt8(ascii: "%") || $0 == UInt8(ascii: "+") }) else { return String(s) }
        var out: [UInt8] = []
        out.reserveCapacity(s.utf8.count)
        var it = Array(s.utf8)[...]
        while let c = it.popFirst() {
            if c == UInt8(ascii: "+") {
                out.append(0x20)
            } else if c == UInt8(ascii: "%"), it.count >= 2, let h = hexValue(it[it.startIndex]), let l = hexValue(it[it.startIndex + 1]) {
                out.append(h << 4 | l)
                it = it.dropFirst(2)
            } else {
                out.append(c)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: return c - 0x30
        case 0x41...0x46: return c - 0x41 + 10
        case 0x61...0x66: return c - 0x61 + 10
        default: return nil
        }
    }

    /// Decodes the body as JSON; an empty body decodes as `{}`.
    public func decodeJSON<T: Decodable>(_ type: T.Type) throws -> T {
        let data = body.isEmpty ? Data("{}".utf8) : Data(body)
        do {
            return try JSONDecoder().decode(type, from: data)
        } catch {
            throw AppError.malformedJSON("the body could not be read as \(T.self)")
        }
    }
}

/// What a handler answers. The transport adds the common headers (request id, version, nosniff).
public struct APIResponse: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    /// A file sent after the headers instead of `body`, read in chunks (backups can be gigabytes).
    public var file: ResponseFile?
    /// Fields the call's audit record names besides the request (a created job's id and type), so
    /// one journal entry says who did what to which object.
    public var auditFields: [(key: String, value: String)] = []

    public init(status: Int = 200, headers: [(name: String, value: String)] = [], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public static func json(_ text: String, status: Int = 200) -> APIResponse {
        APIResponse(status: status, headers: [("Content-Type", "application/json")], body: Array(text.utf8))
    }

    /// `{"status":"OK"}`.
    public static var ok: APIResponse { .json(StatusOK.json) }

    public static func error(_ e: AppError) -> APIResponse { .json(e.json, status: e.statusCode) }
}

/// A file sent as a response body: opened by the domain (through the directory's descriptor, no
/// link followed), so the transport streams exactly the file that was checked — all of it, or the
/// bytes `offset ..< offset + size` of a range request.
public struct ResponseFile: Sendable {
    public var file: OpenFile
    /// Where the answer starts in the file.
    public var offset: Int64
    /// How many bytes are sent (the Content-Length).
    public var size: Int64
    public init(_ file: OpenFile) { self.init(file, offset: 0, size: file.size) }
    public init(_ file: OpenFile, offset: Int64, size: Int64) {
        self.file = file
        self.offset = offset
        self.size = size
    }
}

/// The domain services handlers call. Handlers never see the transport or the policy.
public struct APIServices: Sendable {
    public var busy: ServerBusyService
    public var database: DatabaseMaintenance
    public var caches: CacheRegistry
    public var integrity: IntegrityChecker
    public var config: ConfigService
    public var jobs: JobEngine
    /// The nodes sharing the store (nil: none recorded, as in tests that need none).
    public var cluster: ClusterNodes?
    public var settings: RuntimeSettings { config.settings }

    public init(busy: ServerBusyService, database: DatabaseMaintenance, caches: CacheRegistry,
                integrity: IntegrityChecker, config: ConfigService, jobs: JobEngine, cluster: ClusterNodes? = nil) {
        self.jobs = jobs
        self.cluster = cluster
        self.busy = busy
        self.database = database
        self.caches = caches
        self.integrity = integrity
        self.config = config
    }
}

/// Everything a handler gets: the request, its path parameters, the services and a logger that
/// already carries the request id.
public struct RequestContext: Sendable {
    public var request: APIRequest
    public var parameters: [String: String]
    public var services: APIServices
    var baseLogger: Logger
    public var route: Route
    /// The job a `/jobs/{job_id}` request is about, read once while deciding access.
    public var job: Job?
    /// The body of `POST /jobs`, decoded once while deciding access (the type's permission).
    var jobCreation: JobHandlers.CreateBody?

    /// The daemon's logger with this request's id; built only when a handler logs (not on the hot path).
    public var logger: Logger {
        var l = baseLogger
        l[metadataKey: "request_id"] = "\(request.requestID)"
        return l
    }
}
