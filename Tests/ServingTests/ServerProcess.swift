import Foundation
import TestSupport
import XCTest
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Glibc)
import Glibc
#endif

/// The built `nmt serve` running as a user runs it, on a free loopback port, and a small HTTP
/// client for it.
final class ServerProcess: @unchecked Sendable {
    let process = Process()
    let port: Int
    private let errors = ErrorBuffer()

    struct StartFailure: Error, CustomStringConvertible { let description: String }

    /// Starts `nmt serve --port 0 arguments…` and waits for its "on http://…:PORT" line.
    init(_ arguments: [String] = [], timeout: TimeInterval = 120) throws {
        process.executableURL = try NMTProcess.binary()
        process.arguments = ["serve", "--port", "0"] + arguments
        let output = Pipe()
        process.standardOutput = output
        let standardError = Pipe()
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
        let errors = self.errors
        Thread {
            while true {
                let data = standardError.fileHandleForReading.availableData
                if data.isEmpty { break }
                errors.append(data)
            }
        }.start()
        guard found.wait(timeout: .now() + timeout) == .success, let port = portBox.port else {
            process.terminate()
            throw StartFailure(description: "nmt serve did not start: \(errors.text)")
        }
        self.port = port
    }

    private final class PortBox: @unchecked Sendable { var port: Int? }

    /// What the server wrote to standard error, collected as it comes.
    private final class ErrorBuffer: @unchecked Sendable {
        private let lock = NSLock()
        private var data = Data()
        func append(_ more: Data) { lock.lock(); data.append(more); lock.unlock() }
        var text: String { lock.lock(); defer { lock.unlock() }; return String(decoding: data, as: UTF8.self) }
    }

    var standardErrorText: String { errors.text }

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

    /// Many connections to one host at once (URLSession.shared allows a handful), so concurrent
    /// clients really are concurrent.
    static let session: URLSession = {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpMaximumConnectionsPerHost = 64
        return URLSession(configuration: configuration)
    }()

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
        Self.session.dataTask(with: request) { data, response, error in
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

    /// Runs `body(0…count-1)` on `count` threads of their own and waits for all of them: real
    /// concurrent clients (Dispatch's pool would run only as many at once as there are cores).
    static func onThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
        let group = DispatchGroup()
        for index in 0..<count {
            group.enter()
            Thread {
                body(index)
                group.leave()
            }.start()
        }
        group.wait()
    }

    func post(_ path: String, json: Any) throws -> Reply {
        try request("POST", path, body: try JSONSerialization.data(withJSONObject: json, options: [.fragmentsAllowed]))
    }

    func post(_ path: String, raw: String, contentType: String? = "application/json") throws -> Reply {
        try request("POST", path, body: Data(raw.utf8), contentType: contentType)
    }
}

/// A test case whose tests share one server, started before the first test with the class's
/// `serverArguments` and stopped (SIGTERM, which must give exit status 0) after the last.
class SharedServerTestCase: XCTestCase {
    class var serverArguments: [String] { [] }

    nonisolated(unsafe) private static var servers: [ObjectIdentifier: ServerProcess] = [:]

    override class func setUp() {
        super.setUp()
        servers[ObjectIdentifier(self)] = try? ServerProcess(serverArguments)
    }

    override class func tearDown() {
        if let server = servers.removeValue(forKey: ObjectIdentifier(self)) {
            XCTAssertEqual(server.stop(), 0, "SIGTERM ends the server with status 0")
        }
        super.tearDown()
    }

    var server: ServerProcess {
        get throws {
            guard let server = Self.servers[ObjectIdentifier(type(of: self))] else {
                throw XCTSkip("nmt serve did not start (is the release binary built?)")
            }
            return server
        }
    }
}

extension ServerProcess {
    /// A client that stalls: it connects, sends a request's head and the first bytes of a body of
    /// 100, and then nothing. Returns the socket, with reads timing out after `readTimeout` seconds.
    func openStalledRequest(readTimeout: Int = 30) throws -> Int32 {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw StartFailure(description: "socket: errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { close(descriptor); throw StartFailure(description: "connect: errno \(errno)") }
        var timeout = timeval(tv_sec: readTimeout, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let head = "POST /translate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"q\": \"I am"
        _ = head.utf8CString.withUnsafeBufferPointer { send(descriptor, $0.baseAddress, $0.count - 1, Int32(MSG_NOSIGNAL)) }
        return descriptor
    }

    /// Reads from `socket` until the server closes it (true) or a read times out (false).
    static func waitsForClose(_ socket: Int32) -> Bool {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = recv(socket, &buffer, buffer.count, 0)
            if count == 0 { return true }
            if count < 0 { return errno == ECONNRESET }
        }
    }
}
