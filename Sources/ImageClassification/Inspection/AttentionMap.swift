import Foundation

/// The self-attention weights of one image over a square feature map: each of the side × side
/// positions (queries, the rows) spreads one unit of attention over all positions (the
/// columns). Position p is grid cell (p / side, p % side), row-major as the feature map.
public struct AttentionMap: Equatable, Sendable {
    /// Cells along each side of the feature map (7 for a 28 × 28 image after two stride-2 blocks).
    public let side: Int
    /// (side², side²), row = query position.
    public let weights: [Float]

    public init(weights: [Float], side: Int) {
        precondition(side > 0 && weights.count == side * side * side * side,
                     "AttentionMap: \(weights.count) weights for a \(side)×\(side) map")
        self.side = side
        self.weights = weights
    }

    /// From the n × n weights of a map with n a square number.
    public init(weights: [Float]) {
        let positions = Int(Double(weights.count).squareRoot().rounded())
        let side = Int(Double(positions).squareRoot().rounded())
        self.init(weights: weights, side: side)
    }

    public var positions: Int { side * side }

    /// "(r,c)", counted from 0.
    public func label(_ position: Int) -> String { "(\(position / side),\(position % side))" }

    /// The weights of one query over every position.
    public func row(_ query: Int) -> ArraySlice<Float> {
        weights[query * positions..<(query + 1) * positions]
    }

    /// How much attention each position receives, as the mean over all queries (a
    /// distribution over positions, like a row).
    public var received: [Float] {
        var sums = [Double](repeating: 0, count: positions)
        for query in 0..<positions {
            for (position, weight) in row(query).enumerated() { sums[position] += Double(weight) }
        }
        return sums.map { Float($0 / Double(positions)) }
    }

    /// The position each query attends to most (the first on a tie).
    public var rowMaxima: [Int] {
        (0..<positions).map { query in
            let row = self.row(query)
            var best = row.startIndex
            for i in row.indices where row[i] > row[best] { best = i }
            return best - row.startIndex
        }
    }

    /// The `count` positions with the largest of `values`, largest first (lower position first on a tie).
    public static func strongest(_ count: Int, of values: [Float]) -> [Int] {
        Array(values.indices.sorted { values[$0] > values[$1] || (values[$0] == values[$1] && $0 < $1) }.prefix(count))
    }

    // MARK: text

    /// The whole map as a table: a row per query, a column per attended position, both
    /// labelled (r,c); `*` marks each row's largest weight. With `maxWidth`, the columns are
    /// split into blocks of whole grid rows that fit, each block under its own header.
    public func table(precision: Int = 2, maxWidth: Int? = nil) -> String {
        let labelWidth = label(positions - 1).count
        let cellWidth = max(precision + 2, labelWidth)
        let slot = cellWidth + 2  // a space, the number, and a space or the maximum's mark
        var gridRowsPerBlock = side
        if let maxWidth { gridRowsPerBlock = max(1, min(side, (maxWidth - labelWidth) / (slot * side))) }
        let maxima = rowMaxima
        var lines: [String] = []
        for firstGridRow in stride(from: 0, to: side, by: gridRowsPerBlock) {
            let columns = (firstGridRow * side)..<(min(side, firstGridRow + gridRowsPerBlock) * side)
            if !lines.isEmpty { lines.append("") }
            lines.append(Self.padded("", labelWidth) + columns.map { " " + Self.padded(label($0), cellWidth, right: true) + " " }.joined())
            for query in 0..<positions {
                let row = self.row(query)
                let cells = columns.map { column in
                    " " + Self.padded(String(format: "%.\(precision)f", row[row.startIndex + column]), cellWidth, right: true)
                        + (maxima[query] == column ? "*" : " ")
                }
                lines.append(Self.padded(label(query), labelWidth) + cells.joined())
            }
        }
        return Self.trimmed(lines)
    }

    /// Shades from light to dark for the picture in text.
    static let shades = Array(" .:-=+*#%@")

    /// The image in text beside a side × side grid of `values` (a query's row, or what each
    /// position receives), each grid row level with the band of pixel rows it covers, so one
    /// reads which part of the picture a weight belongs to. `[ ]` marks `query`'s cell and `*`
    /// the `marked` positions.
    public func grid(_ values: [Float], image pixels: [UInt8], rows: Int, columns: Int, query: Int? = nil,
                     marked: Set<Int> = [], precision: Int = 2) -> String {
        precondition(values.count == positions, "AttentionMap.grid: \(values.count) values for \(positions) positions")
        precondition(pixels.count == rows * columns, "AttentionMap.grid: \(pixels.count) pixels for \(rows)×\(columns)")
        // Pixel rows and columns of grid cell i: [i · rows / side, (i + 1) · rows / side).
        let bandStart = { (cell: Int, length: Int) in cell * length / self.side }
        let numberWidth = precision + 2
        let slot = numberWidth + 2
        var picture: [String] = []
        var bandOfLine: [Int?] = []
        let separator = "+" + (0..<side).map { String(repeating: "-", count: bandStart($0 + 1, columns) - bandStart($0, columns)) }.joined(separator: "+") + "+"
        for gridRow in 0..<side {
            picture.append(separator)
            bandOfLine.append(nil)
            for y in bandStart(gridRow, rows)..<bandStart(gridRow + 1, rows) {
                var line = "|"
                for gridColumn in 0..<side {
                    for x in bandStart(gridColumn, columns)..<bandStart(gridColumn + 1, columns) {
                        line.append(Self.shades[Int(pixels[y * columns + x]) * Self.shades.count / 256])
                    }
                    line.append("|")
                }
                picture.append(line)
                bandOfLine.append(gridRow)
            }
        }
        picture.append(separator)
        bandOfLine.append(nil)
        // Each grid row's numbers go on the middle line of its band; the column indices above the first band.
        var numbersOnLine = [Int: Int]()
        for gridRow in 0..<side {
            let lines = bandOfLine.indices.filter { bandOfLine[$0] == gridRow }
            numbersOnLine[lines[(lines.count - 1) / 2]] = gridRow
        }
        let header = "   " + (0..<side).map { Self.padded(String($0), slot, right: true) }.joined()
        var lines = [Self.padded("", separator.count) + header]
        for (index, line) in picture.enumerated() {
            guard let gridRow = numbersOnLine[index] else { lines.append(line); continue }
            var cells = ""
            for gridColumn in 0..<side {
                let position = gridRow * side + gridColumn
                let number = Self.padded(String(format: "%.\(precision)f", values[position]), numberWidth, right: true)
                let isQuery = position == query
                cells += (isQuery ? "[" : " ") + number + (isQuery ? "]" : marked.contains(position) ? "*" : " ")
            }
            lines.append(line + "   " + Self.padded(String(gridRow), 1) + cells)
        }
        return Self.trimmed(lines)
    }

    // MARK: CSV and JSON

    /// `query,attended,query_position,attended_position,weight`, one line a weight.
    public func csv(precision: Int = 6) -> String {
        var lines = ["query,attended,query_position,attended_position,weight"]
        for query in 0..<positions {
            for (attended, weight) in row(query).enumerated() {
                lines.append("\(query),\(attended),\"\(label(query))\",\"\(label(attended))\",\(String(format: "%.\(precision)f", weight))")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// `"side": 7, "positions": ["(0,0)", …], "weights": [[…], …] (row = query), "received": […]`
    /// as the members of a JSON object, for a command to put in its own; every weight written
    /// with the shortest digits that read back as the same Float.
    public func jsonMembers() -> String {
        let labels = (0..<positions).map { "\"\(label($0))\"" }.joined(separator: ", ")
        let rows = (0..<positions).map { "[" + row($0).map { "\($0)" }.joined(separator: ", ") + "]" }.joined(separator: ", ")
        return "\"side\": \(side), \"positions\": [\(labels)], \"weights\": [\(rows)], \"received\": [\(received.map { "\($0)" }.joined(separator: ", "))]"
    }

    static func padded(_ text: String, _ width: Int, right: Bool = false) -> String {
        let padding = String(repeating: " ", count: max(0, width - text.count))
        return right ? padding + text : text + padding
    }

    static func trimmed(_ lines: [String]) -> String {
        lines.map { $0.replacingOccurrences(of: #"\s+$"#, with: "", options: .regularExpression) }.joined(separator: "\n") + "\n"
    }
}
