import NIOCore
import NIOHTTP1
import StewardModel

/// Writes an HTTP/1.1 response with the headers every Steward answer carries.
enum ResponseSerializer {
    private static let commonHeaders = Array(
        ("X-Version-ID: \(StewardVersion.versionID)\r\nX-Content-Type-Options: nosniff\r\nReferrer-Policy: no-referrer\r\n").utf8)

    static func write(_ response: APIResponse, requestID: String, isGET: Bool, close: Bool, into buffer: inout ByteBuffer) {
        if response.status == 200 {
            buffer.writeStaticString("HTTP/1.1 200 OK\r\n")
        } else {
            buffer.writeString("HTTP/1.1 \(response.status) \(HTTPResponseStatus(statusCode: response.status).reasonPhrase)\r\n")
        }
        var hasContentType = false
        for (name, value) in response.headers {
            // Handlers spell the header as "Content-Type"; no case folding needed on this path.
            if name == "Content-Type" { hasContentType = true }
            buffer.writeString(name)
            buffer.writeStaticString(": ")
            buffer.writeString(value)
            buffer.writeStaticString("\r\n")
        }
        if !hasContentType { buffer.writeStaticString("Content-Type: application/json\r\n") }
        buffer.writeStaticString("Content-Length: ")
        buffer.writeString(String(response.file?.size ?? Int64(response.body.count)))
        buffer.writeStaticString("\r\nX-Request-ID: ")
        buffer.writeString(requestID)
        buffer.writeStaticString("\r\n")
        buffer.writeBytes(commonHeaders)
        if isGET { buffer.writeStaticString("Expires: 0\r\n") }
        if close { buffer.writeStaticString("Connection: close\r\n") }
        buffer.writeStaticString("\r\n")
        buffer.writeBytes(response.body)
    }
}
