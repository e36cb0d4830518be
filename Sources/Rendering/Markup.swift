import Foundation

/// What the SVG renderers of both models (translation attention tables, the image attention map)
/// and the text walkthrough share.
public enum SVGMarkup {
    /// White at 0 to deep blue (#08306b) at 1; weights outside 0…1 are clamped.
    public static func heatColor(_ weight: Float) -> String {
        let w = Double(min(max(weight, 0), 1))
        let (r, g, b) = (255 + (8 - 255) * w, 255 + (48 - 255) * w, 255 + (107 - 255) * w)
        return String(format: "#%02x%02x%02x", Int(r.rounded()), Int(g.rounded()), Int(b.rounded()))
    }

    /// Text for XML: markup characters as entities, and control characters (which XML 1.0
    /// forbids even as references) as U+FFFD.
    public static func escaped(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.map { $0.value < 0x20 ? "\u{FFFD}" : $0 }))
            .replacingOccurrences(of: "&", with: "&amp;")
            .replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
            .replacingOccurrences(of: "\"", with: "&quot;")
    }
}

/// `text` in lines of at most `width` characters, broken at spaces (a longer word keeps its line).
public func wrappedLines(_ text: String, width: Int) -> [String] {
    var lines: [String] = []
    var line = ""
    for word in text.split(separator: " ") {
        if !line.isEmpty && line.count + 1 + word.count > width {
            lines.append(line)
            line = ""
        }
        line += (line.isEmpty ? "" : " ") + word
    }
    if !line.isEmpty { lines.append(line) }
    return lines
}
