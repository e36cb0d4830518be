import Foundation
import TestSupport
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The built `nmt serve` running as a user runs it, on a free loopback port, and a small HTTP
/// client for it.
final class ServerProcess: @unchecked Sendable {
    let process = Process()
    let port: Int
    private let standardError = Pipe()
    private var errorText = Data()
    private let errorLock = NSLock()

    struct StartFailure: Error, CustomStringConvertible { let description: String }

    /// Starts `nmt serve --port 0 arguments…` and waits for its "on http://…:PORT" line.
    init(_ arguments: [String] = [], timeout: TimeInterval = 120) throws {
        process.executableURL = try NMTProcess.binary()
        process.arguments = ["serve", "--port", "0"] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = standardError
        try process.run()
        let reader = output.fileHandleForReading
        let found = DispatchSemaphore(value: 0)
        let portBox = PortBox()
        Thread {
            var text = ""
            while true {
                let data = reader.availableData
                if data.isEmpty { break }
                text += String(decoding: data, as: UTF8.self)
                if let range = text.range(of: #"on http://[^:]+:(\d+)"#, options: .regularExpression),
                   let port = Int(text[range].split(separator: ":").last!) {
                    portBox.port = port
                    found.signal()
                }
            }
            found.signal()
        }.start()
        Thread { [self] in
            while true {
                let data = standardError.fileHandleForReading.availableData
                if data.isEmpty { break }
                errorLock.lock()
                errorText.append(data)
                errorLock.unlock()
            }
        }.start()
        guard found.wait(timeout: .now() + timeout) == .success, let port = portBox.port else {
            process.terminate()
            throw StartFailure(description: "nmt serve did not start: \(standardErrorText)")
        }
        self.port = port
    }

    private final class PortBox: @unchecked Sendable { var port: Int? }

    var standardErrorText: String {
        errorLock.lock()
        defer { errorLock.unlock() }
        return String(decoding: errorText, as: UTF8.self)
    }

    var base: URL { URL(string: "http://127.0.0.1:\(port)")! }

    /// Sends SIGTERM (or `signal`) and waits for the exit; the exit status, or nil on a time-out.
    @discardableResult
    func stop(signal: Int32 = SIGTERM, timeout: TimeInterval = 60) -> Int32? {
        guard process.isRunning else { return process.terminationStatus }
        kill(process.processIdentifier, signal)
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        guard !process.isRunning else {
            process.terminate()
            return nil
        }
        return process.terminationStatus
    }

    deinit { if process.isRunning { process.terminate() } }

    // MARK: requests

    struct Reply {
        var status: Int
        var headers: [String: String]
        var body: Data
        var text: String { String(decoding: body, as: UTF8.self) }
        /// The body as a JSON object or array (nil when it is not JSON).
        var json: Any? { try? JSONSerialization.jsonObject(with: body, options: [.fragmentsAllowed]) }
        var object: [String: Any] { json as? [String: Any] ?? [:] }
        var error: String? { object["error"] as? String }
    }

    /// One request; the body is sent as given (a JSON value is serialized first).
    func request(_ method: String, _ path: String, body: Data? = nil, contentType: String? = "application/json",
                 timeout: TimeInterval = 120) throws -> Reply {
        var request = URLRequest(url: URL(string: path, relativeTo: base)!)
        request.httpMethod = method
        request.timeoutInterval = timeout
        request.httpBody = body
        if let contentType, body != nil { request.setValue(contentType, forHTTPHeaderField: "Content-Type") }
        let done = DispatchSemaphore(value: 0)
        let box = ReplyBox()
        URLSession.shared.dataTask(with: request) { data, response, error in
            if let response = response as? HTTPURLResponse {
                var headers: [String: String] = [:]
                for (key, value) in response.allHeaderFields { headers[String(describing: key).lowercased()] = String(describing: value) }
                box.reply = Reply(status: response.statusCode, headers: headers, body: data ?? Data())
            }
            box.error = error
            done.signal()
        }.resume()
        done.wait()
        if let reply = box.reply { return reply }
        throw box.error ?? StartFailure(description: "no reply to \(method) \(path)")
    }

    private final class ReplyBox: @unchecked Sendable {
        var reply: Reply?
        var error: Error?
    }

    func get(_ path: String) throws -> Reply { try request("GET", path) }

    func post(_ path: String, json: Any) throws -> Reply {
        try request("POST", path, body: try JSONSerialization.data(withJSONObject: json, options: [.fragmentsAllowed]))
    }

    func post(_ path: String, raw: String, contentType: String? = "application/json") throws -> Reply {
        try request("POST", path, body: Data(raw.utf8), contentType: contentType)
    }
}
