import Foundation
import Tokenizers

extension BenchTokenize {
    /// Encoding speed of a SentencePiece model: one `encode` call (text → ids) per line, the
    /// model loaded once; with --peer-python, the `sentencepiece` package on the same file and
    /// lines (scripts/sentencepiece_encode_ref.py, one thread) in the same invocation.
    func encodeSentencePiece(_ lines: [String], bytes: Int) throws -> [(metric: String, value: Double, unit: String)] {
        let model = try SentencePieceModel(contentsOf: URL(fileURLWithPath: tokenizer))
        var tokens = 0
        let seconds = medianSeconds(repeats: options.repeats) {
            tokens = 0
            for line in lines { tokens += model.encode(line).count }
        }
        var figures = [("encode nmt", Double(lines.count) / seconds, "lines/s"), ("encode nmt tokens", Double(tokens) / seconds, "tokens/s"),
                       ("encode nmt bytes", Double(bytes) / seconds / 1e6, "MB/s")]
        if let peerPython {
            let output = try runPeer(peerPython, "scripts/sentencepiece_encode_ref.py", [tokenizer, corpus, String(options.repeats)])
            let peer = try number(in: output, before: " lines/s", after: "sentencepiece encode (one call per line)")
            figures += [("encode sentencepiece", peer, "lines/s"), ("encode speed nmt/sentencepiece", Double(lines.count) / seconds / peer, "x")]
        }
        return figures
    }
}
