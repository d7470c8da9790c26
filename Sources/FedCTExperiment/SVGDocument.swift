// SVGDocument: a small SVG writer (lines, circles, polylines, text, axes) for the experiment's plots.
import FedCTTraining
import Foundation

/// An SVG image built element by element, with a white background.
struct SVGDocument {
    let width: Double
    let height: Double
    private var elements: [String] = []

    init(width: Double, height: Double) {
        self.width = width
        self.height = height
    }

    mutating func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, stroke: String = "#000", width: Double = 1, dashed: Bool = false) {
        elements.append("<line x1=\"\(f(x1))\" y1=\"\(f(y1))\" x2=\"\(f(x2))\" y2=\"\(f(y2))\" stroke=\"\(stroke)\" stroke-width=\"\(f(width))\""
            + (dashed ? " stroke-dasharray=\"4 3\"" : "") + "/>")
    }

    mutating func circle(_ x: Double, _ y: Double, radius: Double, fill: String) {
        elements.append("<circle cx=\"\(f(x))\" cy=\"\(f(y))\" r=\"\(f(radius))\" fill=\"\(fill)\"/>")
    }

    mutating func rect(_ x: Double, _ y: Double, _ width: Double, _ height: Double, fill: String) {
        elements.append("<rect x=\"\(f(x))\" y=\"\(f(y))\" width=\"\(f(width))\" height=\"\(f(height))\" fill=\"\(fill)\"/>")
    }

    mutating func polyline(_ points: [(Double, Double)], stroke: String, width: Double = 2) {
        let path = points.map { "\(f($0.0)),\(f($0.1))" }.joined(separator: " ")
        elements.append("<polyline points=\"\(path)\" fill=\"none\" stroke=\"\(stroke)\" stroke-width=\"\(f(width))\"/>")
    }

    /// `anchor`: start, middle or end.
    mutating func text(_ x: Double, _ y: Double, _ string: String, size: Double = 12, anchor: String = "start", fill: String = "#000",
                       bold: Bool = false, rotate: Bool = false) {
        let escaped = string.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
        elements.append("<text x=\"\(f(x))\" y=\"\(f(y))\" font-family=\"DejaVu Sans, Arial, sans-serif\" font-size=\"\(f(size))\" text-anchor=\"\(anchor)\" fill=\"\(fill)\""
            + (bold ? " font-weight=\"bold\"" : "") + (rotate ? " transform=\"rotate(-90 \(f(x)) \(f(y)))\"" : "") + ">\(escaped)</text>")
    }

    /// The document's text.
    var svg: String {
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(f(width))\" height=\"\(f(height))\" viewBox=\"0 0 \(f(width)) \(f(height))\">\n"
            + "<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n" + elements.joined(separator: "\n") + "\n</svg>\n"
    }

    private func f(_ value: Double) -> String { String(format: "%.1f", value) }

    /// About `count` round tick values covering [low, high] (steps of 1, 2 or 5 × 10^k).
    static func ticks(_ low: Double, _ high: Double, count: Int = 6) -> [Double] {
        guard high > low else { return [low] }
        let raw = (high - low) / Double(count)
        let power = pow(10, (log10(raw)).rounded(.down))
        let step = [1.0, 2, 5, 10].map { $0 * power }.first { $0 >= raw } ?? 10 * power
        let first = (low / step).rounded(.up) * step
        return stride(from: first, through: high + step * 1e-9, by: step).map { ($0 / step).rounded() * step }
    }

    /// Colours for the arms, in order (colour-blind safe, Okabe–Ito).
    static let palette = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000", "#999999", "#B8A600"]
}
