import Foundation
import Rendering

extension Walkthrough {
    /// The walkthrough for an 80-column terminal; its last line is the translation.
    public func text(shading: AttentionRenderer.Shading = .none) -> String {
        let tables = AttentionRenderer(precision: 2, shading: shading, maxWidth: 80)
        var out: [String] = []
        out += wrap("Walkthrough of \(quoted(sentence)) through \(modelSummary).")
        out.append("")

        func section(_ step: Int) {
            out.append("\(step + 1). \(Self.stepTitles[step])")
            out += wrap(explanation(step: step, code: { "\"\($0)\"" }, strongest: "* marks the strongest"))
        }
        section(0)
        out.append("")
        let dimensions = "first \(shownDimensions) dimensions"
        out.append("  " + pad("piece", 12) + pad("id", 6, right: true) + "  " + pad(dimensions, shownDimensions * 6) + pad("norm", 7, right: true))
        for (position, piece) in sourcePieces.enumerated() {
            out.append("  " + pad(piece.piece, 12) + pad(String(piece.id), 6, right: true) + "  " + vector(piece.embedding) + pad(format(piece.embeddingNorm), 7, right: true))
            out.append("  " + pad("  + position \(position)", 20) + vector(piece.position) + pad(format(piece.positionNorm), 7, right: true))
        }
        out.append("")

        section(1)
        out.append("")
        out.append(tables.text([encoderSelfAttention]))

        section(2)
        out.append("")
        out.append(tables.text([decoderSelfAttention]))

        section(3)
        out.append("")
        for row in crossAttention {
            let sources = row.sources.map { pad($0.token, 12) + " " + format($0.weight) }.joined(separator: "   ")
            out.append("  " + pad(row.word, 12) + " ← " + sources)
        }
        out.append("")

        section(4)
        for (step, item) in generation.enumerated() {
            out.append("")
            out.append("  step \(step + 1), after \(item.outputSoFar.isEmpty ? "the start token" : quoted(item.outputSoFar)):")
            for candidate in item.candidates {
                let bar = String(repeating: "█", count: Int((candidate.weight * 40).rounded()))
                out.append("    " + pad(candidate.token, 14) + " " + probability(candidate.weight) + (bar.isEmpty ? "" : "  " + bar))
            }
            out.append("    → \(item.chosen.token)")
        }
        out.append("")
        out.append("The translation:")
        out.append(translation)
        return out.joined(separator: "\n") + "\n"
    }

    /// The walkthrough as a markdown document; its last line is the translation.
    public func markdown() -> String {
        let tables = AttentionRenderer(precision: 2)
        let code = AttentionRenderer.markdownCode
        var out: [String] = []
        out.append("# Walkthrough of \(quoted(sentence))")
        out.append("")
        out.append("Through \(modelSummary).")
        out.append("")

        func section(_ step: Int) {
            out += ["## \(step + 1). \(Self.stepTitles[step])", "", explanation(step: step, code: code, strongest: "the strongest in bold"), ""]
        }
        section(0)
        out.append("| piece | id | first \(shownDimensions) dimensions | norm |")
        out.append("| --- | ---: | --- | ---: |")
        for (position, piece) in sourcePieces.enumerated() {
            out.append("| \(code(piece.piece)) | \(piece.id) | \(piece.embedding.map(format).joined(separator: " ")) | \(format(piece.embeddingNorm)) |")
            out.append("| + position \(position) | | \(piece.position.map(format).joined(separator: " ")) | \(format(piece.positionNorm)) |")
        }
        out.append("")

        section(1)
        out.append(tables.markdown([encoderSelfAttention]))

        section(2)
        out.append(tables.markdown([decoderSelfAttention]))

        section(3)
        out.append("| output word | source words it attended to most |")
        out.append("| --- | --- |")
        for row in crossAttention {
            out.append("| \(code(row.word)) | \(row.sources.map { "\(code($0.token)) \(format($0.weight))" }.joined(separator: ", ")) |")
        }
        out.append("")

        section(4)
        out.append("| step | output so far | the \(Walkthrough.candidateCount) most probable next pieces | chosen |")
        out.append("| ---: | --- | --- | --- |")
        for (step, item) in generation.enumerated() {
            let candidates = item.candidates.map { "\(code($0.token)) \(probability($0.weight))" }.joined(separator: ", ")
            let soFar = item.outputSoFar.isEmpty ? "" : AttentionRenderer.markdownCode(item.outputSoFar)
            out.append("| \(step + 1) | \(soFar) | \(candidates) | \(code(item.chosen.token)) |")
        }
        out.append("")
        out.append("## The translation")
        out.append("")
        out.append(translation)
        return out.joined(separator: "\n") + "\n"
    }

    static let stepTitles = ["Pieces, ids and embeddings", "Encoder self-attention", "Decoder masked self-attention, as the output grows",
                             "Encoder–decoder attention", "Generation, step by step"]

    /// What step `step` (from 0) shows, for text and markdown alike: `code` marks up a token,
    /// `strongest` says how a row's largest weight is marked.
    func explanation(step: Int, code: (String) -> String, strongest: String) -> String {
        switch step {
        case 0:
            return "The tokenizer cuts the sentence into pieces (\(code("▁")) marks a space before) and adds \(code("</s>")). Each piece's id picks a row of the embedding matrix; × \(format(embeddingScale)) (√\(config.modelWidth)) and plus the sinusoid of its position, it is the encoder's input. Shown: the first \(shownDimensions) of \(config.modelWidth) dimensions, and the norm of all."
        case 1:
            return "Every source word looks at every source word. A row shows where its word looks: the weights of the last encoder layer, averaged over its \(config.encoderHeads) heads, pieces merged into words; \(strongest)."
        case 2:
            return "The decoder starts from \(code(decoderSelfAttention.rows.first ?? "")) and reads one more output word at each step. Each row is a step: the word it reads looks only at itself and the words before it (· = hidden by the mask)."
        case 3:
            return "When the decoder chooses an output word, it looks at the source. The source words each output word attended to most (last layer, mean of heads):"
        default:
            return "At each step the decoder gives a probability to every piece of the vocabulary; greedy search takes the most probable, until \(code("</s>"))."
        }
    }

    var shownDimensions: Int { sourcePieces.first?.embedding.count ?? Walkthrough.shownDimensions }

    var modelSummary: String {
        "a Transformer of width \(config.modelWidth), \(config.encoderLayers) encoder and \(config.decoderLayers) decoder layers, \(config.encoderHeads) heads"
    }

    func quoted(_ text: String) -> String { "\"\(text)\"" }

    func format(_ value: Float) -> String { String(format: "%.2f", value) }

    /// Three decimals: a confident model leaves the runners-up well below 0.01.
    func probability(_ value: Float) -> String { String(format: "%.3f", value) }

    /// Eight numbers of a vector, six characters each.
    func vector(_ values: [Float]) -> String {
        values.map { pad(format($0), 6, right: true) }.joined()
    }

    func pad(_ text: String, _ width: Int, right: Bool = false) -> String {
        AttentionRenderer.padded(text, width, right: right)
    }

    /// A paragraph broken into lines of at most 78 characters.
    func wrap(_ paragraph: String, width: Int = 78) -> [String] { wrappedLines(paragraph, width: width) }
}
