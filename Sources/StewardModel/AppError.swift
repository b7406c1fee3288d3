/// Mattermost's error body (`model.AppError`), the shape every Steward error takes on the wire.
///
/// Keys are written in Mattermost's order: `id`, `message`, `detailed_error`, `request_id`,
/// `status_code`. `detailed_error` only ever carries client-safe text; internal causes go to the
/// journal, never into a response.
public struct AppError: Error, Sendable, Equatable, Codable {
    public var id: String
    public var message: String
    public var detailedError: String
    public var requestID: String
    public var statusCode: Int

    public init(id: String, message: String, detailedError: String = "", requestID: String = "", statusCode: Int) {
        self.id = id
        self.message = message
        self.detailedError = detailedError
        self.requestID = requestID
        self.statusCode = statusCode
    }

    enum CodingKeys: String, CodingKey {
        case id, message
        case detailedError = "detailed_error"
        case requestID = "request_id"
        case statusCode = "status_code"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decodeIfPresent(String.self, forKey: .id) ?? ""
        message = try c.decodeIfPresent(String.self, forKey: .message) ?? ""
        detailedError = try c.decodeIfPresent(String.self, forKey: .detailedError) ?? ""
        requestID = try c.decodeIfPresent(String.self, forKey: .requestID) ?? ""
        statusCode = try c.decodeIfPresent(Int.self, forKey: .statusCode) ?? 0
    }

    /// The JSON body, keys in Mattermost's order, no trailing newline.
    public var json: String {
        var w = JSONWriter()
        w.object { o in
            o.field("id", id)
            o.field("message", message)
            o.field("detailed_error", detailedError)
            if !requestID.isEmpty { o.field("request_id", requestID) }
            if statusCode != 0 { o.field("status_code", statusCode) }
        }
        return w.output
    }
}

/// Error ids Steward answers with (Mattermost's where it has one) and their English messages.
public enum ErrorID {
    public static let notFound = "api.context.404.app_error"
    public static let methodNotAllowed = "api.context.405.app_error"
    public static let permissions = "api.context.permissions.app_error"
    public static let invalidURLParam = "api.context.invalid_url_param.app_error"
    public static let invalidBodyParam = "api.context.invalid_body_param.app_error"
    public static let urlTooLong = "basic_security_check.url.too_long_error"
    public static let bodyTooLarge = "api.context.request_body_too_large.app_error"
    public static let headersTooLarge = "api.context.request_headers_too_large.app_error"
    public static let malformedJSON = "api.context.invalid_json.app_error"
    public static let tooManyConnections = "api.context.too_many_connections.app_error"
    public static let internalError = "api.context.internal_error.app_error"
    public static let recycleFailed = "api.database.recycle.app_error"
    public static let cacheInvalidateFailed = "api.caches.invalidate.app_error"
    public static let serverBusyFailed = "api.server_busy.app_error"
}

extension AppError {
    public static func notFound(path: String) -> AppError {
        AppError(
            id: ErrorID.notFound, message: "Sorry, we could not find the page.",
            detailedError: "There doesn't appear to be an api call for the url='\(path)'.  Typo? are you missing a team_id or user_id as part of the url?",
            statusCode: 404)
    }

    public static func methodNotAllowed(method: String, path: String, allowed: [String]) -> AppError {
        AppError(
            id: ErrorID.methodNotAllowed, message: "The method is not allowed for this page.",
            detailedError: "method=\(method) url='\(path)' allowed=\(allowed.joined(separator: ", "))",
            statusCode: 405)
    }

    public static func forbidden(uid: UInt32?, permission: String) -> AppError {
        let who = uid.map(String.init) ?? "unknown"
        return AppError(
            id: ErrorID.permissions, message: "You do not have the appropriate permissions.",
            detailedError: "uid=\(who), permission=\(permission)", statusCode: 403)
    }

    /// Mattermost's `invalid_url_param`: "Invalid or missing {{.Name}} parameter in request URL."
    public static func invalidURLParam(_ name: String) -> AppError {
        AppError(
            id: ErrorID.invalidURLParam, message: "Invalid or missing \(name) parameter in request URL.",
            statusCode: 400)
    }

    public static func invalidBodyParam(_ name: String) -> AppError {
        AppError(
            id: ErrorID.invalidBodyParam, message: "Invalid or missing \(name) in request body.",
            statusCode: 400)
    }

    /// A request the parser refused (framing, syntax).
    public static func badRequest(_ detail: String) -> AppError {
        AppError(id: "api.context.bad_request.app_error", message: "The request could not be parsed.", detailedError: detail, statusCode: 400)
    }

    public static func malformedJSON(_ detail: String) -> AppError {
        AppError(
            id: ErrorID.malformedJSON, message: "The request body is not valid JSON.",
            detailedError: detail, statusCode: 400)
    }

    public static func urlTooLong(limit: Int) -> AppError {
        AppError(
            id: ErrorID.urlTooLong, message: "URL too long.",
            detailedError: "the request URL exceeds \(limit) bytes", statusCode: 414)
    }

    public static func bodyTooLarge(limit: Int) -> AppError {
        AppError(
            id: ErrorID.bodyTooLarge, message: "The request body is too large.",
            detailedError: "the request body exceeds \(limit) bytes", statusCode: 413)
    }

    public static func headersTooLarge(limit: Int) -> AppError {
        AppError(
            id: ErrorID.headersTooLarge, message: "The request headers are too large.",
            detailedError: "the request line and headers exceed \(limit) bytes", statusCode: 431)
    }

    public static func tooManyConnections(detail: String) -> AppError {
        AppError(
            id: ErrorID.tooManyConnections, message: "Too many connections.",
            detailedError: detail, statusCode: 503)
    }

    /// The only body an unexpected failure ever produces; its cause stays in the journal.
    public static func internalError(id: String = ErrorID.internalError, message: String = "An internal error occurred.") -> AppError {
        AppError(id: id, message: message, statusCode: 500)
    }
}
