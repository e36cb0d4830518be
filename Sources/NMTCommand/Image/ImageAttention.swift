import ArgumentParser
import Foundation
import ImageClassification

/// `nmt image attention`: the self-attention weights of AttentionNet for one picture — the
/// image twin of `nmt attention`.
struct ImageAttention: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attention",
        abstract: "Print what AttentionNet's self-attention looks at in a picture, as a 49×49 table.",
        discussion: """
            After two stride-2 blocks the network sees the 28×28 picture as a 7×7 map, each cell \
            standing for a 4×4 patch. Its self-attention layer lets every cell (a query, a row) \
            spread one unit of attention over all 49 cells (the columns); cells are named (row, \
            column) from (0,0) at the top left. * marks each row's largest weight. \
            Under the table the picture is drawn in text beside the 7×7 grid of one query's \
            weights (--query r,c, bracketed) or, by default, of the attention each cell \
            receives on average; * marks the three strongest cells above an even share (1/49). \
            --svg draws the same as a \
            picture: the image with the weights laid over it, and the whole map as a heatmap.

            Note that the layer adds its output, scaled by a learned γ, to its input: a small γ \
            means the attention changes little of what the classifier sees.

              nmt image attention --index 0
              nmt image attention --index 0 --query 3,3 --svg attention.svg
              nmt image attention shirt.png --format json
            """
    )

    @OptionGroup var picture: ImageInputOptions

    @Option(help: ArgumentHelp("The query cell to show on the grid, as row,column from 0 (default: the mean attention each cell receives).", valueName: "r,c"),
            transform: { try ImageAttention.parseQuery($0) })
    var query: GridCell?

    @Option(help: "text, csv (one weight a line) or json (full precision).")
    var format: Format = .text

    @Option(help: "Decimals of the weights in text and CSV (3 tells apart weights near the uniform 1/49 ≈ 0.020).")
    var precision: Int = 3

    @Option(help: ArgumentHelp("Also draw the picture and the map to this SVG file.", valueName: "file"))
    var svg: String?

    @OptionGroup var replacing: OverwriteOption

    @OptionGroup var modelOptions: ImageModelOptions
    @OptionGroup var dataOptions: ImageDataOptions

    enum Format: String, ExpressibleByArgument, CaseIterable { case text, csv, json }

    struct GridCell: Equatable {
        var row: Int
        var column: Int
    }

    /// "3,4" or "(3,4)".
    static func parseQuery(_ argument: String) throws -> GridCell {
        let parts = argument.trimmingCharacters(in: CharacterSet(charactersIn: "() ")).split(separator: ",", omittingEmptySubsequences: false)
        guard parts.count == 2, let row = Int(parts[0].trimmingCharacters(in: .whitespaces)),
              let column = Int(parts[1].trimmingCharacters(in: .whitespaces)) else {
            throw ValidationError("--query takes a cell as row,column (such as 3,4); got \(argument)")
        }
        return GridCell(row: row, column: column)
    }

    func validate() throws {
        guard (0...9).contains(precision) else { throw CommandError("--precision must be between 0 and 9, got \(precision)") }
        if let query, query.row < 0 || query.column < 0 {
            throw CommandError("--query must be a cell of the grid, row and column from 0; got \(query.row),\(query.column)")
        }
    }

    func run() throws {
        if let svg { try OutputLocation.checkFile(svg, option: "--svg", overwrite: replacing.overwrite) }
        let model = try modelOptions.loadModel()
        let config = model.config
        let input = try picture.load(data: dataOptions, rows: config.imageRows, columns: config.imageColumns)
        let map = AttentionMap(weights: model.attentionMap(pixels: input.pixels))
        var queryPosition: Int?
        if let query {
            guard query.row < map.side, query.column < map.side else {
                throw CommandError("--query \(query.row),\(query.column) is outside the \(map.side)×\(map.side) grid (rows and columns 0–\(map.side - 1))")
            }
            queryPosition = query.row * map.side + query.column
        }
        let logits = model.logits(pixels: input.pixels, count: 1)
        let best = ClassProbabilities.top(1, logits: logits[...], classNames: config.classNames)[0]
        let label = input.label.map { $0 < config.classNames.count ? config.classNames[$0] : String($0) }
        let prediction = "predicted \(best.name) (\(String(format: "%.1f%%", 100 * best.probability)))" + (label.map { ", labelled \($0)" } ?? "")
        let gridValues = queryPosition.map { Array(map.row($0)) } ?? map.received
        let gridCaption = queryPosition.map { "the weights of query \(map.label($0))" } ?? "the attention each cell receives, the mean over the \(map.positions) queries"

        switch format {
        case .text:
            let cellPixels = "\(config.imageRows / map.side)×\(config.imageColumns / map.side)"
            print("\(input.description): \(prediction)")
            print("")
            print("self-attention over the \(map.side)×\(map.side) map (a cell covers \(cellPixels) pixels): a row per query cell (r,c), a column per attended cell; each row sums to 1")
            print(map.table(precision: precision, maxWidth: Terminal.width), terminator: "")
            print("")
            print("\(gridCaption)\(queryPosition == nil ? "" : " (bracketed)"); * marks the strongest 3 above the uniform 1/\(map.positions):")
            // A trained layer often puts nearly all of a row on one cell; marking cells that get
            // less than an even share would point at noise.
            let uniform = 1 / Float(map.positions)
            let strongest = Set(AttentionMap.strongest(3, of: gridValues).filter { gridValues[$0] > uniform })
            print(map.grid(gridValues, image: input.pixels, rows: config.imageRows, columns: config.imageColumns,
                           query: queryPosition, marked: strongest, precision: precision), terminator: "")
        case .csv:
            print(map.csv(precision: precision), terminator: "")
        case .json:
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.withoutEscapingSlashes]
            let text = { (value: String) in String(decoding: try! encoder.encode(value), as: UTF8.self) }
            let predicted = "{\"class\": \(text(best.name)), \"index\": \(best.index), \"probability\": \(best.probability)}"
            print("{\"image\": \(text(input.description)), \"label\": \(label.map(text) ?? "null"), \"prediction\": \(predicted), \(map.jsonMembers())}")
        }
        if let svg {
            let title = "\(input.description): \(prediction)"
            let picture = AttentionMapSVG.render(map, image: input.pixels, rows: config.imageRows, columns: config.imageColumns,
                                                 values: gridValues, query: queryPosition, title: title,
                                                 overlayCaption: gridCaption + (queryPosition == nil ? "" : ", outlined in red"))
            do { try Data(picture.utf8).write(to: URL(fileURLWithPath: svg), options: .atomic) } catch {
                throw CommandError("\(svg): cannot write the SVG file")
            }
        }
    }
}
