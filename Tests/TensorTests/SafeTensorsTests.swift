import Foundation
import Tensor
import TestSupport
import XCTest

final class SafeTensorsTests: XCTestCase {
    // MARK: - Helpers

    /// A file from a header text and data bytes; `headerLength` overrides the length prefix.
    private func rawFile(_ header: String, data: [UInt8] = [], headerLength: UInt64? = nil) -> Data {
        let headerBytes = Array(header.utf8)
        return rawFile(headerBytes: headerBytes, data: data, headerLength: headerLength)
    }

    private func rawFile(headerBytes: [UInt8], data: [UInt8] = [], headerLength: UInt64? = nil) -> Data {
        var file = Data()
        withUnsafeBytes(of: (headerLength ?? UInt64(headerBytes.count)).littleEndian) { file.append(contentsOf: $0) }
        file.append(contentsOf: headerBytes)
        file.append(contentsOf: data)
        return file
    }

    /// The little-endian bytes of `values`.
    private func littleEndianBytes<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] {
        values.flatMap { value in withUnsafeBytes(of: value.littleEndian) { Array($0) } }
    }

    /// Asserts that opening `file` fails with a message naming the source and containing `parts`.
    private func assertRejects(_ file: Data, mentioning parts: [String], file testFile: StaticString = #filePath, line: UInt = #line) {
        let source = "broken.safetensors"
        XCTAssertThrowsError(try SafeTensorsFile(data: file, source: source), file: testFile, line: line) { error in
            guard let error = error as? SafeTensorsError else {
                return XCTFail("not a SafeTensorsError: \(error)", file: testFile, line: line)
            }
            XCTAssertTrue(error.description.hasPrefix(source + ": "), error.description, file: testFile, line: line)
            XCTAssertFalse(error.description.contains("\n"), error.description, file: testFile, line: line)
            for part in parts {
                XCTAssertTrue(error.description.contains(part), "\"\(error.description)\" lacks \"\(part)\"", file: testFile, line: line)
            }
        }
    }

    /// A one-tensor header `{"w": <entry>}` with `data` as its data.
    private func assertRejectsEntry(_ entry: String, data: [UInt8] = [UInt8](repeating: 0, count: 8), mentioning parts: [String], line: UInt = #line) {
        assertRejects(rawFile("{\"w\": \(entry)}", data: data), mentioning: ["tensor \"w\""] + parts, line: line)
    }

    private func assertErrorMentions(_ parts: [String], line: UInt = #line, _ body: () throws -> Void) {
        XCTAssertThrowsError(try body(), line: line) { error in
            let text = String(describing: error)
            XCTAssertFalse(text.contains("\n"), text, line: line)
            for part in parts { XCTAssertTrue(text.contains(part), "\"\(text)\" lacks \"\(part)\"", line: line) }
        }
    }

    // MARK: - Fixtures

    func testReadsEveryTensorOfTheModelFixture() throws {
        let url = Fixtures.url("marian-tiny/model.safetensors")
        let file = try SafeTensorsFile(contentsOf: url)
        XCTAssertEqual(file.source, url.path)
        XCTAssertEqual(file.metadata, ["format": "pt"])
        XCTAssertEqual(file.entries.count, 86)
        XCTAssertEqual(Set(file.names), Set(file.entries.keys))
        XCTAssertEqual(file.names.map { file.entries[$0]!.byteRange.lowerBound },
                       file.names.map { file.entries[$0]!.byteRange.lowerBound }.sorted())
        for name in file.names {
            let entry = file.entries[name]!
            XCTAssertEqual(entry.name, name)
            XCTAssertEqual(entry.dtype, .f32, name)
            XCTAssertEqual(try file.floats(name).count, entry.shape.reduce(1, *), name)
            XCTAssertEqual(entry.byteRange.count, entry.elementCount * 4, name)
        }
        XCTAssertEqual(try file.shape("model.shared.weight"), [53, 32])
        XCTAssertEqual(try file.shape("final_logits_bias"), [1, 53])

        // Values as Python's safetensors reads them.
        let shared = try file.floats("model.shared.weight")
        XCTAssertEqual(Array(shared[0 ..< 3]), [-0.07394881546497345, -0.22838687896728516, 0.22292061150074005])
        XCTAssertEqual(shared[5 * 32 + 7], 0.023369742557406425)
        XCTAssertEqual(Array(shared[52 * 32 ..< 52 * 32 + 32]), [Float](repeating: 0, count: 32), "pad row is zero")
        XCTAssertEqual(Double(shared.reduce(0, +)), -5.843716144561768, accuracy: 1e-4)
        XCTAssertEqual(Array(try file.floats("final_logits_bias")[0 ..< 3]), [0.0953693836927414, 0.1328069418668747, 0.03360361605882645])
    }

    func testReadsEveryTensorOfTheExpectedFixture() throws {
        let file = try SafeTensorsFile(contentsOf: Fixtures.url("marian-tiny/expected.safetensors"))
        XCTAssertEqual(file.entries.count, 102)
        XCTAssertEqual(file.names.filter { $0.hasPrefix("grad.") }.count, 85)
        for name in file.names {
            let entry = file.entries[name]!
            switch entry.dtype {
            case .i64: XCTAssertEqual(try file.int64s(name).count, entry.elementCount, name)
            case .f32: XCTAssertEqual(try file.floats(name).count, entry.elementCount, name)
            default: XCTFail("\(name) is \(entry.dtype)")
            }
        }
        XCTAssertEqual(file.entries["src_ids"]?.dtype, .i64)
        XCTAssertEqual(try file.shape("src_ids"), [2, 9])
        XCTAssertEqual(try file.int64s("src_ids"), [23, 40, 30, 15, 32, 4, 19, 22, 0, 51, 44, 29, 42, 20, 0, 52, 52, 52])
        XCTAssertEqual(try file.floats("loss"), [5.335001468658447])
    }

    func testReadFloatsFillsASliceOfALargerBuffer() throws {
        let file = try SafeTensorsFile(contentsOf: Fixtures.url("marian-tiny/model.safetensors"))
        let name = "model.encoder.layers.0.fc1.bias"
        let expected = try file.floats(name)
        var big = [Float](repeating: -1, count: expected.count + 10)
        try big.withUnsafeMutableBufferPointer { buffer in
            try file.readFloats(name, into: UnsafeMutableBufferPointer(rebasing: buffer[5 ..< 5 + expected.count]))
        }
        XCTAssertEqual(Array(big[5 ..< 5 + expected.count]), expected)
        XCTAssertEqual(Array(big[0 ..< 5]) + Array(big[(5 + expected.count)...]), [Float](repeating: -1, count: 10))

        assertErrorMentions([file.source, "\"\(name)\"", "\(expected.count)", "\(expected.count - 1)"]) {
            try big.withUnsafeMutableBufferPointer { buffer in
                try file.readFloats(name, into: UnsafeMutableBufferPointer(rebasing: buffer[0 ..< expected.count - 1]))
            }
        }
    }

    func testMissingTensorAndWrongKindAreErrorsNamingIt() throws {
        let file = try SafeTensorsFile(contentsOf: Fixtures.url("marian-tiny/expected.safetensors"))
        assertErrorMentions([file.source, "\"nope\""]) { _ = try file.shape("nope") }
        assertErrorMentions([file.source, "\"nope\""]) { _ = try file.floats("nope") }
        assertErrorMentions([file.source, "\"nope\""]) { _ = try file.int64s("nope") }
        assertErrorMentions([file.source, "\"src_ids\"", "I64"]) { _ = try file.floats("src_ids") }
        assertErrorMentions([file.source, "\"loss\"", "F32"]) { _ = try file.int64s("loss") }
        var one: Float = 0
        assertErrorMentions([file.source, "\"src_ids\""]) {
            try withUnsafeMutablePointer(to: &one) { try file.readFloats("src_ids", into: UnsafeMutableBufferPointer(start: $0, count: 1)) }
        }
    }

    func testUnreadableOrEmptyFileNamesIt() throws {
        let url = URL(fileURLWithPath: "/nonexistent-dir-\(UUID().uuidString)/model.safetensors")
        assertErrorMentions([url.path]) { _ = try SafeTensorsFile(contentsOf: url) }
        let directory = try Fixtures.temporaryDirectory("safetensors")
        defer { try? FileManager.default.removeItem(at: directory) }
        assertErrorMentions([directory.path]) { _ = try SafeTensorsFile(contentsOf: directory) }
        let empty = directory.appendingPathComponent("empty.safetensors")
        try Data().write(to: empty)
        assertErrorMentions([empty.path, "0 bytes"]) { _ = try SafeTensorsFile(contentsOf: empty) }
    }

    // MARK: - Other dtypes

    func testReadsF16BF16F64AndI32() throws {
        let half: [UInt16] = [0x3C00, 0xC000, 0x7BFF, 0x0001, 0x8000, 0x7C00]
        let bfloat: [UInt16] = [0x3F80, 0xC040, 0x0001]
        let double: [Double] = [0.1, -2.5, 1e300]
        let int32: [Int32] = [-1, 2_147_483_647, -2_147_483_648]
        var data = littleEndianBytes(half) + littleEndianBytes(bfloat)
        let doubleStart = data.count
        data += littleEndianBytes(double.map(\.bitPattern))
        let int32Start = data.count
        data += littleEndianBytes(int32)
        let header = """
        {"h": {"dtype": "F16", "shape": [2, 3], "data_offsets": [0, 12]},
         "b": {"dtype": "BF16", "shape": [3], "data_offsets": [12, \(doubleStart)]},
         "d": {"dtype": "F64", "shape": [3], "data_offsets": [\(doubleStart), \(int32Start)]},
         "i": {"dtype": "I32", "shape": [3, 1], "data_offsets": [\(int32Start), \(data.count)]},
         "e": {"dtype": "F32", "shape": [0, 4], "data_offsets": [\(data.count), \(data.count)]}}
        """
        let file = try SafeTensorsFile(data: rawFile(header, data: data), source: "mixed")
        XCTAssertEqual(file.names, ["h", "b", "d", "i", "e"])
        XCTAssertEqual(file.metadata, [:])
        XCTAssertEqual(try file.floats("h"), [1, -2, 65504, 0x1p-24, -0.0, .infinity])
        XCTAssertEqual(try file.floats("h")[4].sign, .minus)
        XCTAssertEqual(try file.floats("b"), [1, -3, 0x1p-133])
        XCTAssertEqual(try file.floats("d"), [0.1, -2.5, .infinity])
        XCTAssertEqual(try file.int64s("i"), [-1, 2_147_483_647, -2_147_483_648])
        XCTAssertEqual(try file.floats("e"), [])
        XCTAssertEqual(file.entries["i"]?.byteRange, 8 + header.utf8.count + int32Start ..< 8 + header.utf8.count + data.count)
    }

    func testReadsUnalignedDataAndSlicedData() throws {
        // A 3-byte header pad puts the data at an odd address; the reader must not assume alignment.
        let values: [Float] = [1.5, -2.25, 3e-38]
        let header = #"{"x":{"dtype":"F32","shape":[3],"data_offsets":[0,12]}} "#
        let bytes = rawFile(header, data: littleEndianBytes(values.map(\.bitPattern)))
        XCTAssertEqual(try SafeTensorsFile(data: bytes, source: "odd").floats("x"), values)
        let sliced = (Data([9, 9, 9]) + bytes).dropFirst(3)  // a Data whose startIndex is not 0
        XCTAssertEqual(try SafeTensorsFile(data: sliced, source: "slice").floats("x"), values)
    }

    func testMetadataAndEscapedNames() throws {
        let header = #"{"__metadata__": {"format": "pt", "note": "caf\u00e9 \ud83d\ude00 \"q\""}, "a\/b\n": {"dtype": "F32", "shape": [], "data_offsets": [0, 4]}}"#
        let file = try SafeTensorsFile(data: rawFile(header, data: littleEndianBytes([Float(7).bitPattern])), source: "meta")
        XCTAssertEqual(file.metadata, ["format": "pt", "note": "café 😀 \"q\""])
        XCTAssertEqual(file.names, ["a/b\n"])
        XCTAssertEqual(try file.floats("a/b\n"), [7])
        XCTAssertEqual(try file.shape("a/b\n"), [])
        XCTAssertEqual(try SafeTensorsFile(data: rawFile(#"{"__metadata__": null}"#), source: "null").metadata, [:])
        assertRejects(rawFile(#"{"__metadata__": {}, "__metadata__": {}}"#), mentioning: ["__metadata__", "twice"])
    }

    // MARK: - Validation

    func testRejectsShortFiles() {
        for count in 0 ..< 8 { assertRejects(Data(repeating: 0, count: count), mentioning: ["\(count) bytes", "8"]) }
    }

    func testRejectsHeaderLengthPastTheEnd() {
        assertRejects(rawFile("{}", headerLength: 3), mentioning: ["header length 3", "past the end"])
        assertRejects(rawFile("{}", headerLength: 1 << 63), mentioning: ["header length \(UInt64(1) << 63)"])
        assertRejects(rawFile("{}", headerLength: .max), mentioning: ["header length \(UInt64.max)"])
    }

    func testRejectsHeadersThatAreNotUTF8JSONObjects() {
        assertRejects(rawFile(headerBytes: [UInt8(ascii: "{"), 0xFF, UInt8(ascii: "}")]), mentioning: ["UTF-8"])
        assertRejects(rawFile(headerBytes: [0xC3]), mentioning: ["UTF-8"])  // a truncated sequence
        assertRejects(rawFile(""), mentioning: ["JSON"])
        assertRejects(rawFile("{"), mentioning: ["JSON"])
        assertRejects(rawFile("{\"a\": }"), mentioning: ["JSON"])
        assertRejects(rawFile("{\"a\": 1,}"), mentioning: ["JSON"])
        assertRejects(rawFile("{} x"), mentioning: ["JSON", "after"])
        assertRejects(rawFile("{\"a\": \"\u{1}\"}"), mentioning: ["JSON", "control"])
        assertRejects(rawFile(#"{"a": "\x"}"#), mentioning: ["JSON", "escape"])
        assertRejects(rawFile(#"{"a": "\ud800"}"#), mentioning: ["JSON", "surrogate"])
        assertRejects(rawFile(#"{"a": "\ud800\u0041"}"#), mentioning: ["JSON", "surrogate"])
        assertRejects(rawFile(#"{"a": "\udc00"}"#), mentioning: ["JSON", "surrogate"])
        assertRejects(rawFile(#"{"a": "\u12G4"}"#), mentioning: ["JSON", "\\u"])
        assertRejects(rawFile(#"{"a": tru}"#), mentioning: ["JSON"])
        assertRejects(rawFile(#"{"a": -}"#), mentioning: ["JSON", "number"])
        assertRejects(rawFile(#"{"a": 1.}"#), mentioning: ["JSON", "number"])
        assertRejects(rawFile(#"{"a": 1e}"#), mentioning: ["JSON", "number"])
        assertRejects(rawFile(#"{"a" 1}"#), mentioning: ["JSON", "':'"])
        assertRejects(rawFile(#"{1: 1}"#), mentioning: ["JSON", "key"])
        assertRejects(rawFile(#"{"a": [1 2]}"#), mentioning: ["JSON", "']'"])
        assertRejects(rawFile(#"{"a": 01}"#), mentioning: ["JSON"])
        assertRejects(rawFile(String(repeating: "[", count: 100_000)), mentioning: ["JSON", "deep"])
        assertRejects(rawFile("[]"), mentioning: ["an array", "not a JSON object"])
        assertRejects(rawFile("\"{}\""), mentioning: ["a string", "not a JSON object"])
        assertRejects(rawFile("{\"__metadata__\": [1]}"), mentioning: ["__metadata__", "not an object"])
        assertRejects(rawFile("{\"__metadata__\": {\"k\": 1}}"), mentioning: ["__metadata__", "\"k\"", "not a string"])
    }

    func testRejectsEntriesWithMissingOrMistypedFields() {
        assertRejectsEntry("[]", mentioning: ["not an object"])
        assertRejectsEntry(#"{"shape": [2], "data_offsets": [0, 8]}"#, mentioning: ["missing \"dtype\""])
        assertRejectsEntry(#"{"dtype": "F32", "data_offsets": [0, 8]}"#, mentioning: ["missing \"shape\""])
        assertRejectsEntry(#"{"dtype": "F32", "shape": [2]}"#, mentioning: ["missing \"data_offsets\""])
        assertRejectsEntry(#"{"dtype": 32, "shape": [2], "data_offsets": [0, 8]}"#, mentioning: ["\"dtype\"", "not a string"])
        assertRejectsEntry(#"{"dtype": "F32", "shape": 2, "data_offsets": [0, 8]}"#, mentioning: ["\"shape\"", "not an array"])
        assertRejectsEntry(#"{"dtype": "F32", "shape": ["2"], "data_offsets": [0, 8]}"#, mentioning: ["\"shape\"", "a string"])
        assertRejectsEntry(#"{"dtype": "F32", "shape": [true], "data_offsets": [0, 8]}"#, mentioning: ["\"shape\"", "a boolean"])
        assertRejectsEntry(#"{"dtype": "F32", "shape": [2], "data_offsets": {"begin": 0}}"#, mentioning: ["\"data_offsets\"", "not an array"])
        assertRejectsEntry(#"{"dtype": "F32", "shape": [2], "data_offsets": [0, 4, 8]}"#, mentioning: ["\"data_offsets\"", "3 numbers"])
        assertRejectsEntry(#"{"dtype": "F32", "shape": [2], "data_offsets": [null, 8]}"#, mentioning: ["\"data_offsets\"", "null"])
    }

    func testRejectsUnknownDType() {
        assertRejectsEntry(#"{"dtype": "Q4_K", "shape": [2], "data_offsets": [0, 8]}"#, mentioning: ["unknown dtype \"Q4_K\""])
        assertRejectsEntry(#"{"dtype": "f32", "shape": [2], "data_offsets": [0, 8]}"#, mentioning: ["unknown dtype \"f32\""])
    }

    func testRejectsNegativeOrNonIntegerDimensions() {
        assertRejectsEntry(#"{"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}"#, mentioning: ["\"shape\"", "negative", "-2"])
        assertRejectsEntry(#"{"dtype": "F32", "shape": [2.5], "data_offsets": [0, 8]}"#, mentioning: ["\"shape\"", "2.5", "not an integer"])
        assertRejectsEntry(#"{"dtype": "F32", "shape": [2e0], "data_offsets": [0, 8]}"#, mentioning: ["\"shape\"", "not an integer"])
        assertRejectsEntry(#"{"dtype": "F32", "shape": [99999999999999999999], "data_offsets": [0, 8]}"#, mentioning: ["\"shape\"", "99999999999999999999"])
        assertRejectsEntry(#"{"dtype": "F32", "shape": [2], "data_offsets": [-8, 0]}"#, mentioning: ["\"data_offsets\"", "negative"])
    }

    func testRejectsBadOffsets() {
        assertRejectsEntry(#"{"dtype": "F32", "shape": [0], "data_offsets": [8, 0]}"#, mentioning: ["[8, 0]", "begin after end"])
        assertRejectsEntry(#"{"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}"#, mentioning: ["[4, 12]", "past the end", "8 bytes"])
        assertRejectsEntry(#"{"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}"#, data: [1, 2, 3], mentioning: ["past the end", "3 bytes"])
        assertRejectsEntry(#"{"dtype": "F32", "shape": [2], "data_offsets": [0, \#(Int.max)]}"#, mentioning: ["past the end"])
    }

    func testRejectsOverlappingTensors() {
        let header = """
        {"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
         "empty": {"dtype": "F32", "shape": [0], "data_offsets": [4, 4]},
         "b": {"dtype": "F16", "shape": [2], "data_offsets": [6, 10]}}
        """
        assertRejects(rawFile(header, data: [UInt8](repeating: 0, count: 10)), mentioning: ["tensor \"b\"", "overlap", "\"a\""])
        let nested = """
        {"outer": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},
         "inner": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]},
         "after": {"dtype": "F32", "shape": [1], "data_offsets": [16, 20]}}
        """
        assertRejects(rawFile(nested, data: [UInt8](repeating: 0, count: 20)), mentioning: ["tensor \"inner\"", "overlap", "\"outer\""])
    }

    func testAcceptsGapsAndEmptyTensorsAnywhere() throws {
        let header = """
        {"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
         "empty": {"dtype": "F32", "shape": [3, 0], "data_offsets": [2, 2]},
         "b": {"dtype": "F32", "shape": [1], "data_offsets": [8, 12]}}
        """
        let file = try SafeTensorsFile(data: rawFile(header, data: [UInt8](repeating: 0, count: 16)), source: "gaps")
        XCTAssertEqual(file.names, ["a", "empty", "b"])
        XCTAssertEqual(try file.floats("empty"), [])
    }

    func testRejectsDuplicateNames() {
        let header = """
        {"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
         "a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}
        """
        assertRejects(rawFile(header, data: [UInt8](repeating: 0, count: 8)), mentioning: ["tensor \"a\"", "twice"])
    }

    func testRejectsByteCountThatDisagreesWithShape() {
        assertRejectsEntry(#"{"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}"#,
                           mentioning: ["byte count 8", "3 elements", "4 bytes", "F32"])
        assertRejectsEntry(#"{"dtype": "F16", "shape": [2, 3], "data_offsets": [0, 8]}"#,
                           mentioning: ["byte count 8", "6 elements", "2 bytes", "F16"])
        assertRejectsEntry(#"{"dtype": "I64", "shape": [], "data_offsets": [0, 4]}"#,
                           mentioning: ["byte count 4", "1 elements", "8 bytes", "I64"])
    }

    func testOverflowSizedShapesAreErrorsNotTraps() {
        let big = 1 << 62
        assertRejectsEntry(#"{"dtype": "F32", "shape": [\#(big), \#(big)], "data_offsets": [0, 8]}"#,
                           mentioning: ["shape [\(big), \(big)]", "more elements"])
        // The element count fits in Int but the byte count does not.
        assertRejectsEntry(#"{"dtype": "F64", "shape": [\#(big)], "data_offsets": [0, 8]}"#,
                           mentioning: ["byte count 8", "\(big) elements"])
    }

    func testZeroSizedShapesWithHugeDimensionsAreEmptyNotOverflows() throws {
        let header = #"{"e": {"dtype": "F32", "shape": [\#(Int.max), 2, 0], "data_offsets": [0, 0]}}"#
        let file = try SafeTensorsFile(data: rawFile(header), source: "huge-empty")
        XCTAssertEqual(file.entries["e"]?.elementCount, 0)
        XCTAssertEqual(try file.floats("e"), [])
    }

    // MARK: - Writer

    func testF32RoundTripIsExact() throws {
        let specials: [Float] = [0, -0.0, 1, -1, .pi, .infinity, -.infinity, .nan, .leastNonzeroMagnitude,
                                 .greatestFiniteMagnitude, -.leastNormalMagnitude, 0x1.234p-133, 123_456.789]
        var generator = SystemRandomNumberGenerator()
        let random = (0 ..< 1000).map { _ in Float(bitPattern: UInt32.random(in: 0 ... .max, using: &generator)) }
        var writer = SafeTensorsWriter(metadata: ["format": "pt"])
        writer.add("z.random", shape: [10, 100], values: random)
        writer.add("a.specials", shape: [specials.count], values: specials)
        writer.add("m.scalar", shape: [], values: [42])
        writer.add("m.empty", shape: [0, 3], values: [])
        random.withUnsafeBufferPointer { writer.add("b.buffer", shape: [4, 5], values: UnsafeBufferPointer(rebasing: $0[0 ..< 20])) }

        let file = try SafeTensorsFile(data: writer.data(), source: "roundtrip")
        XCTAssertEqual(file.metadata, ["format": "pt"])
        XCTAssertEqual(file.names, ["a.specials", "b.buffer", "m.empty", "m.scalar", "z.random"])
        XCTAssertEqual(try file.floats("z.random").map(\.bitPattern), random.map(\.bitPattern))
        XCTAssertEqual(try file.floats("a.specials").map(\.bitPattern), specials.map(\.bitPattern))
        XCTAssertEqual(try file.floats("b.buffer").map(\.bitPattern), random[0 ..< 20].map(\.bitPattern))
        XCTAssertEqual(try file.floats("m.scalar"), [42])
        XCTAssertEqual(try file.shape("m.empty"), [0, 3])
        XCTAssertEqual(try file.shape("z.random"), [10, 100])
        XCTAssertTrue(file.entries.values.allSatisfy { $0.dtype == .f32 })
    }

    func testWriterLayoutMatchesThePythonLibrary() throws {
        var writer = SafeTensorsWriter(metadata: ["format": "pt"])
        writer.add("b", shape: [3], values: [1, 2, 3])
        writer.add("a", shape: [1, 2], values: [4, 5])
        writer.add("c\"\\\n\u{1}é", shape: [1], values: [6])
        let data = writer.data()
        let headerLength = Int(data.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * $1.offset) })
        XCTAssertEqual((8 + headerLength) % 8, 0, "data starts 8-byte aligned")
        let header = String(decoding: data[8 ..< 8 + headerLength], as: UTF8.self)
        let json = #"{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[1,2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[3],"data_offsets":[8,20]},"c\"\\\n\u0001é":{"dtype":"F32","shape":[1],"data_offsets":[20,24]}}"#
        XCTAssertTrue(header.hasPrefix(json), header)
        XCTAssertTrue(header.dropFirst(json.count).allSatisfy { $0 == " " }, "padded with spaces: \(header)")
        XCTAssertEqual(data.count, 8 + headerLength + 24)
        let file = try SafeTensorsFile(data: data, source: "layout")
        XCTAssertEqual(file.names, ["a", "b", "c\"\\\n\u{1}é"])
        XCTAssertEqual(try file.floats("c\"\\\n\u{1}é"), [6])
        XCTAssertEqual(file.entries["a"]?.byteRange, 8 + headerLength ..< 8 + headerLength + 8)

        // No metadata: no __metadata__ key; an empty writer is still a valid file.
        let empty = try SafeTensorsFile(data: SafeTensorsWriter().data(), source: "empty")
        XCTAssertEqual(empty.entries.count, 0)
        XCTAssertEqual(empty.metadata, [:])
        XCTAssertFalse(String(decoding: SafeTensorsWriter().data(), as: UTF8.self).contains("__metadata__"))
    }

    func testF16RoundTrip() throws {
        var generator = SystemRandomNumberGenerator()
        let random = (0 ..< 2000).map { _ in Float.random(in: -70_000 ... 70_000, using: &generator) / Float(1 << Int.random(in: 0 ... 30, using: &generator)) }
        let representable: [Float] = [0, -0.0, 1, -2, 0.5, 65504, -65504, 0x1p-24, 0x1p-14, 0x1.ff8p-15, 1 + 0x1p-10, 3.140625, .infinity, -.infinity]
        var writer = SafeTensorsWriter(dtype: .f16, metadata: ["format": "pt"])
        writer.add("random", shape: [2, 1000], values: random)
        writer.add("exact", shape: [representable.count], values: representable)
        writer.add("nan", shape: [1], values: [.nan])
        let file = try SafeTensorsFile(data: writer.data(), source: "f16")
        XCTAssertTrue(file.entries.values.allSatisfy { $0.dtype == .f16 })
        XCTAssertEqual(file.entries["random"]?.byteRange.count, 4000)
        XCTAssertEqual(try file.floats("exact").map(\.bitPattern), representable.map(\.bitPattern))
        XCTAssertTrue(try file.floats("nan")[0].isNaN)
        for (original, read) in zip(random, try file.floats("random")) {
            if abs(original) >= 65520 {
                XCTAssertEqual(read, original.sign == .minus ? -.infinity : .infinity)
            } else if abs(original) >= 0x1p-14 {
                XCTAssertLessThanOrEqual(abs(read - original), abs(original) * 0x1p-11, "\(original) → \(read)")
            } else {
                XCTAssertLessThanOrEqual(abs(read - original), 0x1p-25, "\(original) → \(read)")
            }
        }
    }

    func testWriteToURLReplacesAtomicallyAndLeavesNoTemporaryFiles() throws {
        let directory = try Fixtures.temporaryDirectory("safetensors")
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("model.safetensors")
        try Data("old".utf8).write(to: url)
        var writer = SafeTensorsWriter(dtype: .f16)
        writer.add("w", shape: [2], values: [1, 2])
        try writer.write(to: url)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), ["model.safetensors"])
        XCTAssertEqual(try Data(contentsOf: url), writer.data())
        XCTAssertEqual(try SafeTensorsFile(contentsOf: url).floats("w"), [1, 2])

        let missing = directory.appendingPathComponent("no/such/dir/model.safetensors")
        assertErrorMentions([missing.path]) { try writer.write(to: missing) }
        XCTAssertFalse(FileManager.default.fileExists(atPath: missing.path))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), ["model.safetensors"])

        // A directory in the way of the final name: the rename fails and the temporary file goes.
        let blocked = directory.appendingPathComponent("blocked")
        try FileManager.default.createDirectory(at: blocked.appendingPathComponent("child"), withIntermediateDirectories: true)
        assertErrorMentions([blocked.path]) { try writer.write(to: blocked) }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted(), ["blocked", "model.safetensors"])
    }

    // MARK: - Half precision

    func testFloat16SpecialValues() {
        let cases: [(Float, UInt16)] = [
            (0, 0x0000), (-0.0, 0x8000), (1, 0x3C00), (-2, 0xC000), (.infinity, 0x7C00), (-.infinity, 0xFC00),
            (65504, 0x7BFF), (-65504, 0xFBFF), (65519.996, 0x7BFF), (65520, 0x7C00), (-65520, 0xFC00), (1e10, 0x7C00),
            (.greatestFiniteMagnitude, 0x7C00),
            (0x1p-14, 0x0400), (0x1p-24, 0x0001), (-0x1p-24, 0x8001), (0x1.ff8p-15, 0x03FF), (0x1.ffcp-15, 0x0400),
            (0x1p-25, 0x0000), (-0x1p-25, 0x8000), (0x1.000002p-25, 0x0001), (0x1.8p-24, 0x0002), (0x1.4p-23, 0x0002),
            (0x1.cp-23, 0x0004), (.leastNonzeroMagnitude, 0x0000), (-.leastNonzeroMagnitude, 0x8000),
            // Ties to even between 1 and the next half (1 + 2^-10), and just off the tie.
            (1 + 0x1p-11, 0x3C00), (1 + 0x3p-11, 0x3C02), (1 + 0x1p-11 + 0x1p-23, 0x3C01), (1 + 0x1p-11 - 0x1p-24, 0x3C00),
            (2047, 0x67FF), (2049, 0x6800), (2051, 0x6802), (0.1, 0x2E66), (-3.140625, 0xC248),
        ]
        for (value, bits) in cases {
            XCTAssertEqual(HalfPrecision.float16Bits(value), bits, "\(value)")
        }
        for nan in [Float.nan, -Float.nan, .signalingNaN, Float(bitPattern: 0x7F80_0001), Float(bitPattern: 0xFFC0_1234)] {
            let bits = HalfPrecision.float16Bits(nan)
            XCTAssertEqual(bits & 0x7C00, 0x7C00)
            XCTAssertNotEqual(bits & 0x03FF, 0, "NaN stays NaN")
            XCTAssertEqual(bits & 0x8000, UInt16(truncatingIfNeeded: nan.bitPattern >> 16) & 0x8000, "sign kept")
            XCTAssertTrue(HalfPrecision.float(fromFloat16Bits: bits).isNaN)
        }
        XCTAssertEqual(HalfPrecision.float(fromFloat16Bits: 0x8000).sign, .minus)
        XCTAssertEqual(HalfPrecision.float(fromFloat16Bits: 0x03FF), 0x1.ff8p-15)
        XCTAssertEqual(HalfPrecision.float(fromFloat16Bits: 0xFC00), -.infinity)
    }

    func testEveryHalfSurvivesDecodeThenEncode() {
        for bits in UInt16.min ... UInt16.max {
            let value = HalfPrecision.float(fromFloat16Bits: bits)
            if bits & 0x7C00 == 0x7C00 && bits & 0x03FF != 0 {
                XCTAssertTrue(value.isNaN)
            } else if HalfPrecision.float16Bits(value) != bits {
                XCTFail("half 0x\(String(bits, radix: 16)) → \(value) → 0x\(String(HalfPrecision.float16Bits(value), radix: 16))")
            }
        }
    }

    #if !(os(macOS) && arch(x86_64))
    /// Swift's own `Float16` (hardware or compiler-rt conversion) as an independent reference.
    func testFloat16BitsAgreesWithSwiftFloat16() {
        var generator = SystemRandomNumberGenerator()
        var failures = 0
        for i in 0 ..< 2_000_000 {
            // Half the samples anywhere, half near the half-precision range where rounding matters.
            let pattern = i.isMultiple(of: 2)
                ? UInt32.random(in: 0 ... .max, using: &generator)
                : UInt32.random(in: 0x3280_0000 ... 0x4780_0000, using: &generator) | (UInt32(i & 4) << 29)
            let value = Float(bitPattern: pattern)
            if value.isNaN { continue }
            let expected = Float16(value).bitPattern
            if HalfPrecision.float16Bits(value) != expected {
                failures += 1
                if failures < 10 { XCTFail("\(value): ours 0x\(String(HalfPrecision.float16Bits(value), radix: 16)), Float16 0x\(String(expected, radix: 16))") }
            }
        }
        for bits in UInt16.min ... UInt16.max where bits & 0x7C00 != 0x7C00 || bits & 0x03FF == 0 {
            XCTAssertEqual(HalfPrecision.float(fromFloat16Bits: bits), Float(Float16(bitPattern: bits)))
        }
    }
    #endif

    func testBFloat16Decoding() {
        let cases: [(UInt16, Float)] = [
            (0x0000, 0), (0x3F80, 1), (0xBF80, -1), (0x4049, 3.140625), (0x7F7F, 0x1.fep127), (0x7F80, .infinity),
            (0xFF80, -.infinity), (0x0080, 0x1p-126), (0x0001, 0x1p-133), (0xC2F7, -123.5),
        ]
        for (bits, value) in cases { XCTAssertEqual(HalfPrecision.float(fromBFloat16Bits: bits), value, "0x\(String(bits, radix: 16))") }
        XCTAssertEqual(HalfPrecision.float(fromBFloat16Bits: 0x8000).bitPattern, 0x8000_0000)
        XCTAssertTrue(HalfPrecision.float(fromBFloat16Bits: 0x7FC0).isNaN)
        XCTAssertTrue(HalfPrecision.float(fromBFloat16Bits: 0xFF81).isNaN)
    }
}
