import Tensor
import Tokenizers

/// Which layers to show: one (counted from 0), the last, or all.
public enum LayerSelection: Equatable, Sendable {
    case index(Int)
    case last
    case all
}

/// Which heads to show: one (counted from 0), their mean, or each.
public enum HeadSelection: Equatable, Sendable {
    case index(Int)
    case mean
    case all
}

/// A request the model cannot answer (a layer or head it does not have), in one line.
public struct InspectionError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A source and an output run through the model at once with teacher forcing, keeping every
/// attention map — the numbers `nmt attention` prints and the walkthrough explains.
///
/// The decoder reads the start token and the output but its last token, so decoder position t
/// reads `decoderInputIds[t]` and predicts `outputIds[t]`; for the model's own translation these
/// are exactly the positions and attention of the search's steps.
public struct AttentionRecording {
    /// The source's pieces and EOS.
    public let sourceIds: [Int]
    /// What the decoder reads (T ids): the start token, then the output without its last token.
    public let decoderInputIds: [Int]
    /// What each decoder position predicts (T ids): a translation or a target, normally ending with EOS.
    public let outputIds: [Int]
    /// Per layer (H, S, S).
    public let encoderSelfAttention: [Tensor]
    /// Per layer (H, T, T); position t sees positions 0 … t.
    public let decoderSelfAttention: [Tensor]
    /// Per layer (H, T, S).
    public let crossAttention: [Tensor]
    /// (T, Vt): the scores of the token after each decoder position.
    public let logits: Tensor
    /// EOS and the start (pad) token: each a word of its own, and never aligned.
    public let specialIds: Set<Int>

    /// Runs `sourceIds` (ending with EOS) through the encoder and `outputIds` (shifted right
    /// behind the start token) through the decoder, with no tape.
    public init(model: Transformer, sourceIds: [Int], outputIds: [Int]) {
        precondition(!sourceIds.isEmpty && !outputIds.isEmpty, "AttentionRecording: empty source or output")
        let config = model.config
        let tape = Tape.inference
        self.sourceIds = sourceIds
        self.outputIds = outputIds
        decoderInputIds = [config.decoderStartId] + outputIds.dropLast()
        specialIds = [config.eosId, config.padId, config.decoderStartId]
        let T = decoderInputIds.count
        let encoded = model.encode(SourceBatch(sequences: [sourceIds], padId: config.padId), tape: tape)
        let decoded = model.decode(inputIds: decoderInputIds.map(Int32.init), batch: 1, length: T, encoderOutput: encoded, tape: tape)
        logits = model.logits(decoded.hidden, tape: tape).reshaped([T, config.targetVocabularySize])
        // A batch of one: drop B.
        let unbatched = { (t: Tensor) in t.reshaped(Array(t.shape.dropFirst())) }
        encoderSelfAttention = encoded.selfAttention.map(unbatched)
        decoderSelfAttention = decoded.selfAttention.map(unbatched)
        crossAttention = decoded.crossAttention.map(unbatched)
    }

    /// Per layer (H, rows, columns).
    public func attention(_ kind: AttentionKind) -> [Tensor] {
        switch kind {
        case .encoder: return encoderSelfAttention
        case .decoder: return decoderSelfAttention
        case .cross: return crossAttention
        }
    }

    /// The source tokens (rows and columns of the encoder's tables, columns of the cross tables).
    public func sourceTokens(_ tokenizer: any TranslationTokenizer) -> TokenSequence {
        TokenSequence(ids: sourceIds, side: .source, tokenizer: tokenizer, specialIds: specialIds)
    }

    /// The tokens the decoder reads (rows of the decoder's and the cross tables).
    public func targetTokens(_ tokenizer: any TranslationTokenizer) -> TokenSequence {
        TokenSequence(ids: decoderInputIds, side: .target, tokenizer: tokenizer, specialIds: specialIds)
    }

    /// The tokens the decoder predicts, one for each of its positions.
    public func outputTokens(_ tokenizer: any TranslationTokenizer) -> TokenSequence {
        TokenSequence(ids: outputIds, side: .target, tokenizer: tokenizer, specialIds: specialIds)
    }

    /// One layer's table of pieces: a head, or the mean of the heads.
    public func table(_ kind: AttentionKind, layer: Int, head: AttentionHead, source: TokenSequence, target: TokenSequence) -> AttentionTable {
        let t = attention(kind)[layer]
        let (H, R, C) = (t.size(0), t.size(1), t.size(2))
        let weights: [[Float]] = (0..<R).map { r in
            (0..<C).map { c in
                switch head {
                case .index(let h):
                    return t.data[(h * R + r) * C + c]
                case .mean:
                    var sum = 0.0
                    for h in 0..<H { sum += Double(t.data[(h * R + r) * C + c]) }
                    return Float(sum / Double(H))
                }
            }
        }
        let (rows, columns) = Self.sides(of: kind, source: source, target: target)
        return AttentionTable(kind: kind, layer: layer, head: head, rows: rows.pieces, columns: columns.pieces, weights: weights)
    }

    /// The tokens of the rows and of the columns of `kind`'s tables.
    static func sides(of kind: AttentionKind, source: TokenSequence, target: TokenSequence) -> (rows: TokenSequence, columns: TokenSequence) {
        switch kind {
        case .encoder: return (source, source)
        case .decoder: return (target, target)
        case .cross: return (target, source)
        }
    }

    /// The layers of `kind`'s stack that `selection` names; a layer the model does not have is
    /// an error naming the ones it has.
    public func layers(_ selection: LayerSelection, of kind: AttentionKind) throws -> [Int] {
        let count = attention(kind).count
        switch selection {
        case .index(let l):
            guard (0..<count).contains(l) else {
                throw InspectionError("layer \(l) is out of range: the \(Self.stackName(kind)) has layers \(Self.range(count))")
            }
            return [l]
        case .last: return [count - 1]
        case .all: return Array(0..<count)
        }
    }

    /// The heads of `kind`'s attention that `selection` names; a head the model does not have is
    /// an error naming the ones it has.
    public func heads(_ selection: HeadSelection, of kind: AttentionKind) throws -> [AttentionHead] {
        let count = attention(kind)[0].size(0)
        switch selection {
        case .index(let h):
            guard (0..<count).contains(h) else {
                throw InspectionError("head \(h) is out of range: the \(kind.title) has heads \(Self.range(count))")
            }
            return [.index(h)]
        case .mean: return [.mean]
        case .all: return (0..<count).map { .index($0) }
        }
    }

    /// The tables asked for, kind by kind, layer by layer, head by head; with `words`, of words.
    public func tables(kinds: [AttentionKind], layers: LayerSelection, heads: HeadSelection,
                       source: TokenSequence, target: TokenSequence, words: Bool) throws -> [AttentionTable] {
        var tables: [AttentionTable] = []
        for kind in kinds {
            let chosenHeads = try self.heads(heads, of: kind)
            for layer in try self.layers(layers, of: kind) {
                for head in chosenHeads {
                    let table = self.table(kind, layer: layer, head: head, source: source, target: target)
                    let (rows, columns) = Self.sides(of: kind, source: source, target: target)
                    tables.append(words ? table.mergingWords(rows: rows, columns: columns) : table)
                }
            }
        }
        return tables
    }

    /// The encoder–decoder attention of each output token: the row of the decoder position that
    /// predicted it, labelled with what it predicted (with `words`, merged into output words).
    /// This is the attention an alignment reads: it is what the model looked at when it chose
    /// the token.
    public func crossAttentionOfOutputs(layer: Int, head: AttentionHead, source: TokenSequence, output: TokenSequence,
                                        words: Bool) -> AttentionTable {
        let table = self.table(.cross, layer: layer, head: head, source: source, target: output)
        return words ? table.mergingWords(rows: output, columns: source) : table
    }

    static func stackName(_ kind: AttentionKind) -> String { kind == .encoder ? "encoder" : "decoder" }

    /// "0–3", or "0" for one.
    static func range(_ count: Int) -> String { count == 1 ? "0" : "0–\(count - 1)" }
}

extension TokenSequence {
    /// Which vocabulary ids belong to (they differ in models with separate vocabularies).
    public enum Side: Sendable { case source, target }

    /// The pieces of `ids` in `tokenizer`'s vocabulary of `side`, with words spelled as the
    /// tokenizer decodes them; `specialIds` are words of their own.
    public init(ids: [Int], side: Side, tokenizer: any TranslationTokenizer, specialIds: Set<Int>) {
        let piece = { (id: Int) in (side == .source ? tokenizer.sourcePiece(for: id) : tokenizer.targetPiece(for: id)) ?? "<\(id)>" }
        self.init(pieces: ids.map(piece), isSpecial: ids.map(specialIds.contains)) { range in
            let part = Array(ids[range])
            return side == .source ? tokenizer.decodeSource(part, skipSpecialTokens: false) : tokenizer.decodeTarget(part, skipSpecialTokens: false)
        }
    }
}

extension AttentionTable {
    /// The hard alignment in Pharaoh format ("0-0 1-1 2-3", source index first), for a table
    /// whose rows are output tokens and whose columns are source tokens: each row but the
    /// special ones is aligned to the column it attends to most, special columns left out.
    public func pharaohAlignment(rowIsSpecial: [Bool], columnIsSpecial: [Bool]) -> String {
        precondition(rowIsSpecial.count == rows.count, "pharaohAlignment: \(rowIsSpecial.count) flags for \(rows.count) rows")
        return zip(hardAlignment(skippingColumns: columnIsSpecial).enumerated(), rowIsSpecial)
            .compactMap { item, special in
                guard !special, let column = item.element else { return nil }
                return "\(column)-\(item.offset)"
            }
            .joined(separator: " ")
    }
}
