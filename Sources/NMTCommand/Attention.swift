import ArgumentParser
import Foundation
import NMT

/// `nmt attention`: the model's attention weights for one sentence, as tables.
struct AttentionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attention",
        abstract: "Print what the model attends to while translating a sentence, as tables.",
        discussion: """
            Translates the sentence (greedy or beam search as with nmt translate, or teacher-forces \
            --target) and prints the attention weights: rows are the attending tokens, columns the \
            attended ones, each row sums to 1; * marks a row's largest weight, and on a terminal \
            cells are shaded by weight. The decoder's rows are what it reads: the start token \
            (<pad>, Marian's convention), then the output; the row of a token is the step that \
            chose the next one. Layers and heads count from 0.

            --align prints a hard alignment in Pharaoh format (source-target index pairs, as \
            fast_align and Marian write): each output token (or word, with --words) is aligned \
            to the source token it attended to most in the encoder–decoder attention of the \
            step that chose it — by default the last layer's mean of heads; --layer and --head \
            pick another. </s> is never aligned, on either side.

              nmt attention "I am a student."
              nmt attention "I am a student." --target "Je suis étudiant." --kind cross --words
              nmt attention "I am a student." --layer all --head all --format json
              nmt attention "I am a student." --align --words
            """
    )

    @Argument(help: "The source sentence.")
    var text: String

    @OptionGroup var modelOptions: ModelOptions

    @Option(help: "A translation to teacher-force instead of the model's own.")
    var target: String?

    @Option(help: "Which attention: encoder (self-attention), decoder (masked self-attention), cross (encoder–decoder), or all. (default: all)")
    var kind: KindOption?

    @Option(help: ArgumentHelp("A layer (from 0), last, or all. (default: last)", valueName: "N|last|all"), transform: { try AttentionCommand.parseLayer($0) })
    var layer: LayerSelection = .last

    @Option(help: ArgumentHelp("A head (from 0), mean (of the heads), or all. (default: mean)", valueName: "N|mean|all"), transform: { try AttentionCommand.parseHead($0) })
    var head: HeadSelection = .mean

    @Flag(help: "Merge subword pieces into words: sum over a word's attended pieces, mean over its attending pieces.")
    var words = false

    @Option(help: "text, markdown, csv (one weight a line) or json (full precision). (default: text)")
    var format: Format?

    @Option(help: "Decimals of the weights in text, markdown and CSV.")
    var precision: Int = 2

    @Option(help: ArgumentHelp("Also write the tables as a heatmap picture to this SVG file.", valueName: "file"))
    var svg: String?

    @OptionGroup var replacing: OverwriteOption

    @Flag(help: "Print a hard alignment in Pharaoh format instead of tables.")
    var align = false

    @Option(help: "Beam size of the translation whose attention is shown (default 4, as nmt translate); 1 is greedy search.")
    var beam: Int?

    enum KindOption: String, ExpressibleByArgument, CaseIterable {
        case encoder, decoder, cross, all

        var kinds: [AttentionKind] { AttentionKind(rawValue: rawValue).map { [$0] } ?? AttentionKind.allCases }
    }

    enum Format: String, ExpressibleByArgument, CaseIterable { case text, markdown, csv, json }

    static func parseLayer(_ argument: String) throws -> LayerSelection {
        switch argument {
        case "all": return .all
        case "last": return .last
        default:
            // A negative number parses, for validate() to reject in one line.
            guard let n = Int(argument) else { throw ValidationError("--layer takes a layer number from 0, last or all; got \(argument)") }
            return .index(n)
        }
    }

    static func parseHead(_ argument: String) throws -> HeadSelection {
        switch argument {
        case "all": return .all
        case "mean": return .mean
        default:
            guard let n = Int(argument) else { throw ValidationError("--head takes a head number from 0, mean or all; got \(argument)") }
            return .index(n)
        }
    }

    func validate() throws {
        guard (0...9).contains(precision) else { throw CommandError("--precision must be between 0 and 9, got \(precision)") }
        if let beam, beam < 1 { throw CommandError("--beam must be at least 1, got \(beam)") }
        if case .index(let n) = layer, n < 0 { throw CommandError("--layer must be a layer number from 0, last or all; got \(n)") }
        if case .index(let n) = head, n < 0 { throw CommandError("--head must be a head number from 0, mean or all; got \(n)") }
        if target != nil && beam != nil { throw ValidationError("--beam chooses the translation; with --target there is none to search") }
        if align {
            if layer == .all || head == .all { throw ValidationError("--align reads one layer and one head (or the mean of the heads), not all") }
            if kind != nil || format != nil { throw ValidationError("--align prints the alignment; --kind and --format are for tables") }
        }
    }

    func run() throws {
        if let svg { try OutputLocation.checkFile(svg, option: "--svg", overwrite: replacing.overwrite) }
        let translator = try modelOptions.loadTranslator()
        let model = translator.model, config = model.config
        guard !text.allSatisfy(\.isWhitespace) else { throw CommandError("the sentence is empty") }
        let (sourceIds, truncated) = translator.sourceIds(text)
        if truncated { printError("warning: the sentence is longer than the model's \(config.maxPositions) positions; using its first \(sourceIds.count - 1) pieces") }
        let outputIds: [Int]
        if let target {
            guard !target.allSatisfy(\.isWhitespace) else { throw CommandError("--target is empty") }
            let (ids, truncated) = config.fitted(translator.tokenizer.encodeTarget(target))
            if truncated {
                printError("warning: --target is longer than the model's \(config.maxPositions) positions; using its first \(config.maxPositions - 1) pieces")
            }
            outputIds = ids
        } else {
            outputIds = translator.translate([text], options: SearchOptions(beamSize: beam ?? 4))[0][0].ids
        }
        let recording = AttentionRecording(model: model, sourceIds: sourceIds, outputIds: outputIds)
        let source = recording.sourceTokens(translator.tokenizer)

        let tables: [AttentionTable]
        if align {
            let output = recording.outputTokens(translator.tokenizer)
            let table = recording.crossAttentionOfOutputs(layer: try recording.layers(layer, of: .cross)[0],
                                                          head: try recording.heads(head, of: .cross)[0],
                                                          source: source, output: output, words: words)
            print(table.pharaohAlignment(rowIsSpecial: output.labelIsSpecial(words: words), columnIsSpecial: source.labelIsSpecial(words: words)))
            tables = [table]
        } else {
            let target = recording.targetTokens(translator.tokenizer)
            tables = try recording.tables(kinds: (kind ?? .all).kinds, layers: layer, heads: head, source: source, target: target, words: words)
            let renderer = AttentionRenderer(precision: precision, shading: Terminal.shading, maxWidth: Terminal.width)
            switch format ?? .text {
            case .text: print(renderer.text(tables), terminator: "")
            case .markdown: print(renderer.markdown(tables), terminator: "")
            case .csv: print(renderer.csv(tables), terminator: "")
            case .json:
                print(AttentionRenderer.json(sourceTokens: source.labels(words: words), targetTokens: target.labels(words: words), tables: tables),
                      terminator: "")
            }
        }
        if let svg {
            do { try Data(AttentionSVG.render(tables, precision: precision).utf8).write(to: URL(fileURLWithPath: svg), options: .atomic) } catch {
                throw CommandError("\(svg): cannot write the SVG file")
            }
        }
    }
}
