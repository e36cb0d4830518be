import Foundation
import TextIO
import XCTest

final class TextLinesTests: XCTestCase {
    func lines(_ bytes: [UInt8]) -> (valid: [String: Int], invalid: [Int]) {
        var valid: [String: Int] = [:]
        var invalid: [Int] = []
        TextLines.forEachLine(in: Data(bytes), { valid[$0] = $1 }, invalid: { invalid.append($0) })
        return (valid, invalid)
    }

    func testInvalidLinesAreNumberedAndSkipped() {
        let text: [UInt8] = Array("one\r\ntwo\n".utf8) + [0xFF, 0x0A] + Array("été\n".utf8) + [0xC3, 0x0A] + Array("last".utf8)
        let (valid, invalid) = lines(text)
        XCTAssertEqual(valid, ["one": 1, "two": 2, "été": 4, "last": 6])
        XCTAssertEqual(invalid, [3, 5])
    }

    func testFieldsOfTSVLines() {
        var fields: [String] = []
        var numbers: [Int] = []
        let text = Array("Go.\tVa !\n\tonly\t\tfields\t\n".utf8) + [0xFF, 0x09, 0x0A] + Array("last\tline".utf8)
        TextLines.forEachLine(in: Data(text), separator: UInt8(ascii: "\t"), { fields.append($0); numbers.append($1) },
                              invalid: { numbers.append(-$0) })
        XCTAssertEqual(fields, ["Go.", "Va !", "only", "fields", "last", "line"])
        XCTAssertEqual(numbers, [1, 1, 2, 2, -3, 4, 4])
    }

    func testUTF8Validation() {
        func valid(_ bytes: [UInt8]) -> Bool { bytes.withUnsafeBufferPointer { TextLines.string(utf8: $0) != nil } }
        XCTAssertTrue(valid(Array("plain ascii, long enough for the 8-byte path".utf8)))
        XCTAssertTrue(valid(Array("é € 𝄞 東京".utf8)))
        XCTAssertTrue(valid([0xF4, 0x8F, 0xBF, 0xBF]))  // U+10FFFF
        XCTAssertFalse(valid([0xC0, 0x80]))  // overlong NUL
        XCTAssertFalse(valid([0xE0, 0x80, 0x80]))  // overlong
        XCTAssertFalse(valid([0xED, 0xA0, 0x80]))  // a surrogate
        XCTAssertFalse(valid([0xF4, 0x90, 0x80, 0x80]))  // above U+10FFFF
        XCTAssertFalse(valid([0xE6, 0x9D]))  // truncated
        XCTAssertFalse(valid([0x80]))  // a lone continuation byte
        XCTAssertFalse(valid(Array("12345678".utf8) + [0xFE]))
    }
}
