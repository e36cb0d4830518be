import Foundation
import Hummingbird
import TextIO

/// A request the server refuses, answered as JSON `{"error": "…"}` with its status (and a
/// Retry-After header when the queue is full).
public struct APIError: Error, HTTPResponseError, CustomStringConvertible {
    public let status: HTTPResponse.Status
    public let message: String
    public var retryAfterSeconds: Int?

    public init(_ status: HTTPResponse.Status, _ message: String, retryAfterSeconds: Int? = nil) {
        self.status = status
        self.message = message
        self.retryAfterSeconds = retryAfterSeconds
    }

    public static func badRequest(_ message: String) -> APIError { APIError(.badRequest, message) }

    public var description: String { "\(status.code) \(message)" }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers = HTTPFields()
        if let retryAfterSeconds { headers[.retryAfter] = String(retryAfterSeconds) }
        return JSONBody.response(["error": .string(message)], status: status, headers: headers)
    }

    /// The answer to a refusal of the decoding queue.
    static func from(_ refusal: QueueRefusal) -> APIError {
        switch refusal {
        case .full(let seconds):
            return APIError(.serviceUnavailable, "the server is busy: its queue is full; retry in \(seconds) s", retryAfterSeconds: seconds)
        case .deadlineExceeded:
            return APIError(.serviceUnavailable, "the translation took longer than the server's deadline; retry, or send less text", retryAfterSeconds: 1)
        case .stopping:
            return APIError(.serviceUnavailable, "the server is shutting down")
        }
    }
}

/// JSON responses, written by TextIO's `JSON` (members in the order built).
enum JSONBody {
    /// `value` on one line as an `application/json` response.
    static func response(_ value: JSON, status: HTTPResponse.Status = .ok, headers: HTTPFields = HTTPFields()) -> Response {
        response(text: value.compact, status: status, headers: headers)
    }

    /// JSON text already written.
    static func response(text: String, status: HTTPResponse.Status = .ok, headers: HTTPFields = HTTPFields()) -> Response {
        var headers = headers
        headers[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }
}
