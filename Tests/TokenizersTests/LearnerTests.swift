import Foundation
import TestSupport
import Tokenizers
import XCTest

final class LearnerTests: XCTestCase {
    static let sentences = [
        "I am a student.", "Je suis étudiant.", "You are a student.", "Tu es étudiant.",
        "I am a teacher.", "Je suis professeur.", "We are students.", "Nous sommes étudiants.",
        "The student is here.", "L'étudiant est ici.", "Where is the teacher?", "Où est le professeur ?",
    ]

    func learn(_ sentences: [String], size: Int, minPairFrequency: Int = 2) throws -> Tokenizer {
        var learner = BPELearner(options: .init(vocabularySize: size, minPairFrequency: minPairFrequency))
        for sentence in sentences { learner.add(sentence) }
        return try learner.learn()
    }

    func testIdsFollowTheFormatsLayout() throws {
        let tokenizer = try learn(Self.sentences, size: 320)
        XCTAssertEqual(tokenizer.vocabularySize, 320)
        XCTAssertEqual(tokenizer.eosId, 0)
        XCTAssertEqual(tokenizer.unkId, 1)
        XCTAssertEqual(tokenizer.padId, 319)
        XCTAssertEqual(tokenizer.piece(for: 0), "</s>")
        XCTAssertEqual(tokenizer.piece(for: 1), "<unk>")
        XCTAssertEqual(tokenizer.piece(for: 319), "<pad>")
        for byte in 0..<256 {
            XCTAssertEqual(tokenizer.piece(for: 2 + byte), String(format: "<0x%02X>", byte))
        }
        // Then the characters by code point, then merged pieces (longer than one character).
        let characters = (258..<319).compactMap { tokenizer.piece(for: $0) }.prefix { $0.unicodeScalars.count == 1 }
        XCTAssertEqual(characters.map { $0.unicodeScalars.first!.value }, characters.map { $0.unicodeScalars.first!.value }.sorted())
        XCTAssertTrue(characters.contains("▁") && characters.contains("é"))
        XCTAssertTrue((258 + characters.count..<319).allSatisfy { (tokenizer.piece(for: $0)?.unicodeScalars.count ?? 0) > 1 })
    }

    func testLearningIsDeterministicAndIndependentOfSentenceOrder() throws {
        let first = try learn(Self.sentences, size: 330).jsonData()
        XCTAssertEqual(try learn(Self.sentences, size: 330).jsonData(), first)
        XCTAssertEqual(try learn(Self.sentences.reversed(), size: 330).jsonData(), first)
    }

    func testLearnedTokenizerRoundTripsItsTrainingText() throws {
        let tokenizer = try learn(Self.sentences, size: 400)
        for sentence in Self.sentences {
            let ids = tokenizer.encode(sentence)
            XCTAssertEqual(tokenizer.decode(ids), sentence)
            XCTAssertFalse(ids.contains(tokenizer.unkId))
        }
        // The frequent words became single pieces.
        XCTAssertEqual(tokenizer.encodeWithPieces("Je suis étudiant.").pieces.first, "▁Je")
        // Characters never seen still encode, as bytes.
        XCTAssertEqual(tokenizer.encodeWithPieces("ß").pieces, ["▁", "<0xC3>", "<0x9F>"])
    }

    func testMinimumPairFrequencyStopsLearning() throws {
        let all = try learn(Self.sentences, size: 1000, minPairFrequency: 1)
        let frequent = try learn(Self.sentences, size: 1000, minPairFrequency: 3)
        XCTAssertLessThan(frequent.vocabularySize, all.vocabularySize)
        XCTAssertLessThan(all.vocabularySize, 1000, "these few sentences run out of pairs")
        XCTAssertEqual(frequent.padId, frequent.vocabularySize - 1)
    }

    func testRareCharactersGetNoPieceAndSpecialTokensAreNotLearned() throws {
        var learner = BPELearner(options: .init(vocabularySize: 300, minCharacterFrequency: 2))
        for sentence in ["aab </s> aab", "aab ☃"] { learner.add(sentence) }
        let tokenizer = try learner.learn()
        XCTAssertNil(tokenizer.id(for: "☃"))
        XCTAssertNotNil(tokenizer.id(for: "▁aab"))
        XCTAssertNil(tokenizer.id(for: "<"), "the special token was cut out, not learned from")
        XCTAssertEqual(tokenizer.decode(tokenizer.encode("aab ☃")), "aab ☃")
    }

    func testProgressCountsUpToTheTotal() throws {
        var learner = BPELearner(options: .init(vocabularySize: 330))
        for sentence in Self.sentences { learner.add(sentence) }
        var seen: [BPELearner.Progress] = []
        let tokenizer = try learner.learn { seen.append($0) }
        XCTAssertEqual(seen.map(\.merges), Array(1...seen.count))
        XCTAssertEqual(seen.last?.merges, seen.last?.totalMerges)
        XCTAssertEqual(tokenizer.vocabularySize, 330)
    }

    func testTooSmallASizeIsAClearError() {
        var learner = BPELearner(options: .init(vocabularySize: 100))
        learner.add("hello")
        XCTAssertThrowsError(try learner.learn()) { error in
            XCTAssertTrue(String(describing: error).contains("too small"), "\(error)")
        }
    }

    func testMatchesANaiveLearnerThatRecountsEveryPair() throws {
        // Words from a Zipf-like draw, so pair counts rise and fall as merges go on.
        var random = SplitMix64(seed: 42)
        let letters = Array("abcdeghilmnorstu")
        let lexicon = (0..<300).map { _ in String((0...random.next(below: 9)).map { _ in letters[random.next(below: letters.count)] }) }
        let sentences = (0..<3000).map { _ in
            (0...random.next(below: 8)).map { _ in
                let u = Double(random.next(below: 1_000_000)) / 1_000_000
                return lexicon[Int(u * u * Double(lexicon.count))]
            }.joined(separator: " ")
        }
        for (size, minPairFrequency) in [(700, 2), (2000, 5)] {
            let tokenizer = try learn(sentences, size: size, minPairFrequency: minPairFrequency)
            let learned = (258..<tokenizer.vocabularySize).map { tokenizer.piece(for: $0)! }
            XCTAssertEqual(learned, naivePieces(sentences, size: size, minPairFrequency: minPairFrequency))
        }
    }

    /// The plainest BPE learning, for comparison: before every merge, count every adjacent pair
    /// of every word again; take the most frequent, ties to the lower ids. For sentences of
    /// ASCII words separated by single spaces, where pre-tokenization is just "▁" + word.
    func naivePieces(_ sentences: [String], size: Int, minPairFrequency: Int, minCharacterFrequency: Int = 2) -> [String] {
        var wordCounts: [String: Int] = [:]
        for sentence in sentences {
            for word in sentence.split(separator: " ") { wordCounts["▁" + word, default: 0] += 1 }
        }
        var characterCounts: [Unicode.Scalar: Int] = [:]
        for (word, count) in wordCounts {
            for scalar in word.unicodeScalars { characterCounts[scalar, default: 0] += count }
        }
        var pieces = [String](repeating: "", count: 258)
        pieces += characterCounts.filter { $0.value >= minCharacterFrequency }.keys.sorted { $0.value < $1.value }.map(String.init)
        var ids = Dictionary(uniqueKeysWithValues: pieces.enumerated().dropFirst(258).map { ($1, $0) })
        var words = wordCounts.map { word, count in (symbols: word.unicodeScalars.map { ids[String($0)] ?? -1 }, count: count) }

        while pieces.count + 1 < size {
            var pairCounts: [[Int]: Int] = [:]
            for word in words {
                for (left, right) in zip(word.symbols, word.symbols.dropFirst()) where left >= 0 && right >= 0 {
                    pairCounts[[left, right], default: 0] += word.count
                }
            }
            guard let best = pairCounts.min(by: { $0.value != $1.value ? $0.value > $1.value : $0.key.lexicographicallyPrecedes($1.key) }),
                  best.value >= minPairFrequency
            else { break }
            let text = pieces[best.key[0]] + pieces[best.key[1]]
            let merged = ids[text] ?? pieces.count
            if merged == pieces.count {
                pieces.append(text)
                ids[text] = merged
            }
            for index in words.indices {
                var symbols = words[index].symbols
                var i = 0
                while i + 1 < symbols.count {
                    if symbols[i] == best.key[0], symbols[i + 1] == best.key[1] {
                        symbols[i] = merged
                        symbols.remove(at: i + 1)
                    }
                    i += 1
                }
                words[index].symbols = symbols
            }
        }
        return Array(pieces[258...]) + ["<pad>"]
    }
}
