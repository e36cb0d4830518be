/// The added tokens of a Marian folder (`</s>`, `<unk>`, `<pad>` and whatever else
/// tokenizer_config.json's `added_tokens_decoder` lists): matched in the raw text before
/// SentencePiece sees it, as transformers' slow tokenizers do.
struct MarianAddedTokens: Sendable {
    struct Token: Sendable {
        var content: String
        var id: Int
        /// Dropped by `decode(…, skip_special_tokens=True)` and kept out of SentencePiece decoding.
        var special: Bool
        var leftStrip = false
        var rightStrip = false
        var singleWord = false
    }

    let tokens: [Token]

    /// The token whose content is `text` (the last one listed, as transformers' dict keeps it).
    func token(content text: Substring) -> Token? {
        tokens.last { $0.content.utf8.elementsEqual(text.utf8) }
    }

    func token(id: Int) -> Token? {
        tokens.last { $0.id == id }
    }

    /// `text` cut at every added token, with transformers' whitespace rules for tokens that strip
    /// (`lstrip`, `rstrip`) or must stand alone (`single_word`) applied to the neighbours. A
    /// piece that equals a token's content is that token.
    func split(_ text: String) -> [Substring] {
        var pieces = cut(text)
        guard tokens.contains(where: { $0.leftStrip || $0.rightStrip || $0.singleWord }) else { return pieces }
        // transformers' loop, which edits the list as it walks it.
        for index in pieces.indices {
            guard let token = token(content: pieces[index]) else { continue }
            let left: Substring? = index > 0 ? pieces[index - 1] : nil
            let right: Substring? = index < pieces.count - 1 ? pieces[index + 1] : nil
            if token.rightStrip, let right, !right.isEmpty { pieces[index + 1] = PythonString.leftStripped(right) }
            if token.leftStrip, let left, !left.isEmpty { pieces[index - 1] = PythonString.rightStripped(left) }
            if token.singleWord {
                // Python looks at the neighbours as they were, and extends them as they are.
                if let left, !left.isEmpty, left.unicodeScalars.last != " " {
                    pieces[index - 1] = Substring(String(pieces[index - 1]) + pieces[index])
                    pieces[index] = ""
                } else if let right, !right.isEmpty, right.unicodeScalars.first != " " {
                    pieces[index + 1] = Substring(String(pieces[index]) + String(pieces[index + 1]))
                    pieces[index] = ""
                }
            }
        }
        return pieces
    }

    /// The text cut before and after each occurrence of a token, leftmost first and the longest
    /// token where several start at one place (what transformers' trie finds for tokens of which
    /// none is inside another, as Marian's are).
    private func cut(_ text: String) -> [Substring] {
        let utf8 = text.utf8
        let firstBytes = Set(tokens.compactMap { $0.content.utf8.first })
        guard utf8.contains(where: firstBytes.contains) else { return text.isEmpty ? [] : [text[...]] }
        var pieces: [Substring] = []
        var pieceStart = utf8.startIndex
        var position = utf8.startIndex
        while position < utf8.endIndex {
            let rest = utf8[position...]
            let match = tokens.filter { rest.starts(with: $0.content.utf8) }.max { $0.content.utf8.count < $1.content.utf8.count }
            guard let match else {
                position = utf8.index(after: position)
                continue
            }
            if pieceStart < position { pieces.append(text[pieceStart..<position]) }
            let end = utf8.index(position, offsetBy: match.content.utf8.count)
            pieces.append(text[position..<end])
            position = end
            pieceStart = end
        }
        if pieceStart < utf8.endIndex { pieces.append(text[pieceStart...]) }
        return pieces
    }
}

/// Python's `str.strip()` family without arguments: whitespace is what `str.isspace()` says,
/// which includes U+001C…U+001F and U+0085, unlike Swift's `Character.isWhitespace`.
enum PythonString {
    static func isWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000: return true
        default: return false
        }
    }

    static func leftStripped(_ text: Substring) -> Substring {
        let scalars = text.unicodeScalars
        return Substring(scalars[(scalars.firstIndex { !isWhitespace($0) } ?? scalars.endIndex)...])
    }

    static func rightStripped(_ text: Substring) -> Substring {
        let scalars = text.unicodeScalars
        guard let last = scalars.lastIndex(where: { !isWhitespace($0) }) else { return "" }
        return Substring(scalars[...last])
    }

    static func stripped(_ text: Substring) -> Substring { rightStripped(leftStripped(text)) }
}
