import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import NMT
import Tensor
import TestSupport
import XCTest

/// The attention tables against transformers' attention probabilities on the marian-tiny fixture,
/// and the renderers, word merging, SVG and alignment on small hand-made tables.
final class AttentionInspectionTests: XCTestCase {
    // MARK: the fixture's attention

    func testTablesEqualTransformersAttentionOnTheFixture() throws {
        Parallel.configure(threads: 2)
        let model = try ModelDirectory.loadModel(from: Fixtures.url("marian-tiny"))
        let expected = try SafeTensorsFile(contentsOf: Fixtures.url("marian-tiny/expected.safetensors"))
        let pad = model.config.padId
        func rows(_ name: String) throws -> [[Int]] {
            let shape = try expected.shape(name), flat = try expected.int64s(name).map(Int.init)
            return (0..<shape[0]).map { Array(flat[$0 * shape[1]..<($0 + 1) * shape[1]]) }
        }
        let sources = zip(try rows("src_ids"), try rows("src_mask")).map { ids, mask in Array(ids[..<mask.reduce(0, +)]) }
        let decoderInputs = try rows("decoder_input_ids"), labels = try rows("labels")
        var worst: Float = 0
        for b in 0..<2 {
            // The decoder rows whose label is not pad: the real target positions.
            let output = labels[b].filter { $0 != pad }
            let recording = AttentionRecording(model: model, sourceIds: sources[b], outputIds: output)
            XCTAssertEqual(recording.decoderInputIds, Array(decoderInputs[b][..<output.count]), "the fixture's teacher-forced decoder input")
            let names = { (ids: [Int]) in TokenSequence(pieces: ids.map { "▁\($0)" }, isSpecial: ids.map(recording.specialIds.contains)) }
            let source = names(recording.sourceIds), target = names(recording.decoderInputIds)
            for heads in [HeadSelection.all, .mean] {
                let tables = try recording.tables(kinds: AttentionKind.allCases, layers: .all, heads: heads,
                                                  source: source, target: target, words: false)
                XCTAssertEqual(tables.count, 3 * 2 * (heads == .all ? 4 : 1))
                for table in tables {
                    let name = ["encoder": "encoder_self_attention", "decoder": "decoder_self_attention", "cross": "cross_attention"][table.kind.rawValue]!
                    let reference = try expected.floats("\(name).\(table.layer)")
                    let shape = try expected.shape("\(name).\(table.layer)")  // (B, H, rows, columns)
                    let (H, R, C) = (shape[1], shape[2], shape[3])
                    for (r, row) in table.weights.enumerated() {
                        XCTAssertEqual(row.reduce(0, +), 1, accuracy: 1e-5, "\(table.title) row \(r) sums to 1")
                        for (c, weight) in row.enumerated() {
                            let heads: [Int]
                            switch table.head {
                            case .index(let h): heads = [h]
                            case .mean: heads = Array(0..<H)
                            }
                            let value = heads.map { reference[((b * H + $0) * R + r) * C + c] }.reduce(0, +) / Float(heads.count)
                            worst = max(worst, abs(weight - value))
                            XCTAssertEqual(weight, value, accuracy: 1e-4, "\(table.title), sentence \(b), [\(r), \(c)]")
                        }
                    }
                }
            }
        }
        print("Largest |table − transformers' attention|: \(worst)")
    }

    func testOutOfRangeLayerAndHeadNameTheValidRange() throws {
        let model = try ModelDirectory.loadModel(from: Fixtures.url("marian-tiny"))
        let recording = AttentionRecording(model: model, sourceIds: [5, 6, 0], outputIds: [7, 0])
        XCTAssertThrowsError(try recording.layers(.index(2), of: .encoder)) {
            XCTAssertEqual("\($0)", "layer 2 is out of range: the encoder has layers 0–1")
        }
        XCTAssertThrowsError(try recording.heads(.index(4), of: .cross)) {
            XCTAssertEqual("\($0)", "head 4 is out of range: the encoder–decoder attention has heads 0–3")
        }
        XCTAssertEqual(try recording.layers(.last, of: .decoder), [1])
    }

    // MARK: renderers

    /// Two small tables with hand-picked weights: a piece that needs quoting in CSV, a masked cell.
    let tables = [
        AttentionTable(kind: .encoder, layer: 1, head: .mean, rows: ["▁I", ",", "</s>"], columns: ["▁I", ",", "</s>"],
                       weights: [[0.5, 0.3, 0.2], [0.1, 0.7, 0.2], [0.25, 0.35, 0.4]]),
        AttentionTable(kind: .decoder, layer: 0, head: .index(2), rows: ["<pad>", "▁Je"], columns: ["<pad>", "▁Je"],
                       weights: [[1, 0], [0.4, 0.6]]),
    ]

    func testTextGolden() {
        XCTAssertEqual(AttentionRenderer().text(tables), """
            encoder self-attention · layer 1 · mean of heads
                   ▁I     ,  </s>
            ▁I   0.50* 0.30  0.20
            ,    0.10  0.70* 0.20
            </s> 0.25  0.35  0.40*

            decoder masked self-attention · layer 0 · head 2
                  <pad>    ▁Je
            <pad>  1.00*     ·
            ▁Je    0.40   0.60*

            """)
    }

    func testTextSplitsWideTablesAndShadesOnRequest() {
        let narrow = AttentionRenderer(precision: 1, maxWidth: 16).text([tables[0]])
        XCTAssertEqual(narrow, """
            encoder self-attention · layer 1 · mean of heads
                   ▁I     ,
            ▁I    0.5*  0.3
            ,     0.1   0.7*
            </s>  0.2   0.3

                 </s>
            ▁I    0.2
            ,     0.2
            </s>  0.4*

            """)
        let shaded = AttentionRenderer(shading: .ansi).text([tables[0]])
        XCTAssertTrue(shaded.contains("\u{1B}[48;5;"), "heavy cells get a background")
        XCTAssertEqual(shaded.replacingOccurrences(of: "\u{1B}\\[[0-9;]*m", with: "", options: .regularExpression),
                       AttentionRenderer().text([tables[0]]), "shading changes colours only")
    }

    func testMarkdownGolden() {
        XCTAssertEqual(AttentionRenderer().markdown(tables), """
            **encoder self-attention · layer 1 · mean of heads**

            | | `▁I` | `,` | `</s>` |
            | --- | ---: | ---: | ---: |
            | `▁I` | **0.50** | 0.30 | 0.20 |
            | `,` | 0.10 | **0.70** | 0.20 |
            | `</s>` | 0.25 | 0.35 | **0.40** |

            **decoder masked self-attention · layer 0 · head 2**

            | | `<pad>` | `▁Je` |
            | --- | ---: | ---: |
            | `<pad>` | **1.00** | · |
            | `▁Je` | 0.40 | **0.60** |

            """)
    }

    func testCSVGolden() {
        XCTAssertEqual(AttentionRenderer().csv(tables), """
            kind,layer,head,row,column,row_token,column_token,weight
            encoder,1,mean,0,0,▁I,▁I,0.50
            encoder,1,mean,0,1,▁I,",",0.30
            encoder,1,mean,0,2,▁I,</s>,0.20
            encoder,1,mean,1,0,",",▁I,0.10
            encoder,1,mean,1,1,",",",",0.70
            encoder,1,mean,1,2,",",</s>,0.20
            encoder,1,mean,2,0,</s>,▁I,0.25
            encoder,1,mean,2,1,</s>,",",0.35
            encoder,1,mean,2,2,</s>,</s>,0.40
            decoder,0,2,0,0,<pad>,<pad>,1.00
            decoder,0,2,0,1,<pad>,▁Je,0.00
            decoder,0,2,1,0,▁Je,<pad>,0.40
            decoder,0,2,1,1,▁Je,▁Je,0.60

            """)
    }

    func testJSONGoldenKeepsEveryDigit() throws {
        let json = AttentionRenderer.json(sourceTokens: ["▁I", ",", "</s>"], targetTokens: ["<pad>", "▁Je"], tables: tables)
        XCTAssertEqual(json, """
            {"source_tokens": ["▁I", ",", "</s>"], "target_tokens": ["<pad>", "▁Je"], "tables": [\
            {"kind": "encoder", "layer": 1, "head": "mean", "rows": ["▁I", ",", "</s>"], "columns": ["▁I", ",", "</s>"], \
            "weights": [[0.5, 0.3, 0.2], [0.1, 0.7, 0.2], [0.25, 0.35, 0.4]]}, \
            {"kind": "decoder", "layer": 0, "head": 2, "rows": ["<pad>", "▁Je"], "columns": ["<pad>", "▁Je"], \
            "weights": [[1.0, 0.0], [0.4, 0.6]]}]}

            """)
        // Any Float comes back exactly, and strings are escaped.
        let awkward = AttentionTable(kind: .cross, layer: 0, head: .mean, rows: ["\"q\"\\\n"], columns: ["a", "b"],
                                     weights: [[0.123456789, 1 - 0.123456789]])
        let parsed = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(AttentionRenderer.json(sourceTokens: [], targetTokens: [], tables: [awkward]).utf8)) as? [String: Any])
        let table = try XCTUnwrap((parsed["tables"] as? [[String: Any]])?.first)
        XCTAssertEqual(table["rows"] as? [String], ["\"q\"\\\n"])
        let weights = try XCTUnwrap(table["weights"] as? [[Double]])
        XCTAssertEqual(weights[0].map(Float.init), awkward.weights[0])
    }

    func testPrintedRowsSumToOneWithinRounding() throws {
        let model = try ModelDirectory.loadModel(from: Fixtures.url("marian-tiny"))
        let recording = AttentionRecording(model: model, sourceIds: [23, 40, 30, 15, 0], outputIds: [50, 45, 5, 0])
        let names = { (ids: [Int]) in TokenSequence(pieces: ids.map { "▁\($0)" }, isSpecial: ids.map(recording.specialIds.contains)) }
        let tables = try recording.tables(kinds: AttentionKind.allCases, layers: .all, heads: .all,
                                          source: names(recording.sourceIds), target: names(recording.decoderInputIds), words: false)
        for line in AttentionRenderer(precision: 2).csv(tables).split(separator: "\n").dropFirst() {
            XCTAssertEqual(line.split(separator: ",").last.map(String.init)?.count, 4, "two decimals: \(line)")
        }
        let text = AttentionRenderer(precision: 2).text(tables)
        let numberRows = text.split(separator: "\n").filter { $0.hasPrefix("▁") }
        XCTAssertEqual(numberRows.count, tables.map(\.rows.count).reduce(0, +))
        for row in numberRows {
            let numbers = row.split(separator: " ").dropFirst().compactMap { Double($0.replacingOccurrences(of: "*", with: "")) }
            // Each printed number is off by at most half a unit in the last place.
            XCTAssertEqual(numbers.reduce(0, +), 1, accuracy: 0.005 * Double(numbers.count) + 1e-9, String(row))
            XCTAssertEqual(row.filter { $0 == "*" }.count, 1, "one maximum marked: \(row)")
        }
    }

    // MARK: words

    func testWordsMergeSumsAttendedAndAveragesAttendingPieces() {
        let source = TokenSequence(pieces: ["▁stud", "ent", "▁is", "</s>"], isSpecial: [false, false, false, true])
        let target = TokenSequence(pieces: ["<pad>", "▁ét", "udi", "ant"], isSpecial: [true, false, false, false])
        XCTAssertEqual(source.words, ["student", "is", "</s>"])
        XCTAssertEqual(source.wordOfPiece, [0, 0, 1, 2])
        XCTAssertEqual(target.words, ["<pad>", "étudiant"])
        XCTAssertEqual(target.wordIsSpecial, [true, false])
        let table = AttentionTable(kind: .cross, layer: 0, head: .mean, rows: target.pieces, columns: source.pieces, weights: [
            [0.1, 0.2, 0.3, 0.4],
            [0.5, 0.1, 0.2, 0.2],
            [0.2, 0.6, 0.1, 0.1],
            [0.3, 0.3, 0.3, 0.1],
        ])
        let merged = table.mergingWords(rows: target, columns: source)
        XCTAssertEqual(merged.rows, ["<pad>", "étudiant"])
        XCTAssertEqual(merged.columns, ["student", "is", "</s>"])
        // <pad>: student 0.1 + 0.2; étudiant: the mean of (0.6, 0.2, 0.2), (0.8, 0.1, 0.1), (0.6, 0.3, 0.1).
        let expected: [[Float]] = [[0.3, 0.3, 0.4], [2.0 / 3, 0.2, 0.4 / 3]]
        for (row, expectedRow) in zip(merged.weights, expected) {
            for (weight, value) in zip(row, expectedRow) { XCTAssertEqual(weight, value, accuracy: 1e-6) }
            XCTAssertEqual(row.reduce(0, +), 1, accuracy: 1e-6)
        }
    }

    func testSpecialTokensAreWordsOfTheirOwn() {
        let tokens = TokenSequence(pieces: ["<pad>", "ant", "▁x", "</s>", "y"], isSpecial: [true, false, false, true, false])
        XCTAssertEqual(tokens.words, ["<pad>", "ant", "x", "</s>", "y"])
        let spelled = TokenSequence(pieces: ["▁a", "b"], isSpecial: [false, false]) { "<\($0.lowerBound)…\($0.upperBound)>" }
        XCTAssertEqual(spelled.words, ["<0…2>"])
    }

    // MARK: SVG

    func testSVGIsWellFormedWithOneCellPerWeight() throws {
        #if canImport(FoundationXML) || os(macOS)
        let svg = AttentionSVG.render(tables)
        final class Counter: NSObject, XMLParserDelegate {
            var cells = 0, texts: [String] = [], current = ""
            func parser(_ parser: XMLParser, didStartElement element: String, namespaceURI: String?, qualifiedName: String?,
                        attributes: [String: String] = [:]) {
                if element == "rect" && attributes["class"] == "cell" { cells += 1 }
                current = ""
            }
            func parser(_ parser: XMLParser, foundCharacters string: String) { current += string }
            func parser(_ parser: XMLParser, didEndElement element: String, namespaceURI: String?, qualifiedName: String?) {
                if element == "text" { texts.append(current) }
            }
        }
        let parser = XMLParser(data: Data(svg.utf8))
        let counter = Counter()
        parser.delegate = counter
        XCTAssertTrue(parser.parse(), "not well-formed XML: \(String(describing: parser.parserError))")
        XCTAssertEqual(counter.cells, tables.map { $0.rows.count * $0.columns.count }.reduce(0, +))
        XCTAssertEqual(svg.components(separatedBy: "<rect").count - 1, counter.cells, "no rect but the cells")
        XCTAssertTrue(counter.texts.contains("</s>"), "labels are escaped, not dropped")
        XCTAssertTrue(counter.texts.contains(tables[1].title))
        #endif
    }

    // MARK: alignment

    func testPharaohAlignmentSkipsSpecialRowsAndColumns() {
        let table = AttentionTable(kind: .cross, layer: 1, head: .mean,
                                   rows: ["▁Je", "▁suis", "▁étudiant", ".", "</s>"],
                                   columns: ["▁I", "▁am", "▁a", "▁student", ".", "</s>"],
                                   weights: [
                                       [0.70, 0.10, 0.05, 0.05, 0.05, 0.05],
                                       [0.10, 0.60, 0.20, 0.05, 0.03, 0.02],
                                       [0.05, 0.05, 0.30, 0.50, 0.05, 0.05],
                                       [0.02, 0.03, 0.05, 0.10, 0.30, 0.50],  // </s> is heaviest, but never aligned
                                       [0.00, 0.00, 0.00, 0.10, 0.10, 0.80],
                                   ])
        XCTAssertEqual(table.pharaohAlignment(rowIsSpecial: [false, false, false, false, true],
                                              columnIsSpecial: [false, false, false, false, false, true]),
                       "0-0 1-1 3-2 4-3")
    }
}
