import Foundation
import TestSupport
import Tokenizers
import XCTest

/// Ids, unknown pieces and decoded text of SentencePiece models, against what the `sentencepiece`
/// package gives for the same strings (scripts/sentencepiece-parity.py wrote both the models and
/// the expected results). Not one difference is allowed.
///
/// The committed set (Tests/Fixtures/sentencepiece: six small models trained on synthetic text,
/// 1,000 strings) always runs. The full set — models trained on Tatoeba, 110,000 strings — runs
/// when NMT_SPM_PARITY names the folder the script wrote:
///
///     scripts/sentencepiece-parity.py .build/spm-parity
///     NMT_SPM_PARITY=.build/spm-parity swift test -c release --filter SentencePieceParityTests
final class SentencePieceParityTests: XCTestCase {
    func testCommittedCases() throws {
        let compared = try compareFolder(Fixtures.url("sentencepiece"))
        XCTAssertEqual(compared.models, 6)
        XCTAssertGreaterThanOrEqual(compared.strings, 1000)
    }

    func testGeneratedCases() throws {
        guard let path = ProcessInfo.processInfo.environment["NMT_SPM_PARITY"] else {
            throw XCTSkip("set NMT_SPM_PARITY to the folder scripts/sentencepiece-parity.py wrote")
        }
        let compared = try compareFolder(URL(fileURLWithPath: path))
        XCTAssertGreaterThanOrEqual(compared.strings, 100_000)
    }

    /// Compares every model of `folder/models` on every string of `folder/cases.txt`.
    func compareFolder(_ folder: URL) throws -> (models: Int, strings: Int) {
        let cases = try lines(of: folder.appendingPathComponent("cases.txt")).map(bytes(hex:))
        let expectedFolder = folder.appendingPathComponent("expected")
        let names = try FileManager.default.contentsOfDirectory(atPath: expectedFolder.path)
            .filter { $0.hasSuffix(".tsv") }.map { String($0.dropLast(4)) }.sorted()
        var differences: [String] = []
        var comparisons = 0
        let start = Date()
        for name in names {
            let model = try SentencePieceModel(contentsOf: folder.appendingPathComponent("models/\(name).model"))
            let expected = try lines(of: expectedFolder.appendingPathComponent("\(name).tsv"))
            XCTAssertEqual(expected.count, cases.count, name)
            var encoding = SentencePieceModel.Encoding()
            for (text, line) in zip(cases, expected) {
                comparisons += 1
                let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
                let ids = fields[0].split(separator: " ").map { Int($0)! }
                let unknown = fields[1].split(separator: ",").map { bytes(hex: $0) }
                let decoded = bytes(hex: fields[2])

                text.withUnsafeBufferPointer { model.encode($0, into: &encoding) }
                let ourIds = encoding.tokens.map { Int($0.id) }
                let ourUnknown = encoding.tokens.filter { model.isUnknown(Int($0.id)) }.map { Array(model.tokenBytes($0, in: encoding)) }
                let ourDecoded = Array(model.decode(ourIds).utf8)
                if ourIds != ids || ourUnknown != unknown || ourDecoded != decoded {
                    differences.append("\(name) \(String(decoding: text, as: UTF8.self).debugDescription): ids \(ourIds) vs \(ids)"
                        + (ourUnknown != unknown ? ", unknown pieces differ" : "") + (ourDecoded != decoded
                            ? ", decoded \(String(decoding: ourDecoded, as: UTF8.self).debugDescription) vs \(String(decoding: decoded, as: UTF8.self).debugDescription)" : ""))
                }
            }
        }
        print("SentencePiece parity: \(cases.count) strings × \(names.count) models = \(comparisons) encodings and decodings, "
            + "\(differences.count) differences (\(String(format: "%.1f", Date().timeIntervalSince(start))) s, \(folder.path))")
        XCTAssertEqual(differences.count, 0, differences.prefix(10).joined(separator: "\n"))
        return (names.count, cases.count)
    }

    private func lines(of url: URL) throws -> [Substring] {
        let text = try String(decoding: Data(contentsOf: url), as: UTF8.self)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        if lines.last == "" { lines.removeLast() }
        return lines
    }

    private func bytes(hex: Substring) -> [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(hex.utf8.count / 2)
        var high: UInt8? = nil
        for character in hex.utf8 {
            let digit = character <= UInt8(ascii: "9") ? character - UInt8(ascii: "0") : character - UInt8(ascii: "a") + 10
            if let value = high {
                result.append(value << 4 | digit)
                high = nil
            } else {
                high = digit
            }
        }
        return result
    }
}
