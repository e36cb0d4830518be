import Foundation

/// Which attention of the model a table shows.
public enum AttentionKind: String, CaseIterable, Sendable {
    /// Source tokens attending to source tokens.
    case encoder
    /// Masked self-attention: target tokens attending to themselves and the tokens before them.
    case decoder
    /// Encoder–decoder attention: target tokens attending to source tokens.
    case cross

    /// How a title names it.
    public var title: String {
        switch self {
        case .encoder: return "encoder self-attention"
        case .decoder: return "decoder masked self-attention"
        case .cross: return "encoder–decoder attention"
        }
    }
}

/// One head of a layer, or the mean of all its heads.
public enum AttentionHead: Equatable, Sendable {
    case index(Int)
    case mean
}

/// Attention weights as a table: row r (an attending token) gives how much it attends to each
/// column (an attended token). Each row of a table computed by the model sums to 1.
public struct AttentionTable: Equatable, Sendable {
    public var kind: AttentionKind
    /// Counted from 0.
    public var layer: Int
    public var head: AttentionHead
    public var rows: [String]
    public var columns: [String]
    /// (rows, columns).
    public var weights: [[Float]]

    public init(kind: AttentionKind, layer: Int, head: AttentionHead, rows: [String], columns: [String], weights: [[Float]]) {
        precondition(weights.count == rows.count && weights.allSatisfy { $0.count == columns.count },
                     "AttentionTable: weights must be \(rows.count) × \(columns.count)")
        self.kind = kind
        self.layer = layer
        self.head = head
        self.rows = rows
        self.columns = columns
        self.weights = weights
    }

    /// "encoder self-attention · layer 1 · mean of heads".
    public var title: String {
        let head: String
        switch self.head {
        case .index(let h): head = "head \(h)"
        case .mean: head = "mean of heads"
        }
        return "\(kind.title) · layer \(layer) · \(head)"
    }

    /// The column of each row's largest weight (the first one on a tie).
    public var rowMaxima: [Int] {
        weights.map { row in
            var best = 0
            for c in row.indices where row[c] > row[best] { best = c }
            return best
        }
    }

    /// Whether the cell is hidden from its row by the decoder's causal mask (a later position).
    public func isMasked(row: Int, column: Int) -> Bool {
        kind == .decoder && column > row
    }

    /// The table with pieces merged into words, so it reads like the walkthrough: a word's row
    /// is the mean of its pieces' rows (each still sums to 1) and a word's column the sum of its
    /// pieces' columns (the attention the word receives as a whole).
    public func mergingWords(rows rowTokens: TokenSequence, columns columnTokens: TokenSequence) -> AttentionTable {
        precondition(rowTokens.pieces.count == rows.count && columnTokens.pieces.count == columns.count,
                     "mergingWords: \(rowTokens.pieces.count) × \(columnTokens.pieces.count) pieces for a \(rows.count) × \(columns.count) table")
        var sums = [[Double]](repeating: [Double](repeating: 0, count: columnTokens.words.count), count: rowTokens.words.count)
        var piecesPerWord = [Int](repeating: 0, count: rowTokens.words.count)
        for (r, row) in weights.enumerated() {
            let word = rowTokens.wordOfPiece[r]
            piecesPerWord[word] += 1
            for (c, weight) in row.enumerated() { sums[word][columnTokens.wordOfPiece[c]] += Double(weight) }
        }
        let merged = zip(sums, piecesPerWord).map { row, count in row.map { Float($0 / Double(count)) } }
        return AttentionTable(kind: kind, layer: layer, head: head, rows: rowTokens.words, columns: columnTokens.words, weights: merged)
    }

    /// For each row, the column it attends to most among those not skipped (nil when every
    /// column is skipped): the hard alignment of Pharaoh format, `column-row`.
    public func hardAlignment(skippingColumns skipped: [Bool]) -> [Int?] {
        precondition(skipped.count == columns.count, "hardAlignment: \(skipped.count) flags for \(columns.count) columns")
        return weights.map { row in
            var best: Int?
            for c in row.indices where !skipped[c] {
                if best == nil || row[c] > row[best!] { best = c }
            }
            return best
        }
    }
}

/// The tokens of one side of a table and how they group into words.
///
/// A word starts at a piece that begins with "▁" (the tokenizer's mark of a preceding space);
/// a special token (`</s>`, the `<pad>` that starts decoding) is a word of its own.
public struct TokenSequence: Equatable, Sendable {
    public let pieces: [String]
    /// Whether each piece is a special token.
    public let isSpecial: [Bool]
    /// The index of each piece's word.
    public let wordOfPiece: [Int]
    /// The text of each word.
    public let words: [String]

    /// Groups `pieces`; `spell` gives the text of the pieces in a range that form a word (by
    /// default the pieces joined, without their "▁").
    public init(pieces: [String], isSpecial: [Bool], spell: ((Range<Int>) -> String)? = nil) {
        precondition(pieces.count == isSpecial.count, "TokenSequence: \(isSpecial.count) special flags for \(pieces.count) pieces")
        self.pieces = pieces
        self.isSpecial = isSpecial
        var starts: [Int] = []
        for (i, piece) in pieces.enumerated() {
            let startsWord = i == 0 || isSpecial[i] || isSpecial[i - 1] || piece.hasPrefix("▁")
            if startsWord { starts.append(i) }
        }
        var wordOfPiece: [Int] = []
        var words: [String] = []
        for (w, start) in starts.enumerated() {
            let end = w + 1 < starts.count ? starts[w + 1] : pieces.count
            wordOfPiece += Array(repeating: w, count: end - start)
            if isSpecial[start] {
                words.append(pieces[start])
            } else if let spell {
                words.append(spell(start..<end))
            } else {
                words.append(pieces[start..<end].joined().replacingOccurrences(of: "▁", with: ""))
            }
        }
        self.wordOfPiece = wordOfPiece
        self.words = words
    }

    /// Whether each word is a special token.
    public var wordIsSpecial: [Bool] {
        var flags = [Bool](repeating: false, count: words.count)
        for (piece, word) in wordOfPiece.enumerated() where isSpecial[piece] { flags[word] = true }
        return flags
    }

    /// The pieces (or, with `words`, the words).
    public func labels(words: Bool) -> [String] { words ? self.words : pieces }

    /// Whether each label (piece, or word with `words`) is a special token.
    public func labelIsSpecial(words: Bool) -> [Bool] { words ? wordIsSpecial : isSpecial }
}
