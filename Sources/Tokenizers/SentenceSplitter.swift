import Foundation

/// Cuts text into sentences by rule, the way a translation model trained on single sentences
/// wants its input, and keeps what lies between them so the translations can be put back with
/// the text's own paragraph breaks and spacing.
///
/// A sentence ends at a run of `.` `!` `?` `…` (and any closing quotes or brackets right after
/// it, French `»` after a space included) that is followed by whitespace and then by an upper-case
/// letter or a digit, possibly behind opening quotes or brackets. A lone `.` does not end a
/// sentence after a non-breaking prefix (`Mr.`, `Dr.`, `M.`, `Mme.`…), an initial (`J.`), an
/// abbreviation with inner stops (`U.S.`, `e.g.`), or a prefix that only stands before numbers
/// (`No. 5`, `p. 12`). A blank line always ends a sentence (a paragraph break); a single line
/// break is whitespace inside a paragraph. `。！？` end a sentence with no space after them.
public struct SentenceSplitter: Sendable {
    /// The languages whose abbreviations the splitter knows.
    public enum Language: String, Sendable, CaseIterable {
        case english = "en"
        case french = "fr"
    }

    /// Words that a `.` follows without ending the sentence, whatever comes next.
    public let nonBreakingPrefixes: Set<String>
    /// Words that a `.` follows without ending the sentence when a number comes next.
    public let numericPrefixes: Set<String>

    /// A splitter with the abbreviations of `language`; nil: those of every known language
    /// (for text in a language the splitter has no list for).
    public init(language: Language?) {
        let languages = language.map { [$0] } ?? Language.allCases
        nonBreakingPrefixes = languages.reduce(into: Set()) { union, language in union.formUnion(Self.prefixes[language]!.always) }
        numericPrefixes = languages.reduce(into: Set()) { union, language in union.formUnion(Self.prefixes[language]!.beforeNumbers) }
    }

    /// A splitter for an ISO 639-1 code ("en", "fr"); other codes get every known list.
    public init(languageCode: String) {
        self.init(language: Language(rawValue: languageCode.lowercased()))
    }

    // Titles, honorifics and common abbreviations (`always`), and those that stand before a
    // number (`beforeNumbers`). Single capital letters are initials in every language.
    static let prefixes: [Language: (always: Set<String>, beforeNumbers: Set<String>)] = [
        .english: (
            always: ["Mr", "Mrs", "Ms", "Mx", "Dr", "Prof", "St", "Sr", "Jr", "Rev", "Hon", "Gen", "Col", "Capt", "Lt", "Sgt",
                     "Gov", "Sen", "Rep", "Pres", "Messrs", "Mt", "Ft", "Ave", "Blvd", "Rd", "Inc", "Ltd", "Co", "Corp",
                     "Dept", "Univ", "vs", "Vs", "cf", "Cf", "approx", "Approx", "ca", "viz", "al", "Jan", "Feb", "Mar",
                     "Apr", "Jun", "Jul", "Aug", "Sep", "Sept", "Oct", "Nov", "Dec", "esp", "incl", "Fig", "fig", "Eq", "eq",
                     "Vol", "vol", "eds"],
            beforeNumbers: ["No", "no", "Nos", "nos", "Art", "art", "p", "pp", "Nr", "nr", "Sec", "sec", "Ref", "ref"]),
        .french: (
            always: ["M", "MM", "Mme", "Mmes", "Mlle", "Mlles", "Me", "Mgr", "Dr", "Drs", "Pr", "St", "Ste", "Sts", "Stes",
                     "Cie", "Ets", "av", "Av", "bd", "Bd", "boul", "cf", "Cf", "env", "Env", "ex", "Ex", "éd", "Éd", "coll",
                     "dir", "trad", "janv", "févr", "avr", "juil", "sept", "oct", "nov", "déc", "apr", "Apr",
                     "fig", "Fig", "vol", "Vol", "chap", "Chap", "t", "suiv", "resp", "hab"],
            beforeNumbers: ["n", "N", "no", "No", "nº", "n°", "art", "Art", "p", "pp", "al", "Al", "tél", "Tél", "ch"]),
    ]

    /// The sentences of `text` and the whitespace around them.
    public func split(_ text: String) -> SplitText {
        let characters = Array(text)
        var sentences: [String] = [], separators: [String] = []
        var index = 0   // start of the whitespace before the next sentence
        for paragraph in Self.paragraphs(characters) {
            var start = paragraph.lowerBound
            var position = start
            while position < paragraph.upperBound {
                guard let boundary = sentenceEnd(characters, at: position, before: paragraph.upperBound) else {
                    position += 1
                    continue
                }
                separators.append(String(characters[index..<start]))
                sentences.append(String(characters[start..<boundary.end]))
                index = boundary.end
                start = boundary.next
                position = boundary.next
            }
            separators.append(String(characters[index..<start]))
            sentences.append(String(characters[start..<paragraph.upperBound]))
            index = paragraph.upperBound
        }
        separators.append(String(characters[index...]))
        return SplitText(sentences: sentences, separators: separators)
    }

    /// The paragraphs of the text without their surrounding whitespace: stretches between blank
    /// lines (whitespace holding two line breaks or more), none of them empty.
    static func paragraphs(_ characters: [Character]) -> [Range<Int>] {
        var result: [Range<Int>] = []
        var start: Int?, position = 0
        while position < characters.count {
            guard characters[position].isWhitespace else {
                if start == nil { start = position }
                position += 1
                continue
            }
            var end = position, newlines = 0
            while end < characters.count, characters[end].isWhitespace {
                if characters[end].isNewline { newlines += 1 }
                end += 1
            }
            if let first = start, newlines >= 2 || end == characters.count {
                result.append(first..<position)
                start = nil
            }
            position = end
        }
        if let first = start { result.append(first..<characters.count) }
        return result
    }

    static let stops: Set<Character> = [".", "!", "?", "…"]
    static let fullWidthStops: Set<Character> = ["。", "！", "？"]
    static let closers: Set<Character> = ["\"", "'", ")", "]", "}", "»", "”", "’", "›", "」", "』", "）"]
    static let openers: Set<Character> = ["\"", "'", "(", "[", "{", "«", "“", "‘", "‹", "¿", "¡", "「", "『", "（", "-", "–", "—"]
    /// Spaces French sets before `»`, `!` and `?` (a plain, no-break or narrow no-break space).
    static let inlineSpaces: Set<Character> = [" ", "\u{00A0}", "\u{202F}"]

    /// Where the sentence ends if a run of stops begins at `position`: the end of the sentence
    /// (after the stops and closers) and the start of the next one, before `limit`.
    func sentenceEnd(_ characters: [Character], at position: Int, before limit: Int) -> (end: Int, next: Int)? {
        let first = characters[position]
        let fullWidth = Self.fullWidthStops.contains(first)
        guard Self.stops.contains(first) || fullWidth else { return nil }
        var end = position
        while end < limit, Self.stops.contains(characters[end]) || Self.fullWidthStops.contains(characters[end]) { end += 1 }
        let stopRun = characters[position..<end]
        // Closing quotes and brackets belong to the sentence, French `»` after its space too.
        while end < limit {
            if Self.closers.contains(characters[end]) { end += 1; continue }
            var after = end
            while after < limit, Self.inlineSpaces.contains(characters[after]) { after += 1 }
            if after > end, after < limit, characters[after] == "»" { end = after + 1; continue }
            break
        }
        var next = end
        while next < limit, characters[next].isWhitespace { next += 1 }
        guard next < limit else { return nil }   // the paragraph's end ends the sentence anyway
        if fullWidth { return (end, next) }
        guard next > end, startsSentence(characters, at: next, before: limit) else { return nil }
        // A run with ! ? … or two stops ends the sentence; a lone "." depends on the word before it.
        guard stopRun.count == 1, first == "." else { return (end, next) }
        let word = wordBefore(characters, position: position)
        if word.isEmpty { return (end, next) }
        if nonBreakingPrefixes.contains(word) { return nil }
        if word.count == 1, word.first!.isUppercase { return nil }                          // an initial
        if word.contains("."), word.contains(where: \.isLetter) { return nil }              // U.S., e.g.
        if numericPrefixes.contains(word), Self.firstSignificant(characters, at: next, before: limit)?.isNumber == true { return nil }
        return (end, next)
    }

    /// Whether the text at `position` can start a sentence: an upper-case letter or a digit,
    /// possibly behind opening quotes and brackets.
    func startsSentence(_ characters: [Character], at position: Int, before limit: Int) -> Bool {
        guard let first = Self.firstSignificant(characters, at: position, before: limit) else { return false }
        return first.isUppercase || first.isNumber
    }

    /// The first character at or after `position` that is not an opener or inline space.
    static func firstSignificant(_ characters: [Character], at position: Int, before limit: Int) -> Character? {
        var index = position
        while index < limit, openers.contains(characters[index]) || inlineSpaces.contains(characters[index]) { index += 1 }
        return index < limit ? characters[index] : nil
    }

    /// The word that ends right before `position`, without the openers in front of it.
    func wordBefore(_ characters: [Character], position: Int) -> String {
        var start = position
        while start > 0, !characters[start - 1].isWhitespace { start -= 1 }
        while start < position, Self.openers.contains(characters[start]) { start += 1 }
        return String(characters[start..<position])
    }
}

/// A text cut into sentences, with the whitespace before, between and after them kept as it was.
public struct SplitText: Equatable, Sendable {
    /// The sentences, each exactly as it stands in the text (inner line breaks included).
    public let sentences: [String]
    /// `sentences.count + 1` stretches of whitespace: before the first sentence, between each
    /// two, after the last. For text that is all whitespace, the one stretch is the whole text.
    public let separators: [String]

    public init(sentences: [String], separators: [String]) {
        precondition(separators.count == sentences.count + 1, "SplitText: \(separators.count) separators for \(sentences.count) sentences")
        self.sentences = sentences
        self.separators = separators
    }

    /// The sentences with runs of whitespace inside them (a hard-wrapped line) made one space,
    /// as a model trained on one-line sentences expects them.
    public var sentencesOnOneLine: [String] {
        sentences.map { $0.split(whereSeparator: \.isWhitespace).joined(separator: " ") }
    }

    /// The text again with each sentence replaced by its counterpart in `replacements` (its
    /// translation), the paragraph breaks and spacing kept: `joined(sentences)` is the text.
    public func joined(_ replacements: [String]) -> String {
        precondition(replacements.count == sentences.count, "SplitText.joined: \(replacements.count) replacements for \(sentences.count) sentences")
        var text = separators[0]
        for (replacement, separator) in zip(replacements, separators.dropFirst()) {
            text += replacement
            text += separator
        }
        return text
    }
}
