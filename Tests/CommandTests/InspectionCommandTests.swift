import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import NMT
import Tensor
import TestSupport
import XCTest

/// `nmt attention` and `nmt walkthrough` run as the built binary, on two model directories:
/// the marian-tiny fixture with a tokenizer.json written here for its 53 ids (piece "▁wK" is id
/// K, so the text "w23 w40" encodes to ids 23 40), whose printed attention must equal
/// transformers'; and TranslateCommandTests' model with a learned BPE tokenizer, whose pieces
/// merge into words.
final class InspectionCommandTests: XCTestCase {
    static var fixtureModel: URL!
    static var bpeModel: URL!

    override class func setUp() {
        super.setUp()
        fixtureModel = try! makeFixtureModelDirectory()
        bpeModel = try! TranslateCommandTests.makeModelDirectory()
    }

    override class func tearDown() {
        for directory in [fixtureModel, bpeModel].compactMap({ $0 }) { try? FileManager.default.removeItem(at: directory) }
        super.tearDown()
    }

    static func makeFixtureModelDirectory() throws -> URL {
        let directory = try Fixtures.temporaryDirectory("nmt-inspection")
        for file in ["config.json", "model.safetensors", "generation_config.json"] {
            try FileManager.default.copyItem(at: Fixtures.url("marian-tiny/\(file)"), to: directory.appendingPathComponent(file))
        }
        var vocabulary: [String: Int] = ["</s>": 0, "<unk>": 1, "<pad>": 52]
        for id in 2...51 { vocabulary["▁w\(id)"] = id }
        let special = { (id: Int, content: String) -> [String: Any] in
            ["id": id, "content": content, "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true]
        }
        let tokenizer: [String: Any] = [
            "version": "1.0", "truncation": NSNull(), "padding": NSNull(),
            "added_tokens": [special(0, "</s>"), special(1, "<unk>"), special(52, "<pad>")],
            "normalizer": NSNull(),
            "pre_tokenizer": ["type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": true],
            "post_processor": NSNull(),
            "decoder": ["type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": true],
            "model": ["type": "BPE", "dropout": NSNull(), "unk_token": "<unk>", "continuing_subword_prefix": NSNull(),
                      "end_of_word_suffix": NSNull(), "fuse_unk": true, "byte_fallback": false, "ignore_merges": true,
                      "vocab": vocabulary, "merges": [[String]]()],
        ]
        try JSONSerialization.data(withJSONObject: tokenizer, options: [.sortedKeys])
            .write(to: directory.appendingPathComponent("tokenizer.json"))
        return directory
    }

    func nmt(_ arguments: [String]) throws -> NMTProcess.Outcome {
        try NMTProcess.run(arguments, timeout: 60)
    }

    /// The text of fixture ids: "w23 w40 …".
    func text(_ ids: [Int]) -> String { ids.map { "w\($0)" }.joined(separator: " ") }

    // MARK: nmt attention

    func testPrintedAttentionEqualsTransformersOnTheFixture() throws {
        let expected = try SafeTensorsFile(contentsOf: Fixtures.url("marian-tiny/expected.safetensors"))
        let sources: [[Int]] = [[23, 40, 30, 15, 32, 4, 19, 22], [51, 44, 29, 42, 20]]
        let targets: [[Int]] = [[50, 45, 5, 34, 35, 17], [5, 26, 11, 2]]
        XCTAssertEqual(try expected.int64s("src_ids").map(Int.init), sources[0] + [0] + sources[1] + [0, 52, 52, 52], "the fixture's sources")
        XCTAssertEqual(try expected.int64s("labels").map(Int.init), targets[0] + [0] + targets[1] + [0, 52, 52], "the fixture's targets")
        var worst: Float = 0
        for b in 0..<2 {
            let outcome = try nmt(["attention", "--model", Self.fixtureModel.path, text(sources[b]), "--target", text(targets[b]),
                                   "--kind", "all", "--layer", "all", "--head", "all", "--format", "json"])
            XCTAssertEqual(outcome.status, 0, outcome.standardError)
            let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(outcome.standardOutput.utf8)) as? [String: Any])
            XCTAssertEqual(object["source_tokens"] as? [String], sources[b].map { "▁w\($0)" } + ["</s>"])
            XCTAssertEqual(object["target_tokens"] as? [String], ["<pad>"] + targets[b].map { "▁w\($0)" })
            let tables = try XCTUnwrap(object["tables"] as? [[String: Any]])
            XCTAssertEqual(tables.count, 3 * 2 * 4, "3 kinds × 2 layers × 4 heads")
            for table in tables {
                let kind = try XCTUnwrap(table["kind"] as? String), layer = try XCTUnwrap(table["layer"] as? Int)
                let head = try XCTUnwrap(table["head"] as? Int)
                let weights = try XCTUnwrap(table["weights"] as? [[Double]])
                let name = ["encoder": "encoder_self_attention", "decoder": "decoder_self_attention", "cross": "cross_attention"][kind]!
                let reference = try expected.floats("\(name).\(layer)")
                let shape = try expected.shape("\(name).\(layer)")  // (B, H, rows, columns)
                let (H, R, C) = (shape[1], shape[2], shape[3])
                XCTAssertEqual(weights.count, kind == "encoder" ? sources[b].count + 1 : targets[b].count + 1)
                for (r, row) in weights.enumerated() {
                    for (c, weight) in row.enumerated() {
                        let difference = abs(Float(weight) - reference[((b * H + head) * R + r) * C + c])
                        worst = max(worst, difference)
                        XCTAssertLessThanOrEqual(difference, 1e-4, "\(kind) layer \(layer) head \(head), sentence \(b), [\(r), \(c)]")
                    }
                }
            }
        }
        print("Largest |nmt attention − transformers' attention|: \(worst)")
    }

    func testWordTablesAlignmentAndSVG() throws {
        let directory = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let svg = directory.appendingPathComponent("attention.svg")
        let words = try nmt(["attention", "--model", Self.bpeModel.path, "I am a student.", "--target", "Je suis étudiant.",
                             "--words", "--svg", svg.path])
        XCTAssertEqual(words.status, 0, words.standardError)
        let lines = words.standardOutput.split(separator: "\n", omittingEmptySubsequences: false)
        for kind in AttentionKind.allCases {
            XCTAssertTrue(lines.contains { $0 == "\(kind.title) · layer 0 · mean of heads" }, "\(kind) table")
        }
        // Rows of the word tables: the source words, then the start token and the target words.
        let rowLabels = lines.filter { $0.contains("*") }.map { $0.split(separator: " ")[0] }
        XCTAssertEqual(rowLabels, ["I", "am", "a", "student.", "</s>"] + ["<pad>", "Je", "suis", "étudiant."] + ["<pad>", "Je", "suis", "étudiant."])
        for line in lines where line.contains("*") {
            let numbers = line.split(separator: " ").compactMap { Double($0.replacingOccurrences(of: "*", with: "")) }
            XCTAssertEqual(numbers.reduce(0, +), 1, accuracy: 0.005 * Double(numbers.count), String(line))
        }

        #if canImport(FoundationXML) || os(macOS)
        let parser = try XCTUnwrap(XMLParser(contentsOf: svg))
        XCTAssertTrue(parser.parse(), "the SVG is well-formed XML")
        #endif
        XCTAssertEqual(try String(contentsOf: svg, encoding: .utf8).components(separatedBy: "<rect class=\"cell\"").count - 1,
                       5 * 5 + 4 * 4 + 4 * 5, "one cell per weight")

        for extra in [[], ["--words"], ["--layer", "0", "--head", "1"]] {
            let align = try nmt(["attention", "--model", Self.bpeModel.path, "I am a student.", "--target", "Je suis étudiant.", "--align"] + extra)
            XCTAssertEqual(align.status, 0, align.standardError)
            XCTAssertNotNil(align.standardOutput.range(of: #"^\d+-\d+( \d+-\d+)*\n$"#, options: .regularExpression),
                            "Pharaoh pairs: \(align.standardOutput)")
        }
        let wordAlignment = try nmt(["attention", "--model", Self.bpeModel.path, "I am a student.", "--target", "Je suis étudiant.", "--align", "--words"])
        let pairs = wordAlignment.standardOutput.split(whereSeparator: \.isWhitespace)
        XCTAssertEqual(pairs.map { $0.split(separator: "-")[1] }, ["0", "1", "2"], "each of the three target words aligned once, in order")
        XCTAssertTrue(pairs.allSatisfy { Int($0.split(separator: "-")[0])! < 4 }, "never to </s> (source word 4)")
    }

    func testOtherFormatsAndTheModelsOwnTranslation() throws {
        let translation = try nmt(["translate", "--model", Self.fixtureModel.path, "w23 w40 w30"]).standardOutput
        let json = try nmt(["attention", "--model", Self.fixtureModel.path, "w23 w40 w30", "--kind", "cross", "--format", "json"])
        XCTAssertEqual(json.status, 0, json.standardError)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as? [String: Any])
        let targetTokens = try XCTUnwrap(object["target_tokens"] as? [String])
        // The decoder reads the start token and the translation without its </s>.
        XCTAssertEqual(targetTokens.dropFirst().map { String($0.dropFirst()) }.joined(separator: " ") + "\n", translation)
        let tables = try XCTUnwrap(object["tables"] as? [[String: Any]])
        XCTAssertEqual(tables.count, 1)
        XCTAssertEqual(tables[0]["head"] as? String, "mean")
        XCTAssertEqual(tables[0]["layer"] as? Int, 1, "the last layer by default")

        let markdown = try nmt(["attention", "--model", Self.fixtureModel.path, "w23 w40 w30", "--kind", "encoder", "--format", "markdown", "--precision", "3"])
        XCTAssertEqual(markdown.status, 0, markdown.standardError)
        XCTAssertTrue(markdown.standardOutput.contains("| `▁w23` |"), markdown.standardOutput)
        let csv = try nmt(["attention", "--model", Self.fixtureModel.path, "w23 w40 w30", "--kind", "decoder", "--head", "0", "--format", "csv"])
        XCTAssertEqual(csv.status, 0, csv.standardError)
        XCTAssertTrue(csv.standardOutput.hasPrefix("kind,layer,head,row,column,row_token,column_token,weight\ndecoder,1,0,0,0,<pad>,<pad>,1.00\n"),
                      csv.standardOutput)
    }

    func testBadLayerHeadAndOptionsAreOneLineErrors() throws {
        let model = Self.fixtureModel.path
        for (arguments, expected) in [(["--layer", "2"], "layer 2 is out of range: the encoder has layers 0–1"),
                                      (["--kind", "cross", "--head", "4"], "head 4 is out of range: the encoder–decoder attention has heads 0–3"),
                                      (["--align", "--layer", "5"], "layer 5 is out of range: the decoder has layers 0–1")] {
            let outcome = try nmt(["attention", "--model", model, "w23 w40"] + arguments)
            XCTAssertNotEqual(outcome.status, 0, "\(arguments)")
            XCTAssertEqual(outcome.standardError, "Error: \(expected)\n", "\(arguments)")
        }
        for bad in [["--layer", "x"], ["--head", "-1"], ["--precision", "12"], ["--align", "--head", "all"],
                    ["--align", "--format", "json"], ["--target", "w5", "--beam", "2"], ["--kind", "both"]] {
            let outcome = try nmt(["attention", "--model", model, "w23 w40"] + bad)
            XCTAssertNotEqual(outcome.status, 0, "\(bad)")
            XCTAssertFalse(outcome.standardError.isEmpty, "\(bad)")
        }
        for command in ["attention", "walkthrough"] {
            let empty = try nmt([command, "--model", model, "  "])
            XCTAssertNotEqual(empty.status, 0)
            XCTAssertEqual(empty.standardError.split(separator: "\n").count, 1, empty.standardError)
        }
    }

    // MARK: nmt walkthrough

    func testWalkthroughEndsWithWhatTranslateGives() throws {
        for (model, sentence) in [(Self.fixtureModel!, "w40 w4 w38 w7 w48"), (Self.bpeModel!, "I am a student.")] {
            let translation = try nmt(["translate", "--model", model.path, "--beam", "1", sentence])
            XCTAssertEqual(translation.status, 0, translation.standardError)
            for format in ["text", "markdown"] {
                let outcome = try nmt(["walkthrough", "--model", model.path, sentence, "--format", format])
                XCTAssertEqual(outcome.status, 0, outcome.standardError)
                let lines = outcome.standardOutput.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
                XCTAssertEqual(lines.last.map { $0 + "\n" }, Substring(translation.standardOutput), "\(model.lastPathComponent), \(format)")
                let headings = format == "text"
                    ? ["1. Pieces, ids and embeddings", "2. Encoder self-attention", "3. Decoder masked self-attention, as the output grows",
                       "4. Encoder–decoder attention", "5. Generation, step by step"]
                    : ["## 1. Pieces, ids and embeddings", "## 2. Encoder self-attention", "## 3. Decoder masked self-attention, as the output grows",
                       "## 4. Encoder–decoder attention", "## 5. Generation, step by step"]
                XCTAssertEqual(lines.filter { headings.contains(String($0)) }.map(String.init), headings, "the five steps in order")
                if format == "text" {
                    XCTAssertEqual(lines.filter { $0.count > 80 }, [], "fits an 80-column terminal")
                    XCTAssertFalse(lines.filter { $0.hasPrefix("    → ") }.isEmpty, "generation steps")
                }
            }
        }
    }

    func testWalkthroughOfTheFixtureGivesTransformersGreedyOutput() throws {
        // generate_src_ids row 3 and its greedy_ids row: start token, output, </s>, pad.
        let expected = try SafeTensorsFile(contentsOf: Fixtures.url("marian-tiny/expected.safetensors"))
        let sources = try expected.int64s("generate_src_ids").map(Int.init), greedy = try expected.int64s("greedy_ids").map(Int.init)
        let (sourceWidth, greedyWidth) = (try expected.shape("generate_src_ids")[1], try expected.shape("greedy_ids")[1])
        let source = sources[(3 * sourceWidth)...].prefix { $0 != 0 }, output = greedy[(3 * greedyWidth + 1)...].prefix { $0 != 0 }
        XCTAssertEqual(Array(source), [40, 4, 38, 7, 48])
        let outcome = try nmt(["walkthrough", "--model", Self.fixtureModel.path, text(Array(source))])
        XCTAssertEqual(outcome.status, 0, outcome.standardError)
        XCTAssertTrue(outcome.standardOutput.hasSuffix("    → </s>\n\nThe translation:\n\(text(Array(output)))\n"), outcome.standardOutput)
    }
}
