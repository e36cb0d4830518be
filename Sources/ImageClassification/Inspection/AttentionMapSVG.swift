import Foundation
import Rendering

/// An attention map as one SVG picture: on the left the image, the feature map's grid over it
/// and the weights of one query (or what each position receives) laid over the grid cells in
/// orange; on the right the whole map as a heatmap, a row per query, with a tooltip per cell.
///
/// The translation side's `AttentionSVG` writes every weight into a 36-pixel cell, which for
/// 49 × 49 weights would be a picture 1,800 pixels wide of unreadable numbers, and it has no
/// image to draw; this one keeps the same white-to-blue scale but stretches it from the map's
/// smallest weight to its largest, as matplotlib's `imshow` does, since a 49-way softmax
/// rarely comes near 1 (the caption gives both ends).
public enum AttentionMapSVG {
    static let pixelSize = 8.0
    static let cellSize = 11.0
    static let margin = 14.0

    /// `values` (side² weights) are drawn over the image; `query` outlines that grid cell.
    public static func render(_ map: AttentionMap, image pixels: [UInt8], rows: Int, columns: Int,
                              values: [Float], query: Int?, title: String, overlayCaption: String) -> String {
        precondition(pixels.count == rows * columns, "AttentionMapSVG: \(pixels.count) pixels for \(rows)×\(columns)")
        precondition(values.count == map.positions, "AttentionMapSVG: \(values.count) values for \(map.positions) positions")
        var body: [String] = []
        let valueScale = Scale(values)
        let top = margin + 50
        body.append("<text x=\"\(margin)\" y=\"\(margin + 12)\" font-weight=\"bold\">\(SVGMarkup.escaped(title))</text>")

        // The image, one rect a pixel, and the grid.
        let imageLeft = margin
        for y in 0..<rows {
            for x in 0..<columns {
                let level = pixels[y * columns + x]
                body.append("<rect x=\"\(imageLeft + Double(x) * pixelSize)\" y=\"\(top + Double(y) * pixelSize)\" width=\"\(pixelSize)\" height=\"\(pixelSize)\" fill=\"\(String(format: "#%02x%02x%02x", level, level, level))\"/>")
            }
        }
        let imageWidth = Double(columns) * pixelSize, imageHeight = Double(rows) * pixelSize
        // The captions go under the picture, wrapped to its width (about 6 pixels a character at size 11).
        let captionLines = wrappedLines(overlayCaption, width: Int(imageWidth / 6)) + ["clear = \(valueScale.lowest), deepest orange = \(valueScale.highest)"]
        for (line, caption) in captionLines.enumerated() {
            body.append("<text x=\"\(imageLeft)\" y=\"\(top + imageHeight + 18 + 15 * Double(line))\" font-size=\"11\">\(SVGMarkup.escaped(caption))</text>")
        }
        let side = map.side
        for position in 0..<map.positions {
            let (r, c) = (position / side, position % side)
            let x = imageLeft + Double(c * columns / side) * pixelSize, y = top + Double(r * rows / side) * pixelSize
            let width = Double((c + 1) * columns / side - c * columns / side) * pixelSize
            let height = Double((r + 1) * rows / side - r * rows / side) * pixelSize
            let opacity = 0.6 * valueScale.fraction(values[position])
            let tooltip = "\(map.label(position)): \(String(format: "%.3f", values[position]))"
            body.append("<rect class=\"overlay\" x=\"\(x)\" y=\"\(y)\" width=\"\(width)\" height=\"\(height)\" fill=\"#ff7f0e\" fill-opacity=\"\(String(format: "%.3f", opacity))\" stroke=\"#888\" stroke-width=\"0.5\"><title>\(SVGMarkup.escaped(tooltip))</title></rect>")
        }
        if let query {
            let (r, c) = (query / side, query % side)
            let x = imageLeft + Double(c * columns / side) * pixelSize, y = top + Double(r * rows / side) * pixelSize
            let width = Double((c + 1) * columns / side - c * columns / side) * pixelSize
            let height = Double((r + 1) * rows / side - r * rows / side) * pixelSize
            body.append("<rect class=\"query\" x=\"\(x)\" y=\"\(y)\" width=\"\(width)\" height=\"\(height)\" fill=\"none\" stroke=\"#d62728\" stroke-width=\"2.5\"/>")
        }

        // The heatmap: labels every cell, small; a thicker line between grid rows.
        let labelWidth = 40.0
        let heatLeft = imageLeft + imageWidth + 2 * margin + labelWidth
        let heatTop = top + 30
        let weightScale = Scale(map.weights)
        body.append("<text x=\"\(heatLeft - labelWidth)\" y=\"\(top - 22)\">rows: query cell, columns: attended cell; each row sums to 1</text>")
        body.append("<text x=\"\(heatLeft - labelWidth)\" y=\"\(top - 8)\" font-size=\"10\">white = \(weightScale.lowest), deepest blue = \(weightScale.highest) (the smallest and largest weight)</text>")
        for position in 0..<map.positions {
            let offset = Double(position) * cellSize
            body.append("<text x=\"\(heatLeft + offset + cellSize / 2 + 3)\" y=\"\(heatTop - 3)\" font-size=\"7\" transform=\"rotate(-90 \(heatLeft + offset + cellSize / 2 + 3) \(heatTop - 3))\">\(map.label(position))</text>")
            body.append("<text x=\"\(heatLeft - 3)\" y=\"\(heatTop + offset + cellSize - 3)\" font-size=\"7\" text-anchor=\"end\">\(map.label(position))</text>")
        }
        for query in 0..<map.positions {
            for (attended, weight) in map.row(query).enumerated() {
                let tooltip = "\(map.label(query)) → \(map.label(attended)): \(String(format: "%.4f", weight))"
                body.append("<rect class=\"cell\" x=\"\(heatLeft + Double(attended) * cellSize)\" y=\"\(heatTop + Double(query) * cellSize)\" width=\"\(cellSize)\" height=\"\(cellSize)\" fill=\"\(SVGMarkup.heatColor(Float(weightScale.fraction(weight))))\"><title>\(SVGMarkup.escaped(tooltip))</title></rect>")
            }
        }
        let heatSize = Double(map.positions) * cellSize
        for boundary in stride(from: 0, through: map.positions, by: side) {
            let offset = Double(boundary) * cellSize
            body.append("<line x1=\"\(heatLeft)\" y1=\"\(heatTop + offset)\" x2=\"\(heatLeft + heatSize)\" y2=\"\(heatTop + offset)\" stroke=\"#999\" stroke-width=\"0.6\"/>")
            body.append("<line x1=\"\(heatLeft + offset)\" y1=\"\(heatTop)\" x2=\"\(heatLeft + offset)\" y2=\"\(heatTop + heatSize)\" stroke=\"#999\" stroke-width=\"0.6\"/>")
        }
        let width = heatLeft + heatSize + margin
        let height = max(top + imageHeight + 18 + 15 * Double(captionLines.count), heatTop + heatSize) + margin
        return """
            <?xml version="1.0" encoding="UTF-8"?>
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width.rounded(.up)))" height="\(Int(height.rounded(.up)))" font-family="sans-serif" font-size="12">
            \(body.joined(separator: "\n"))
            </svg>

            """
    }

    /// Where a value lies between the smallest and the largest of a set, 0…1 (0 when all are equal).
    struct Scale {
        let low: Float
        let high: Float

        init(_ values: [Float]) {
            low = values.min() ?? 0
            high = values.max() ?? 0
        }

        func fraction(_ value: Float) -> Double { high > low ? Double((value - low) / (high - low)) : 0 }
        var lowest: String { String(format: "%.3f", low) }
        var highest: String { String(format: "%.3f", high) }
    }
}
