import Foundation
import TextIO
import XCTest

/// The one JSON reader and writer: strict RFC 8259, members kept in order and compared by bytes,
/// numbers kept as written, and the escaping of serde_json on the way out.
final class JSONTests: XCTestCase {
    func parse(_ text: String) throws -> JSON { try JSON.parse(Array(text.utf8)) }

    func testObjectsKeepTheirOrderAndTellCanonicallyEquivalentKeysApart() throws {
        let json = try parse(#"{"b": 1, "é": 2, "e\u0301": 3, "a": [true, null, "x"]}"#)
        XCTAssertEqual(json.members?.map(\.key), ["b", "é", "e\u{301}", "a"])
        XCTAssertEqual(json["é"]?.integer, 2)
        XCTAssertEqual(json["e\u{301}"]?.integer, 3, "found by bytes, not by canonical equivalence")
        XCTAssertEqual(json["a"], .array([.bool(true), .null, .string("x")]))
        XCTAssertNil(json["c"])
        XCTAssertEqual(json.kind, "an object")
    }

    func testNumbersKeepTheirTextAndIntegersAreExact() throws {
        let json = try parse("[0, -7, 2.5, 2e0, 1E+2, 9007199254740993, 99999999999999999999]")
        guard case .array(let numbers) = json else { return XCTFail("not an array") }
        XCTAssertEqual(numbers.map { $0.integer }, [0, -7, nil, nil, nil, 9_007_199_254_740_993, nil])
        XCTAssertEqual(numbers.map { $0.double }, [0, -7, 2.5, 2, 100, 9_007_199_254_740_992, 1e20])
        if case .number(let number) = numbers[3] { XCTAssertEqual(number.text, "2e0") } else { XCTFail() }
        XCTAssertEqual(numbers[2].integer, nil)
        XCTAssertEqual(JSON.number(3.0).compact, "3", "integral values are written as integers")
        XCTAssertEqual(JSON.number(0.1).compact, "0.1")
        XCTAssertEqual(JSON.figure(.nan), .null)
        XCTAssertEqual(JSON.figure(-.infinity), .null)
    }

    func testStrictSyntaxIsEnforcedWithTheLineOfTheProblem() {
        let cases: [(String, String)] = [
            ("", "end"), ("{", "end"), ("{\"a\": }", "unexpected character"), ("{\"a\": 1,}", "key"), ("{} x", "after"),
            ("[1 2]", "']'"), ("{\"a\" 1}", "':'"), ("{1: 1}", "key"), ("01", "leading zero"), ("1.", "number"),
            ("-", "number"), ("1e", "number"), ("+1", "unexpected character"), ("tru", "true"),
            ("\"\u{1}\"", "control"), (#""\x""#, "escape"), (#""\ud800""#, "surrogate"), (#""\udc00""#, "surrogate"),
            (#""\u12G4""#, "\\u"), ("[\n[\n]\n,]", "line 4"),
        ]
        for (text, expected) in cases {
            XCTAssertThrowsError(try parse(text), text) { error in
                XCTAssertTrue("\(error)".contains(expected), "\(text.debugDescription): \(error)")
                XCTAssertTrue("\(error)".hasPrefix("invalid JSON at line "), "\(error)")
            }
        }
        XCTAssertThrowsError(try JSON.parse([UInt8(ascii: "\""), 0xFF, UInt8(ascii: "\"")])) { XCTAssertTrue("\($0)".contains("UTF-8")) }
        XCTAssertThrowsError(try parse(String(repeating: "[", count: 100_000))) { XCTAssertTrue("\($0)".contains("512 levels deep")) }
        XCTAssertThrowsError(try JSON.parse(Array("[[[[1]]]]".utf8), maximumDepth: 3)) { XCTAssertTrue("\($0)".contains("3 levels deep")) }
        XCTAssertNoThrow(try JSON.parse(Array("[[[1]]] \n\t".utf8), maximumDepth: 4), "whitespace after the value")
    }

    func testEscapesReadAndWrittenAsSerdeJSONWritesThem() throws {
        let text = "q\"b\\s/n\nr\rt\tb\u{8}f\u{C}u\u{1}é😀"
        let quoted = JSON.quoted(text)
        XCTAssertEqual(quoted, #""q\"b\\s/n\nr\rt\tb\bf\fu\u0001é😀""#)
        XCTAssertEqual(try parse(quoted).string, text)
        XCTAssertEqual(try parse(#""\/\u00e9\ud83d\ude00""#).string, "/é😀")
    }

    func testCompactAndPrettyOutputReadBackTheSame() throws {
        let value = JSON.object([("z", .array([.number(1), .string("a")])), ("a", .object([("k", .array([.array([.number(2)])]))])),
                                 ("e", .array([])), ("o", .object([]))])
        XCTAssertEqual(value.compact, #"{"z":[1,"a"],"a":{"k":[[2]]},"e":[],"o":{}}"#)
        XCTAssertEqual(value.pretty, """
            {
              "z": [1, "a"],
              "a": {
                "k": [
                  [2]
                ]
              },
              "e": [],
              "o": {}
            }
            """)
        XCTAssertEqual(try parse(value.pretty), value)
        XCTAssertEqual(try parse(value.compact), value)
        XCTAssertEqual(value.sortingKeys().members?.map(\.key), ["a", "e", "o", "z"])
    }

    func testCodableDocumentsNameTheFieldThatDoesNotDecode() throws {
        struct Inner: Codable, Equatable { var epochs: Int }
        struct Document: Codable, Equatable { var name: String; var inner: Inner }
        let document = Document(name: "a/b", inner: Inner(epochs: 3))
        let data = try CodableJSON.encode(document)
        XCTAssertEqual(String(decoding: data, as: UTF8.self), "{\n  \"inner\" : {\n    \"epochs\" : 3\n  },\n  \"name\" : \"a/b\"\n}")
        XCTAssertEqual(try CodableJSON.decode(Document.self, from: data), document)
        XCTAssertThrowsError(try CodableJSON.decode(Document.self, from: Data(#"{"name": "x", "inner": {"epochs": "3"}}"#.utf8))) {
            XCTAssertEqual("\($0)", "inner.epochs: expected Int")
        }
        XCTAssertThrowsError(try CodableJSON.decode(Document.self, from: Data(#"{"name": "x", "inner": {}}"#.utf8))) {
            XCTAssertEqual("\($0)", "inner.epochs: missing")
        }
        XCTAssertThrowsError(try CodableJSON.decode(Document.self, from: Data("[".utf8))) { XCTAssertEqual("\($0)", "not valid JSON") }
    }

    func testFileErrorsSayWhatTheSystemSays() throws {
        let missing = URL(fileURLWithPath: "/nonexistent/x.txt")
        XCTAssertThrowsError(try TextLines.read(missing)) {
            XCTAssertEqual("\($0)", "/nonexistent/x.txt: cannot read the file (No such file or directory)")
        }
        let directory = FileManager.default.temporaryDirectory
        XCTAssertThrowsError(try TextLines.read(directory)) { XCTAssertTrue("\($0)".hasSuffix("(it is a directory)"), "\($0)") }
        XCTAssertEqual(FileError.reason(for: CocoaError(.fileWriteOutOfSpace)), "No space left on device")
        XCTAssertEqual(FileError.reason(for: CocoaError(.fileWriteFileExists)), "File exists")
        XCTAssertEqual(FileError.reason(for: POSIXError(.EACCES)), "Permission denied")
    }
}

/// Literals build the same values as the cases, objects in the order written.
final class JSONLiteralTests: XCTestCase {
    func testLiteralsAreTheirCases() {
        let built: JSON = ["b": "x", "a": [1, 2.5, true, .null], "c": [:]]
        XCTAssertEqual(built, .object([("b", .string("x")), ("a", .array([.number(1), .number(2.5), .bool(true), .null])), ("c", .object([]))]))
        XCTAssertEqual(built.compact, #"{"b":"x","a":[1,2.5,true,null],"c":{}}"#, "members in the order written")
    }
}
