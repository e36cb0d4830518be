/// Unigram segmentation as SentencePiece's optimized encoder does it (unigram_model.cc,
/// `EncodeOptimized`): one left-to-right Viterbi pass over UTF-8 positions keeping, for each
/// position, the best path that ends there.
///
/// The arithmetic is SentencePiece's, because ties and near-ties decide segmentations: path scores
/// are float sums, and a later candidate replaces the path recorded at a position only when it is
/// strictly higher. (Its source adds and compares in double precision, but the released library
/// rounds to float: scripts/sentencepiece-parity.py found double-precision comparison differing
/// on 16 of 553 strings of one model, float on none.) USER_DEFINED pieces score
/// `length × max_score − 0.1`, where max_score starts from FLT_MIN (the smallest positive float),
/// so with the usual negative scores that is ≈ −0.1 whatever the length.
struct UnigramSegmenter: Sendable {
    /// NORMAL and USER_DEFINED pieces → id. (SentencePiece's trie has the UNUSED pieces too, and
    /// skips them when it finds them: leaving them out finds the same.)
    let trie: PieceTrie
    /// By id: the score a piece adds to a path (a USER_DEFINED piece's depends only on its length).
    let scores: [Float]
    let unknownId: Int
    /// Lowest score of a NORMAL piece minus 10.
    let unknownScore: Float

    init(pieces: [ModelProto.Piece], unknownId: Int) {
        var minScore = Float.greatestFiniteMagnitude
        var maxScore = Float.leastNormalMagnitude
        for piece in pieces where piece.type == .normal {
            minScore = min(minScore, piece.score)
            maxScore = max(maxScore, piece.score)
        }
        scores = pieces.map { piece in
            piece.type == .userDefined ? Float(Double(Float(piece.piece.count) * maxScore) - 0.1) : piece.score
        }
        trie = PieceTrie(pieces.indices.filter { pieces[$0].type == .normal || pieces[$0].type == .userDefined }
            .map { (pieces[$0].piece, $0) })
        self.unknownId = unknownId
        unknownScore = minScore - 10
    }

    /// The best path ending at a position: its last piece and where that starts.
    struct PathEnd {
        var id: Int32 = -1
        var score: Float = 0
        var start: Int32 = -1
    }

    /// Appends the pieces of the best segmentation of `text` to `pieces` as (id, start, end);
    /// `ends` is scratch space.
    func segment(_ text: UnsafeBufferPointer<UInt8>, ends: inout [PathEnd], into pieces: inout [RawPiece]) {
        let count = text.count
        guard count > 0 else { return }
        ends.removeAll(keepingCapacity: true)
        ends.append(contentsOf: repeatElement(PathEnd(), count: count + 1))
        scores.withUnsafeBufferPointer { scores in
            ends.withUnsafeMutableBufferPointer { ends in
                forward(text, scores: scores, ends: ends)
            }
        }
        // Back from the end along the recorded starts.
        let first = pieces.count
        var end = count
        while end > 0 {
            let node = ends[end]
            guard node.start >= 0 else { break }  // cannot happen: every character boundary is reached
            pieces.append(RawPiece(id: node.id, start: node.start, end: Int32(end)))
            end = Int(node.start)
        }
        pieces[first...].reverse()
    }

    @inline(__always)
    private func forward(_ text: UnsafeBufferPointer<UInt8>, scores: UnsafeBufferPointer<Float>, ends: UnsafeMutableBufferPointer<PathEnd>) {
        let count = text.count
        var start = 0
        while start < count {
            let scoreHere = ends[start].score
            let characterLength = min(SentencePieceUTF8.characterLength(lead: text[start]), count - start)
            var hasSingleCharacterPiece = false
            trie.forEachPrefix(of: text, from: start) { end, id in
                let length = end - start
                let candidate = scores[id] + scoreHere
                if ends[end].start == -1 || candidate > ends[end].score {
                    ends[end] = PathEnd(id: Int32(id), score: candidate, start: Int32(start))
                }
                if length == characterLength { hasSingleCharacterPiece = true }
            }
            if !hasSingleCharacterPiece {
                let end = start + characterLength
                let candidate = unknownScore + scoreHere
                if ends[end].start == -1 || candidate > ends[end].score {
                    ends[end] = PathEnd(id: Int32(unknownId), score: candidate, start: Int32(start))
                }
            }
            start += characterLength
        }
    }
}

/// A piece of a segmentation before unknown pieces are merged or split into bytes: its id and
/// its byte range in the normalized text.
struct RawPiece {
    var id: Int32
    var start: Int32
    var end: Int32
}
