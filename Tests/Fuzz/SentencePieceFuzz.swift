import Foundation
import Tokenizers

/// libFuzzer target: arbitrary bytes as a SentencePiece model file (scripts/fuzz.sh builds and
/// runs it).
///
/// Beyond "no crash", a model that loads must work: it encodes a few texts (malformed UTF-8 among
/// them) to ids inside the model whose pieces tile the normalized text exactly, as SentencePiece
/// requires of every segmentation, and decodes them.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSentencePiece(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    guard let model = try? SentencePieceModel(serialized: Array(UnsafeBufferPointer(start: bytes, count: count)), source: "fuzz") else {
        return 0
    }
    let texts: [[UInt8]] = ["I am a student.", "", " ", "  é\u{0}\t☃ 𝔘 ab ab  ", "Ｈｅｌｌｏ ﬁ ① …", "\u{301}a\u{301}", "<unk></s>▁▁x",
                            "KAabc\u{3000}\u{2581}"].map { Array($0.utf8) } + [[0xFF, 0x41, 0xE2, 0x96], [0xC3], [0xED, 0xA0, 0x80, 0x20]]
    var encoding = SentencePieceModel.Encoding()
    for text in texts {
        text.withUnsafeBufferPointer { model.encode($0, into: &encoding) }
        var end: Int32 = 0
        for token in encoding.tokens {
            precondition((0..<model.pieceCount).contains(Int(token.id)), "id \(token.id) outside the model")
            precondition(token.start == end && token.end > token.start, "pieces do not tile the normalized text")
            end = token.end
        }
        precondition(Int(end) == encoding.normalized.count, "pieces do not cover the normalized text")
        let ids = encoding.tokens.map { Int($0.id) }
        _ = model.decode(ids)
        _ = model.decode(pieces: encoding.tokens.map { String(decoding: model.tokenBytes($0, in: encoding), as: UTF8.self) })
    }
    return 0
}
