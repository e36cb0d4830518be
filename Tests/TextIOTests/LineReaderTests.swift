import Foundation
import TextIO
import XCTest

/// The streaming reader follows the rule of `TextLines` to the byte, however the input arrives.
final class LineReaderTests: XCTestCase {
    /// The lines of `bytes` written to a pipe in pieces of `piece` bytes.
    func streamed(_ bytes: [UInt8], piece: Int) throws -> (valid: [Int: String], invalid: [Int], waits: Int) {
        let pipe = Pipe()
        let writer = Thread {
            for start in stride(from: 0, to: bytes.count, by: piece) {
                pipe.fileHandleForWriting.write(Data(bytes[start..<min(start + piece, bytes.count)]))
                usleep(200)
            }
            try? pipe.fileHandleForWriting.close()
        }
        writer.start()
        var valid: [Int: String] = [:], invalid: [Int] = [], waits = 0
        try LineReader.forEachLine(of: pipe.fileHandleForReading.fileDescriptor, source: "pipe", { valid[$1] = $0 },
                                   invalid: { invalid.append($0) }, whenWaiting: { waits += 1 })
        return (valid, invalid, waits)
    }

    func testStreamedLinesFollowTheOneRule() throws {
        let text: [UInt8] = [0xEF, 0xBB, 0xBF] + Array("one\r\ntwo\n".utf8) + [0xFF, 0x0A] + Array("\u{FEFF}été\n\n".utf8) + Array("last".utf8)
        var whole: [Int: String] = [:], wholeInvalid: [Int] = []
        TextLines.forEachLine(in: Data(text), { whole[$1] = $0 }, invalid: { wholeInvalid.append($0) })
        XCTAssertEqual(whole, [1: "one", 2: "two", 4: "\u{FEFF}été", 5: "", 6: "last"], "only a mark at the very start is dropped")
        XCTAssertEqual(wholeInvalid, [3])
        for piece in [1, 2, 3, 7, 1 << 16] {
            let (valid, invalid, _) = try streamed(text, piece: piece)
            XCTAssertEqual(valid, whole, "pieces of \(piece)")
            XCTAssertEqual(invalid, wholeInvalid, "pieces of \(piece)")
        }
    }

    func testAnErrorInTheCallerStopsReading() {
        let pipe = Pipe()
        pipe.fileHandleForWriting.write(Data("a\nb\nc\n".utf8))
        try? pipe.fileHandleForWriting.close()
        struct Stop: Error {}
        var seen: [String] = []
        XCTAssertThrowsError(try LineReader.forEachLine(of: pipe.fileHandleForReading.fileDescriptor, source: "pipe", { line, number in
            seen.append(line)
            if number == 2 { throw Stop() }
        }, invalid: { _ in }))
        XCTAssertEqual(seen, ["a", "b"])
    }
}
