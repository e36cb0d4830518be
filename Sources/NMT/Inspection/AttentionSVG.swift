import Foundation
import Rendering

/// Attention tables as one SVG picture, the tables stacked top to bottom: each a heatmap with
/// its title, row labels on the left, column labels slanted above, and one `<rect>` per weight
/// (white for 0 to deep blue for 1) carrying its number and a tooltip.
public enum AttentionSVG {
    static let cell = 36.0
    static let characterWidth = 7.0
    static let margin = 12.0

    public static func render(_ tables: [AttentionTable], precision: Int = 2) -> String {
        var body: [String] = []
        var y = margin
        var width = 0.0
        for table in tables {
            let labelWidth = Double(table.rows.map(\.count).max() ?? 0) * characterWidth + 8
            // Column labels run up at 45°, so their height is about their length × sin 45°.
            let headerHeight = Double(table.columns.map(\.count).max() ?? 0) * characterWidth * 0.71 + 12
            let left = margin + labelWidth, top = y + 24 + headerHeight
            body.append("<g>")
            body.append("<text x=\"\(margin)\" y=\"\(y + 14)\" font-weight=\"bold\">\(SVGMarkup.escaped(table.title))</text>")
            for (c, column) in table.columns.enumerated() {
                let x = left + (Double(c) + 0.5) * cell
                body.append("<text transform=\"translate(\(x),\(top - 6)) rotate(-45)\">\(SVGMarkup.escaped(column))</text>")
            }
            for (r, row) in table.weights.enumerated() {
                let rowTop = top + Double(r) * cell
                body.append("<text x=\"\(left - 6)\" y=\"\(rowTop + cell / 2 + 4)\" text-anchor=\"end\">\(SVGMarkup.escaped(table.rows[r]))</text>")
                for (c, weight) in row.enumerated() {
                    let x = left + Double(c) * cell
                    // A cell the decoder's causal mask hides is grey and unnumbered.
                    let masked = table.isMasked(row: r, column: c)
                    let value = masked ? "masked" : String(format: "%.\(precision)f", weight)
                    let tooltip = "\(table.rows[r]) → \(table.columns[c]): \(value)"
                    body.append("<rect class=\"cell\" x=\"\(x)\" y=\"\(rowTop)\" width=\"\(cell)\" height=\"\(cell)\" fill=\"\(masked ? "#eeeeee" : SVGMarkup.heatColor(weight))\" stroke=\"#ddd\"><title>\(SVGMarkup.escaped(tooltip))</title></rect>")
                    if !masked {
                        body.append("<text x=\"\(x + cell / 2)\" y=\"\(rowTop + cell / 2 + 4)\" text-anchor=\"middle\" font-size=\"10\" fill=\"\(weight > 0.5 ? "white" : "black")\">\(value)</text>")
                    }
                }
            }
            body.append("</g>")
            width = max(width, left + Double(table.columns.count) * cell + headerHeight + margin,
                        2 * margin + Double(table.title.count) * (characterWidth + 1))
            y = top + Double(table.rows.count) * cell + 2 * margin
        }
        return """
            <?xml version="1.0" encoding="UTF-8"?>
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width.rounded(.up)))" height="\(Int(y.rounded(.up)))" font-family="sans-serif" font-size="12">
            \(body.joined(separator: "\n"))
            </svg>

            """
    }
}
