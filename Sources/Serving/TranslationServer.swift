import Foundation
import Hummingbird
import Logging
import NIOCore
import NMT
import TextIO

/// `nmt serve`: the models, their decoding queues and the HTTP routes in front of them.
///
/// Routes: the page (`/`), LibreTranslate's `/translate` and `/languages`, nmt's `/v1/translate`,
/// `/v1/attention` and `/v1/walkthrough`, `/health`, `/metrics` (Prometheus) and `/openapi.json`.
/// Every refusal is JSON `{"error": …}` with a 4xx status (503 with Retry-After when the queue
/// is full or a deadline passes); nothing a request sends ends the process.
public final class TranslationServer: Sendable {
    public let catalog: ModelCatalog
    public let limits: ServerLimits
    public let metrics: ServerMetrics
    let service: TranslationService

    public init(catalog: ModelCatalog, limits: ServerLimits, metrics: ServerMetrics) {
        self.catalog = catalog
        self.limits = limits
        self.metrics = metrics
        service = TranslationService(limits: limits)
    }

    /// When a request that starts now must be answered.
    func deadline() -> ContinuousClock.Instant { .now + limits.deadline }

    /// The body's fields, read up to the body limit (413 beyond it).
    func fields(of request: Request) async throws -> RequestFields {
        let body: ByteBuffer
        do { body = try await request.body.collect(upTo: limits.maxBodyBytes) } catch is NIOTooManyBytesError {
            throw APIError(.contentTooLarge, "the request body is larger than \(limits.maxBodyBytes) bytes")
        } catch {
            // The client's fault, not the server's (it stalled past the idle timeout and was cut
            // off, or hung up half-way): a 400 in the metrics, not a 500 and an error in the log.
            throw APIError(.badRequest, "the request body did not arrive whole (\(error))")
        }
        return try RequestFields(body: body, contentType: request.headers[.contentType])
    }

    /// Runs `work` on the model's decoder thread, refusals turned into their HTTP answers.
    func exclusively<T: Sendable>(on model: ServedModel, _ work: @escaping @Sendable () throws -> T) async throws -> T {
        do { return try await model.queue.exclusively(deadline: deadline(), work) } catch let refusal as QueueRefusal {
            throw APIError.from(refusal)
        }
    }

    /// Every route, behind the middleware that counts requests and turns errors into JSON.
    public func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: RequestAccounting(metrics: metrics))
        router.add(middleware: CORSMiddleware(allowOrigin: .all, allowHeaders: [.accept, .authorization, .contentType, .origin],
                                              allowMethods: [.get, .post, .options]))
        router.get("/") { _, _ in Self.staticResponse(Page.html, type: "text/html; charset=utf-8") }
        router.get("openapi.json") { _, _ in JSONBody.response(text: OpenAPIDocument.json(limits: self.limits, catalog: self.catalog).pretty) }
        router.get("health") { _, _ in self.health() }
        router.get("metrics") { _, _ in Self.staticResponse(self.metrics.render(), type: "text/plain; version=0.0.4; charset=utf-8") }
        LibreTranslateRoutes(server: self).add(to: router)
        NMTRoutes(server: self).add(to: router)
        return router
    }

    static func staticResponse(_ text: String, type: String) -> Response {
        Response(status: .ok, headers: [.contentType: type], body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    func health() -> Response {
        JSONBody.response([
            "status": "ok",
            "requests_in_flight": .number(metrics.requestsInFlight),
            "models": .array(catalog.models.map { ["pair": .string($0.pair.description), "directory": .string($0.directory), "queued_sentences": .number($0.queue.depth)] }),
        ])
    }

    /// Serves on `host`:`port` (0: a free port) until SIGTERM or SIGINT, then stops accepting,
    /// answers what is in flight, drains the queues and returns. `onRunning` gets the bound port.
    public func run(host: String, port: Int, onRunning: @escaping @Sendable (Int) -> Void) async throws {
        // Warnings and errors only: the command prints its own line once listening.
        var logger = Logger(label: "nmt-serve")
        logger.logLevel = .warning
        let app = Application(
            router: router(),
            server: .http1(configuration: .init(idleTimeout: TimeAmount(limits.idleTimeout))),
            configuration: .init(address: .hostname(host, port: port), serverName: "nmt"),
            onServerRunning: { channel in onRunning(channel.localAddress?.port ?? port) },
            logger: logger
        )
        try await app.runService(gracefulShutdownSignals: [.sigterm, .sigint])
        for model in catalog.models { model.queue.drain() }
    }
}

/// Counts every request in the metrics by its route and status, and answers every error as JSON:
/// the API's own refusals, Hummingbird's (404 for an unknown path), and anything unexpected as a
/// 500 that names no internals.
struct RequestAccounting: RouterMiddleware {
    typealias Context = BasicRequestContext
    let metrics: ServerMetrics

    /// The methods of each route, for a 405 that names them (Hummingbird answers 404 to a known
    /// path with another method).
    static let methods: [String: String] = [
        "/": "GET", "/languages": "GET", "/health": "GET", "/metrics": "GET", "/openapi.json": "GET",
        "/translate": "POST", "/v1/translate": "POST", "/v1/attention": "POST", "/v1/walkthrough": "POST",
    ]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        metrics.requestInFlight(+1)
        defer { metrics.requestInFlight(-1) }
        let response: Response
        do {
            response = try await next(request, context)
        } catch let error as APIError {
            response = try error.response(from: request, context: context)
        } catch let error as HTTPError where error.status == .notFound {
            if let allowed = Self.methods[request.uri.path] {
                var refusal = try APIError(.methodNotAllowed, "\(request.uri.path) takes \(allowed), not \(request.method)").response(from: request, context: context)
                refusal.headers[.allow] = allowed
                response = refusal
            } else {
                response = try APIError(.notFound, "no such route: \(request.method) \(request.uri.path); see /openapi.json").response(from: request, context: context)
            }
        } catch let error as HTTPError {
            response = try APIError(error.status, error.body ?? error.status.reasonPhrase).response(from: request, context: context)
        } catch let error as any HTTPResponseError {
            response = try APIError(error.status, error.status.reasonPhrase).response(from: request, context: context)
        } catch {
            context.logger.error("request failed: \(error)")
            response = try APIError(.internalServerError, "the server could not answer this request").response(from: request, context: context)
        }
        metrics.recordRequest(route: request.uri.path, status: Int(response.status.code), duration: .now - started)
        return response
    }
}
