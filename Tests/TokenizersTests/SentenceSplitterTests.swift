import Tokenizers
import XCTest

/// The rule-based splitter: where English and French text is cut, where it is not, and that
/// joining the pieces gives back the text with its paragraph breaks and spacing.
final class SentenceSplitterTests: XCTestCase {
    let english = SentenceSplitter(language: .english)
    let french = SentenceSplitter(language: .french)

    func assertSplits(_ splitter: SentenceSplitter, _ text: String, _ expected: [String], file: StaticString = #filePath, line: UInt = #line) {
        let split = splitter.split(text)
        XCTAssertEqual(split.sentences, expected, text.debugDescription, file: file, line: line)
        XCTAssertEqual(split.joined(split.sentences), text, "joining the sentences gives the text back", file: file, line: line)
    }

    func testPlainSentencesSplitAtStopsBeforeCapitals() {
        // The line of issue 20 that lost its last sentence when translated whole.
        assertSplits(english, "My name is Anna. I live in Paris. I work in a bank. I have two cats. They are black.",
                     ["My name is Anna.", "I live in Paris.", "I work in a bank.", "I have two cats.", "They are black."])
        assertSplits(english, "Where are you? I'm here! Come.", ["Where are you?", "I'm here!", "Come."])
        assertSplits(english, "One sentence only.", ["One sentence only."])
        assertSplits(english, "No stop at the end", ["No stop at the end"])
    }

    func testEnglishPrefixesDoNotEndSentences() {
        assertSplits(english, "Mr. Smith met Dr. Jones and Mrs. Brown. They talked.",
                     ["Mr. Smith met Dr. Jones and Mrs. Brown.", "They talked."])
        assertSplits(english, "Prof. Lee works at Acme Inc. in town.", ["Prof. Lee works at Acme Inc. in town."])
        assertSplits(english, "It is shown in Fig. 3 and on p. 12. See No. 5 too.",
                     ["It is shown in Fig. 3 and on p. 12.", "See No. 5 too."])
    }

    func testNumericPrefixesHoldOnlyBeforeNumbers() {
        assertSplits(english, "Read No. 5 now.", ["Read No. 5 now."])
        assertSplits(english, "I said no. Then I left.", ["I said no.", "Then I left."])
    }

    func testInitialsAndAbbreviationsWithInnerStops() {
        assertSplits(english, "J. R. R. Tolkien wrote it. We read it.", ["J. R. R. Tolkien wrote it.", "We read it."])
        assertSplits(english, "Fruit, e.g. Apples, is good. I agree.", ["Fruit, e.g. Apples, is good.", "I agree."])
        assertSplits(english, "He moved to the U.S. Army base.", ["He moved to the U.S. Army base."])
    }

    func testNumbersAndLowerCaseDoNotBreak() {
        assertSplits(english, "It costs 3.50 euros. That is cheap.", ["It costs 3.50 euros.", "That is cheap."])
        assertSplits(english, "I was born in 1990. 2000 was a good year.", ["I was born in 1990.", "2000 was a good year."])
        assertSplits(english, "Apples, pears, etc. are fruit.", ["Apples, pears, etc. are fruit."])
        assertSplits(english, "Version 2.0.1 is out.", ["Version 2.0.1 is out."])
    }

    func testEllipses() {
        assertSplits(english, "Wait... What was that?", ["Wait...", "What was that?"])
        assertSplits(english, "Wait… What was that?", ["Wait…", "What was that?"])
        assertSplits(english, "Well... maybe not.", ["Well... maybe not."])
    }

    func testQuotesAndBracketsAfterTheStopStayWithTheSentence() {
        assertSplits(english, "He said \"Stop.\" Then he left.", ["He said \"Stop.\"", "Then he left."])
        assertSplits(english, "\"Stop!\" he said.", ["\"Stop!\" he said."])
        assertSplits(english, "(This is an aside.) The text goes on.", ["(This is an aside.)", "The text goes on."])
        assertSplits(english, "He left. \"Where?\" she asked.", ["He left.", "\"Where?\" she asked."])
        assertSplits(english, "It ended. (Finally.) Good.", ["It ended.", "(Finally.)", "Good."])
    }

    func testFrench() {
        assertSplits(french, "M. Dupont et Mme Martin sont là. Ils parlent.", ["M. Dupont et Mme Martin sont là.", "Ils parlent."])
        assertSplits(french, "Mlle. Durand arrive. Elle est en retard.", ["Mlle. Durand arrive.", "Elle est en retard."])
        assertSplits(french, "Voir p. 12 et n° 3. Le Dr. Roux le dit.", ["Voir p. 12 et n° 3.", "Le Dr. Roux le dit."])
        // French spacing: a space before ! ? and inside « ».
        assertSplits(french, "Bonjour ! Ça va ? Oui.", ["Bonjour !", "Ça va ?", "Oui."])
        assertSplits(french, "Il a dit : « Viens. » Puis il est parti.", ["Il a dit : « Viens. »", "Puis il est parti."])
        assertSplits(french, "Il a dit : « Viens ! » Puis il est parti.", ["Il a dit : « Viens ! »", "Puis il est parti."])
        assertSplits(french, "Je suis étudiant. Élise aussi.", ["Je suis étudiant.", "Élise aussi."])
    }

    func testTheLanguageChoosesThePrefixes() {
        // "M." is a French title, not an English one.
        XCTAssertEqual(english.split("I met M. Dupont.").sentences, ["I met M. Dupont."], "an initial in English too")
        XCTAssertEqual(french.split("Il voit Mrs. Smith.").sentences, ["Il voit Mrs.", "Smith."])
        XCTAssertEqual(english.split("Il voit Mrs. Smith.").sentences, ["Il voit Mrs. Smith."])
        let either = SentenceSplitter(languageCode: "de")
        XCTAssertTrue(either.nonBreakingPrefixes.isSuperset(of: english.nonBreakingPrefixes.union(french.nonBreakingPrefixes)))
        XCTAssertEqual(SentenceSplitter(languageCode: "FR").nonBreakingPrefixes, french.nonBreakingPrefixes)
    }

    func testParagraphsAndSpacingComeBack() {
        let text = "  First one. Second one.\n\nNew paragraph\nwrapped here.  Last!\n\n\n"
        let split = english.split(text)
        XCTAssertEqual(split.sentences, ["First one.", "Second one.", "New paragraph\nwrapped here.", "Last!"])
        XCTAssertEqual(split.separators, ["  ", " ", "\n\n", "  ", "\n\n\n"])
        XCTAssertEqual(split.sentencesOnOneLine[2], "New paragraph wrapped here.")
        XCTAssertEqual(split.joined(["A.", "B.", "C.", "D!"]), "  A. B.\n\nC.  D!\n\n\n")
    }

    func testABlankLineEndsASentenceWithoutAStop() {
        let split = english.split("A title\n\nThe text. More text")
        XCTAssertEqual(split.sentences, ["A title", "The text.", "More text"])
        XCTAssertEqual(split.joined(["1", "2", "3"]), "1\n\n2 3")
        // Spaces and tabs on the blank line still make it blank; Windows line ends too.
        XCTAssertEqual(english.split("One\n \t\nTwo").sentences, ["One", "Two"])
        XCTAssertEqual(english.split("One\r\n\r\nTwo").sentences, ["One", "Two"])
    }

    func testEmptyAndBlankText() {
        for text in ["", "   ", "\n\n"] {
            let split = english.split(text)
            XCTAssertEqual(split.sentences, [])
            XCTAssertEqual(split.joined([]), text)
        }
    }

    func testFullWidthStopsNeedNoSpace() {
        assertSplits(english, "私は学生です。彼は先生です。", ["私は学生です。", "彼は先生です。"])
    }

    /// Whatever the text, the sentences and separators tile it exactly and no sentence is blank.
    func testSplittingNeverLosesText() {
        var generator = SystemRandomNumberGenerator()
        let alphabet: [Character] = ["a", "B", " ", ".", "!", "?", "\n", "\"", "»", "«", "M", "r", "1", "…", "(", ")", "é", "\t"]
        for _ in 0..<2000 {
            let text = String((0..<Int.random(in: 0...40, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! })
            let split = SentenceSplitter(language: nil).split(text)
            XCTAssertEqual(split.joined(split.sentences), text, text.debugDescription)
            XCTAssertFalse(split.sentences.contains { $0.allSatisfy(\.isWhitespace) }, text.debugDescription)
            XCTAssertTrue(split.separators.allSatisfy { $0.allSatisfy(\.isWhitespace) }, text.debugDescription)
        }
    }
}
