import Foundation
import Tokenizers

/// libFuzzer target: arbitrary bytes as a tokenizer.json (scripts/fuzz.sh builds and runs it).
///
/// Beyond "no crash", a tokenizer that loads must work: it encodes a few texts (awkward ones
/// included) to ids inside its vocabulary, decodes them, and what `jsonData()` writes loads
/// again and encodes the same.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTokenizerJSON(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    guard let tokenizer = try? Tokenizer(jsonData: Data(bytes: bytes, count: count), source: "fuzz") else { return 0 }
    let texts = ["I am a student.", "", " ", "  é\u{0}\t☃ 𝔘 ab ab  ", "Ｈｅｌｌｏ ﬁ ①", "\u{301}a\u{301}"]
    for text in texts {
        let ids = tokenizer.encode(text)
        precondition(ids.allSatisfy { (0..<tokenizer.vocabularySize).contains($0) }, "an id outside the vocabulary for \(text.debugDescription)")
        _ = tokenizer.decode(ids, skipSpecialTokens: false)
        _ = tokenizer.decode(ids)
    }
    let written = try! tokenizer.jsonData()
    let reread = try! Tokenizer(jsonData: written, source: "written")
    precondition(reread.vocabularySize == tokenizer.vocabularySize, "vocabulary size changed in the round trip")
    for text in texts {
        precondition(reread.encode(text) == tokenizer.encode(text), "encoding of \(text.debugDescription) changed in the round trip")
    }
    return 0
}
