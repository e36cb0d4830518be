import Foundation
import TestSupport
import Tokenizers
import XCTest

/// Issue 20, item 6, with the shipped model: `nmt translate` loses no sentence of a line that
/// holds several, and a translation that goes into a loop is cut and reported, not left to run.
final class TranslationContentTests: XCTestCase {
    static let fiveSentences = "My name is Anna. I live in Paris. I work in a bank. I have two cats. They are black."

    func translate(_ arguments: [String], input: String? = nil) throws -> NMTProcess.Outcome {
        let outcome = try NMTProcess.run(["translate"] + arguments, input: input, timeout: 60)
        XCTAssertEqual(outcome.status, 0, outcome.standardError)
        return outcome
    }

    /// The line came back without "They are black". Split by default, it comes back in
    /// five sentences, one for each, with the line's spacing; --no-split translates it whole.
    func testALineOfFiveSentencesComesBackWhole() throws {
        let outcome = try translate([Self.fiveSentences])
        XCTAssertEqual(outcome.standardError, "")
        let sentences = SentenceSplitter(language: .french).split(outcome.standardOutput.trimmingCharacters(in: .newlines)).sentences
        XCTAssertEqual(sentences.count, 5, outcome.standardOutput)
        for word in ["Anna", "Paris", "banque", "chats", "noir"] {
            XCTAssertTrue(outcome.standardOutput.contains(word), "\(word) in \(outcome.standardOutput)")
        }
        // Standard input and the JSON format split alike; a line of one sentence is translated as it was.
        let lines = try translate(["--format", "json"], input: Self.fiveSentences + "\nI am a student.\n").standardOutput.split(separator: "\n")
        XCTAssertEqual(lines.count, 2)
        XCTAssertTrue(lines[0].contains("\"text\":\"\(outcome.standardOutput.trimmingCharacters(in: .newlines))\""), String(lines[0]))
        XCTAssertEqual(lines[0].components(separatedBy: "\"</s>\"").count - 1, 5, "five EOS, one a sentence: \(lines[0])")
        XCTAssertTrue(lines[1].contains("\"text\":\"Je suis étudiant.\""), String(lines[1]))
        let whole = try translate(["--no-split", Self.fiveSentences])
        XCTAssertNotEqual(whole.standardOutput, outcome.standardOutput)
    }

    /// "私は学生です。" looped ("Enfant étendre étendre …") with no hint. Now the search ends the
    /// loop after one round and says so, and the script the model does not know is pointed out.
    func testALoopIsCutAndReported() throws {
        let guarded = try translate(["--beam", "1", "私は学生です。"])
        let warnings = guarded.standardError.split(separator: "\n")
        XCTAssertEqual(warnings.count, 2, guarded.standardError)
        XCTAssertTrue(warnings[0].hasPrefix("warning: argument:1: most of it is characters the model's vocabulary does not hold"), String(warnings[0]))
        XCTAssertTrue(warnings[1].hasPrefix("warning: argument:1: the translation went into a loop, cut after its first round: \""), String(warnings[1]))
        let free = try translate(["--beam", "1", "--no-repetition-guard", "私は学生です。"])
        XCTAssertEqual(free.standardError.split(separator: "\n").count, 1, "only the script warning: \(free.standardError)")
        XCTAssertLessThan(guarded.standardOutput.count, free.standardOutput.count)
        XCTAssertTrue(free.standardOutput.hasPrefix(String(guarded.standardOutput.dropLast())), "the guarded output is the start of the free one")
    }
}
