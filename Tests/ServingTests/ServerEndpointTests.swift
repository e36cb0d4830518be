import Foundation
import TestSupport
import XCTest

/// Every endpoint of the real `nmt serve` (the built binary on a free loopback port), and
/// LibreTranslate's request and response shapes exactly.
final class ServerEndpointTests: SharedServerTestCase {
    /// The keys of a JSON object, sorted.
    func keys(_ object: Any?) -> [String] { ((object as? [String: Any])?.keys).map { $0.sorted() } ?? [] }

    func testLibreTranslateSingleText() throws {
        let reply = try server.post("/translate", json: ["q": "I am a student.", "source": "en", "target": "fr", "format": "text"])
        XCTAssertEqual(reply.status, 200, reply.text)
        XCTAssertEqual(reply.headers["content-type"], "application/json; charset=utf-8")
        XCTAssertEqual(keys(reply.json), ["translatedText"], "exactly LibreTranslate's keys")
        XCTAssertEqual(reply.object["translatedText"] as? String, "Je suis étudiant.")
    }

    func testLibreTranslateListOfTexts() throws {
        let reply = try server.post("/translate", json: ["q": ["I am a student.", "How are you?"], "source": "en", "target": "fr"])
        XCTAssertEqual(reply.status, 200, reply.text)
        XCTAssertEqual(keys(reply.json), ["translatedText"])
        XCTAssertEqual(reply.object["translatedText"] as? [String], ["Je suis étudiant.", "Comment allez-vous ?"])
    }

    func testLibreTranslateAlternatives() throws {
        let single = try server.post("/translate", json: ["q": "How are you?", "source": "en", "target": "fr", "alternatives": 2])
        XCTAssertEqual(single.status, 200, single.text)
        XCTAssertEqual(keys(single.json), ["alternatives", "translatedText"])
        XCTAssertEqual(single.object["translatedText"] as? String, "Comment allez-vous ?")
        // The n-best of `nmt translate --n-best 3` after the first.
        XCTAssertEqual(single.object["alternatives"] as? [String], ["Comment vas-tu ?", "Comment ça va ?"])
        let list = try server.post("/translate", json: ["q": ["How are you?", "I am a student."], "source": "en", "target": "fr", "alternatives": 1])
        XCTAssertEqual(list.status, 200, list.text)
        let alternatives = try XCTUnwrap(list.object["alternatives"] as? [[String]], "a list of alternatives per text")
        XCTAssertEqual(alternatives.count, 2)
        XCTAssertEqual(alternatives[0], ["Comment vas-tu ?"])
        XCTAssertEqual(alternatives[1].count, 1)
    }

    func testLibreTranslateAutoSourceAndForm() throws {
        let auto = try server.post("/translate", json: ["q": "I am a student.", "source": "auto", "target": "fr"])
        XCTAssertEqual(auto.status, 200, auto.text)
        XCTAssertEqual(keys(auto.json), ["detectedLanguage", "translatedText"])
        let detected = try XCTUnwrap(auto.object["detectedLanguage"] as? [String: Any])
        XCTAssertEqual(keys(detected), ["confidence", "language"])
        XCTAssertEqual(detected["language"] as? String, "en")
        // libretranslatepy and HTML forms send the fields form-encoded.
        let form = try server.post("/translate", raw: "q=I+am+a+student.&source=en&target=fr&api_key=", contentType: "application/x-www-form-urlencoded")
        XCTAssertEqual(form.status, 200, form.text)
        XCTAssertEqual(form.object["translatedText"] as? String, "Je suis étudiant.")
    }

    func testParagraphsAreSplitTranslatedAndPutBack() throws {
        let text = "My name is Anna. I live in Paris. I work in a bank. I have two cats. They are black.\n\nMr. Smith is here."
        let reply = try server.post("/translate", json: ["q": text, "source": "en", "target": "fr"])
        XCTAssertEqual(reply.status, 200, reply.text)
        let translated = try XCTUnwrap(reply.object["translatedText"] as? String)
        let paragraphs = translated.components(separatedBy: "\n\n")
        XCTAssertEqual(paragraphs.count, 2, translated)
        XCTAssertTrue(paragraphs[0].hasPrefix("Mon nom est Anna. Je vis à Paris. "), translated)
        XCTAssertTrue(paragraphs[0].hasSuffix(" Ils sont noir."), "the last sentence is not lost: \(translated)")
        let detailed = try server.post("/v1/translate", json: ["q": text])
        let sentences = try XCTUnwrap(((detailed.object["translations"] as? [[String: Any]])?.first?["sentences"]) as? [[String: Any]])
        XCTAssertEqual(sentences.map { $0["source"] as? String }, ["My name is Anna.", "I live in Paris.", "I work in a bank.", "I have two cats.",
                                                                  "They are black.", "Mr. Smith is here."])
    }

    func testLanguages() throws {
        let reply = try server.get("/languages")
        XCTAssertEqual(reply.status, 200)
        let languages = try XCTUnwrap(reply.json as? [[String: Any]])
        XCTAssertEqual(languages.map(keys), [["code", "name", "targets"], ["code", "name", "targets"]])
        XCTAssertEqual(languages.map { $0["code"] as? String }, ["en", "fr"])
        XCTAssertEqual(languages.map { $0["name"] as? String }, ["English", "French"])
        XCTAssertEqual(languages.map { $0["targets"] as? [String] }, [["fr"], []])
    }

    func testV1TranslateIsWhatTranslatePrints() throws {
        let reply = try server.post("/v1/translate", json: ["q": "How are you?", "beam": 4, "n_best": 3, "split": false])
        XCTAssertEqual(reply.status, 200, reply.text)
        XCTAssertEqual(reply.object["model"] as? String, "en-fr")
        let translation = try XCTUnwrap((reply.object["translations"] as? [[String: Any]])?.first)
        XCTAssertEqual(translation["text"] as? String, "Comment allez-vous ?")
        let sentence = try XCTUnwrap((translation["sentences"] as? [[String: Any]])?.first)
        // The same object `nmt translate --format json --n-best 3` prints for the line.
        let command = try NMTProcess.run(["translate", "--format", "json", "--n-best", "3", "How are you?"])
        XCTAssertEqual(command.status, 0, command.standardError)
        let expected = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(command.standardOutput.utf8)) as? NSDictionary)
        XCTAssertEqual(sentence as NSDictionary, expected)
    }

    func testV1Attention() throws {
        let reply = try server.post("/v1/attention", json: ["q": "I am a student."])
        XCTAssertEqual(reply.status, 200, reply.text)
        XCTAssertEqual(reply.object["translation"] as? String, "Je suis étudiant.")
        let translated = try server.post("/v1/translate", json: ["q": "I am a student.", "split": false])
        let tokens = ((translated.object["translations"] as? [[String: Any]])?.first?["sentences"] as? [[String: Any]])?.first
            .flatMap { ($0["translations"] as? [[String: Any]])?.first?["tokens"] as? [String] }
        XCTAssertEqual(reply.object["output_tokens"] as? [String], tokens, "what each decoder step chose: the translation's pieces")
        // Every key and table of `nmt attention --layer all --head all --format json`, the same numbers.
        let command = try NMTProcess.run(["attention", "I am a student.", "--layer", "all", "--head", "all", "--format", "json"])
        XCTAssertEqual(command.status, 0, command.standardError)
        let expected = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(command.standardOutput.utf8)) as? [String: Any])
        for key in ["source_tokens", "target_tokens", "tables"] {
            XCTAssertEqual(reply.object[key] as? NSArray, expected[key] as? NSArray, key)
        }
        let tables = try XCTUnwrap(reply.object["tables"] as? [[String: Any]])
        XCTAssertEqual(tables.count, 3 * 3 * 4, "3 kinds × 3 layers × 4 heads")
        let forced = try server.post("/v1/attention", json: ["q": "I am a student.", "translation": "Je suis un étudiant.", "words": true])
        XCTAssertEqual(forced.status, 200, forced.text)
        XCTAssertEqual(forced.object["translation"] as? String, "Je suis un étudiant.")
        XCTAssertEqual(forced.object["output_tokens"] as? [String], ["Je", "suis", "un", "étudiant.", "</s>"], "merged into words")
    }

    func testV1Walkthrough() throws {
        let reply = try server.post("/v1/walkthrough", json: ["q": "I am a student."])
        XCTAssertEqual(reply.status, 200, reply.text)
        XCTAssertEqual(reply.object["translation"] as? String, "Je suis étudiant.")
        XCTAssertEqual(keys(reply.json), ["cross_attention", "decoder_self_attention", "embedding_scale", "encoder_self_attention",
                                         "generation", "sentence", "source_pieces", "translation"])
        let steps = try XCTUnwrap(reply.object["generation"] as? [[String: Any]])
        XCTAssertEqual(steps.count, 5, "Je · suis · étudiant · . · </s>")
    }

    func testHealthMetricsOpenAPIAndPage() throws {
        let health = try server.get("/health")
        XCTAssertEqual(health.status, 200)
        XCTAssertEqual(health.object["status"] as? String, "ok")
        _ = try server.post("/translate", json: ["q": "Hello.", "source": "en", "target": "fr"])
        _ = try server.post("/translate", json: ["q": 5])
        let metrics = try server.get("/metrics")
        XCTAssertEqual(metrics.status, 200)
        XCTAssertTrue(metrics.headers["content-type"]?.hasPrefix("text/plain") == true)
        for name in ["nmt_http_requests_total{route=\"/translate\",status=\"200\"}", "nmt_http_errors_total{route=\"/translate\",class=\"client\"}",
                     "nmt_http_request_duration_seconds_bucket", "nmt_batch_sentences_bucket", "nmt_batch_sentences_sum",
                     "nmt_batch_sentences_count", "nmt_batch_sentences_mean", "nmt_queue_sentences", "nmt_translated_sentences_total"] {
            XCTAssertTrue(metrics.text.contains(name), "\(name) in /metrics")
        }
        let document = try server.get("/openapi.json")
        XCTAssertEqual(document.status, 200)
        let paths = try XCTUnwrap(document.object["paths"] as? [String: Any])
        XCTAssertEqual(paths.keys.sorted(), ["/", "/health", "/languages", "/metrics", "/openapi.json", "/translate",
                                             "/v1/attention", "/v1/translate", "/v1/walkthrough"])
        let page = try server.get("/")
        XCTAssertEqual(page.status, 200)
        XCTAssertEqual(page.headers["content-type"], "text/html; charset=utf-8")
        XCTAssertTrue(page.text.contains("id=\"translate\""))
        XCTAssertFalse(page.text.contains("http://") || page.text.contains("https://"), "nothing loaded from elsewhere")
    }
}
