import ArgumentParser
import Foundation
import NMT
import Serving

/// `nmt serve`: the models over HTTP — LibreTranslate's API, nmt's own, metrics, and a page.
struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve translation over HTTP (LibreTranslate's API, nmt's own, metrics, a page at /).",
        discussion: """
            Each --model is served under its language pair: SRC-TGT=DIR names it, a bare DIR takes \
            it from source_lang/target_lang in the model's tokenizer_config.json or config.json, or \
            from the folder's name (en-fr). Without --model, the shipped English→French model. \
            Binds to loopback unless --host says otherwise. SIGTERM or Ctrl-C stops accepting, \
            answers what is in flight and exits 0.

              nmt serve
              nmt serve --model en-fr=models/en-fr --port 5000
              curl -s localhost:8080/translate -H 'Content-Type: application/json' \\
                   -d '{"q": "I am a student.", "source": "en", "target": "fr"}'
            """
    )

    @Option(name: .customLong("model"), help: ArgumentHelp("A model directory, or SRC-TGT=DIR; repeat for several pairs. Default: the shipped en-fr model.", valueName: "dir"))
    var models: [String] = []

    @Option(help: "The address to listen on (0.0.0.0: every interface).")
    var host = "127.0.0.1"

    @Option(help: "The port to listen on; 0 picks a free one (printed at the start).")
    var port = 8080

    @OptionGroup var computation: ThreadOptions

    @Option(help: ComputeType.help)
    var computeType: ComputeType = .auto

    @Option(help: "Most sentences decoded together.")
    var batchSize = 32

    @Option(help: ArgumentHelp("How long a batch waits for more sentences (from the later of its first sentence's arrival and the last batch's end).", valueName: "ms"))
    var batchWait = 10

    @Option(help: "Most sentences waiting for the decoder; past it, requests get 503 with Retry-After.")
    var queueSize = 1024

    @Option(help: ArgumentHelp("A request not answered by then gets 503.", valueName: "seconds"))
    var deadline = 60

    @Option(help: ArgumentHelp("A connection silent this long in the middle of a request (or between requests) is closed.", valueName: "seconds"))
    var idleTimeout = 10

    @Option(help: "Most characters of text in one request.")
    var maxCharacters = 20_000

    @Option(help: "Most sentences in one request (after splitting).")
    var maxSentences = 200

    @Option(help: ArgumentHelp("The largest request body.", valueName: "bytes"))
    var maxBody = 1 << 20

    func validate() throws {
        guard (0...65535).contains(port) else { throw CommandError("--port must be between 0 and 65535, got \(port)") }
        guard batchSize >= 1 else { throw CommandError("--batch-size must be at least 1, got \(batchSize)") }
        guard (0...1000).contains(batchWait) else { throw CommandError("--batch-wait must be between 0 and 1000 ms, got \(batchWait)") }
        guard queueSize >= 1 else { throw CommandError("--queue-size must be at least 1, got \(queueSize)") }
        guard deadline >= 1 else { throw CommandError("--deadline must be at least 1 second, got \(deadline)") }
        guard idleTimeout >= 1 else { throw CommandError("--idle-timeout must be at least 1 second, got \(idleTimeout)") }
        guard maxCharacters >= 1, maxSentences >= 1, maxBody >= 1 else { throw CommandError("--max-characters, --max-sentences and --max-body must be at least 1") }
    }

    var limits: ServerLimits {
        var limits = ServerLimits()
        limits.maxBodyBytes = maxBody
        limits.maxCharacters = maxCharacters
        limits.maxSentences = maxSentences
        limits.maxQueuedSentences = queueSize
        limits.deadline = .seconds(deadline)
        limits.idleTimeout = .seconds(idleTimeout)
        return limits
    }

    /// The models to serve: each --model's pair and folder, or the shipped model.
    func modelSpecifications() throws -> [(pair: LanguagePair, directory: URL)] {
        guard !models.isEmpty else {
            let shipped = try ShippedModel.directory(given: nil, relativePath: ShippedModel.relativePath)
            return [(LanguagePair(source: "en", target: "fr"), shipped)]
        }
        var specifications: [(pair: LanguagePair, directory: URL)] = []
        for argument in models {
            let pair: LanguagePair, path: String
            if let equals = argument.firstIndex(of: "="), let named = LanguagePair(String(argument[..<equals])) {
                pair = named
                path = String(argument[argument.index(after: equals)...])
            } else {
                path = argument
                guard let found = LanguagePair.of(directory: URL(fileURLWithPath: path)) else {
                    throw CommandError("--model \(path): cannot tell its language pair (no source_lang/target_lang, and the folder is not named like en-fr); pass --model SRC-TGT=\(path)")
                }
                pair = found
            }
            guard !specifications.contains(where: { $0.pair == pair }) else { throw CommandError("--model: two models for \(pair)") }
            specifications.append((pair, URL(fileURLWithPath: path)))
        }
        return specifications
    }

    func run() throws {
        computation.configure()
        let metrics = ServerMetrics()
        let limits = self.limits
        let policy = BatchingPolicy(maxSentences: batchSize, maxWait: .milliseconds(batchWait))
        let served = try modelSpecifications().map { pair, directory -> ServedModel in
            let translator: Translator
            do { translator = try Translator(directory: directory, computeType: computeType.weightType) } catch let error as ModelError {
                throw CommandError("--model \(directory.path): \(error.description)")
            }
            return ServedModel(pair: pair, translator: translator, directory: directory.path, policy: policy, limits: limits, metrics: metrics)
        }
        let server = TranslationServer(catalog: ModelCatalog(served), limits: limits, metrics: metrics)
        let (host, port) = (self.host, self.port)
        let pairs = served.map { "\($0.pair) (\($0.directory))" }.joined(separator: ", ")
        let outcome = Outcome()
        let done = DispatchSemaphore(value: 0)
        // The command runs synchronously; the server runs in Swift concurrency until a signal.
        Task.detached {
            do {
                try await server.run(host: host, port: port) { boundPort in
                    print("nmt serve: \(pairs) on http://\(host):\(boundPort)")
                    fflush(stdout)
                }
            } catch {
                outcome.error = error
            }
            done.signal()
        }
        done.wait()
        if let error = outcome.error { throw CommandError("cannot serve on \(host):\(port): \(error)") }
        printError("nmt serve: stopped after answering every request in flight")
    }

    private final class Outcome: @unchecked Sendable {
        var error: Error?
    }
}
