import Foundation
import Tensor
import TextIO

/// Attention tables as text for a terminal, markdown, CSV or JSON.
public struct AttentionRenderer {
    /// How text marks a cell's weight besides its number.
    public enum Shading: Sendable {
        case none
        /// A background from the ANSI 256-colour palette, deeper blue for heavier weights.
        case ansi
    }

    /// Decimals of the numbers in text, markdown and CSV (JSON keeps every digit).
    public var precision: Int
    public var shading: Shading
    /// Text wider than this is split into blocks of columns, each with the row labels.
    public var maxWidth: Int?

    public init(precision: Int = 2, shading: Shading = .none, maxWidth: Int? = nil) {
        precondition(precision >= 0, "precision must not be negative")
        self.precision = precision
        self.shading = shading
        self.maxWidth = maxWidth
    }

    /// Row labels are cut to this many characters, column labels to the width of a cell (at most `columnLabelLimit`).
    static let rowLabelLimit = 12
    static let columnLabelLimit = 10

    func number(_ weight: Float) -> String { String(format: "%.\(precision)f", weight) }

    // MARK: text

    /// Each table under its title: rows attend to columns; `*` marks each row's largest weight
    /// and `·` a cell the decoder's causal mask hides.
    public func text(_ tables: [AttentionTable]) -> String {
        tables.map(text).joined(separator: "\n")
    }

    func text(_ table: AttentionTable) -> String {
        let labelWidth = min(Self.rowLabelLimit, table.rows.map(\.count).max() ?? 0)
        let cellWidth = max(precision + 2, min(Self.columnLabelLimit, table.columns.map(\.count).max() ?? 0))
        // A cell is a space, the number, and a space or the row maximum's mark.
        let slot = cellWidth + 2
        var perBlock = table.columns.count
        if let maxWidth { perBlock = max(1, min(perBlock, (maxWidth - labelWidth) / slot)) }
        let maxima = table.rowMaxima
        var lines = [table.title]
        for start in stride(from: 0, to: max(table.columns.count, 1), by: max(perBlock, 1)) {
            let block = start..<min(start + perBlock, table.columns.count)
            if start > 0 { lines.append("") }
            lines.append(Self.padded("", labelWidth) + block.map { " " + Self.padded(table.columns[$0], cellWidth, right: true) + " " }.joined())
            for (r, row) in table.weights.enumerated() {
                let cells = block.map { c -> String in
                    if table.isMasked(row: r, column: c) { return " " + Self.padded("·", cellWidth, right: true) + " " }
                    return shaded(" " + Self.padded(number(row[c]), cellWidth, right: true), weight: row[c]) + (maxima[r] == c ? "*" : " ")
                }
                lines.append(Self.padded(table.rows[r], labelWidth) + cells.joined())
            }
        }
        return lines.map { $0.replacingOccurrences(of: #"\s+$"#, with: "", options: .regularExpression) }.joined(separator: "\n") + "\n"
    }

    func shaded(_ cell: String, weight: Float) -> String {
        guard shading == .ansi else { return cell }
        // Light to deep blue; the lightest weights keep the terminal's own background.
        let palette: [(background: Int, foreground: Int)] = [(153, 16), (111, 16), (75, 16), (33, 231), (19, 231)]
        let level = min(palette.count, Int(weight * Float(palette.count + 1)))
        guard level > 0 else { return cell }
        let (background, foreground) = palette[level - 1]
        return "\u{1B}[48;5;\(background)m\u{1B}[38;5;\(foreground)m\(cell)\u{1B}[0m"
    }

    /// `text` cut or padded to `width` characters (cut text ends with "…").
    static func padded(_ text: String, _ width: Int, right: Bool = false) -> String {
        var text = text
        if text.count > width { text = width > 0 ? String(text.prefix(width - 1)) + "…" : "" }
        let padding = String(repeating: " ", count: width - text.count)
        return right ? padding + text : text + padding
    }

    // MARK: markdown

    /// Each table as a GitHub-flavoured markdown table under its title in bold; each row's
    /// largest weight in bold, tokens as code so `</s>` and `|` survive.
    public func markdown(_ tables: [AttentionTable]) -> String {
        tables.map(markdown).joined(separator: "\n")
    }

    func markdown(_ table: AttentionTable) -> String {
        let maxima = table.rowMaxima
        var lines = ["**\(table.title)**", ""]
        lines.append("| |" + table.columns.map { " \(Self.markdownCode($0)) |" }.joined())
        lines.append("| --- |" + String(repeating: " ---: |", count: table.columns.count))
        for (r, row) in table.weights.enumerated() {
            let cells = row.indices.map { c -> String in
                if table.isMasked(row: r, column: c) { return " · |" }
                return maxima[r] == c ? " **\(number(row[c]))** |" : " \(number(row[c])) |"
            }
            lines.append("| \(Self.markdownCode(table.rows[r])) |" + cells.joined())
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// A token as inline code inside a table cell.
    static func markdownCode(_ token: String) -> String {
        let escaped = token.replacingOccurrences(of: "|", with: "\\|")
        return escaped.contains("`") ? "`` \(escaped) ``" : "`\(escaped)`"
    }

    // MARK: CSV

    /// Every weight of every table on a line of its own (RFC 4180):
    /// `kind,layer,head,row,column,row_token,column_token,weight`, rows and columns counted from 0.
    public func csv(_ tables: [AttentionTable]) -> String {
        var lines = ["kind,layer,head,row,column,row_token,column_token,weight"]
        for table in tables {
            let head = Self.headName(table.head)
            for (r, row) in table.weights.enumerated() {
                for (c, weight) in row.enumerated() {
                    lines.append("\(table.kind.rawValue),\(table.layer),\(head),\(r),\(c),\(Self.csvField(table.rows[r])),\(Self.csvField(table.columns[c])),\(number(weight))")
                }
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func csvField(_ field: String) -> String {
        guard field.contains(where: { $0 == "," || $0 == "\"" || $0.isNewline }) else { return field }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    static func headName(_ head: AttentionHead) -> String {
        switch head {
        case .index(let h): return String(h)
        case .mean: return "mean"
        }
    }

    // MARK: JSON

    /// `{"source_tokens": […], "target_tokens": […], "tables": [{"kind", "layer", "head", "rows",
    /// "columns", "weights"}]}` on one line, "head" a number or "mean", each weight written with
    /// the shortest digits that read back as the same Float.
    public static func json(sourceTokens: [String], targetTokens: [String], tables: [AttentionTable]) -> String {
        func strings(_ values: [String]) -> String { "[" + values.map(JSON.quoted).joined(separator: ", ") + "]" }
        let tableObjects = tables.map { table -> String in
            let head = table.head == .mean ? "\"mean\"" : headName(table.head)
            let weights = "[" + table.weights.map { "[" + $0.map { "\($0)" }.joined(separator: ", ") + "]" }.joined(separator: ", ") + "]"
            return "{\"kind\": \"\(table.kind.rawValue)\", \"layer\": \(table.layer), \"head\": \(head), "
                + "\"rows\": \(strings(table.rows)), \"columns\": \(strings(table.columns)), \"weights\": \(weights)}"
        }
        return "{\"source_tokens\": \(strings(sourceTokens)), \"target_tokens\": \(strings(targetTokens)), "
            + "\"tables\": [\(tableObjects.joined(separator: ", "))]}\n"
    }
}
