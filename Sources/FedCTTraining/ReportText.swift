// ReportText: a radiology report as the sentences a language–image objective reads, shuffled as text augmentation.
public import FedCTData
import FedCTTorch
import Foundation

/// Turns a report into token ids: its sentences (split at line ends and at a full stop followed by a space), joined by
/// single spaces, as `ByteTokenizer` bytes (or another `ReportTokenizer`'s ids). In training the sentences are shuffled first (HLIP's text augmentation), so a
/// report longer than the context loses a different part each time.
public enum ReportText {
    /// The report's sentences, trimmed, without empty ones; a list number ("1.") stays with its item.
    public static func sentences(_ report: String) -> [String] {
        report.split(whereSeparator: \.isNewline).flatMap { line -> [String] in
            var sentences: [String] = []
            var number = ""
            let parts = line.components(separatedBy: ". ")
            for (index, part) in parts.enumerated() {
                let text = part.trimmingCharacters(in: .whitespaces)
                if index < parts.count - 1 && !text.isEmpty && text.allSatisfy(\.isNumber) {
                    number += text + ". "
                    continue
                }
                let sentence = number + (index < parts.count - 1 ? text + "." : text)
                number = ""
                if !sentence.isEmpty && sentence != "." { sentences.append(sentence) }
            }
            return sentences
        }
    }

    /// True for a section heading's name: letters and spaces, starting with a letter ("IMPRESSION", "Clinical indication").
    public static func isHeading(_ name: some StringProtocol) -> Bool {
        guard let first = name.first, first.isLetter else { return false }
        return name.allSatisfy { $0.isLetter || $0 == " " }
    }

    /// The text of `report`'s sections named in `sections` (any case), in the report's order, without their headings;
    /// `report` itself when `sections` is empty or the report has none of them. A section is a line "HEADING:" (its text
    /// on the lines below) or "HEADING: text", where the heading is in capitals (letters and spaces), and runs to the
    /// next such line.
    public static func selecting(_ sections: [String], from report: String) -> String {
        guard !sections.isEmpty else { return report }
        let wanted = Set(sections.map { $0.uppercased() })
        var kept: [Substring] = []
        var keeping = false
        var found = false
        for line in report.split(whereSeparator: \.isNewline) {
            if let colon = line.firstIndex(of: ":"), case let heading = line[..<colon].trimmingCharacters(in: .whitespaces),
               isHeading(heading), heading == heading.uppercased() {
                keeping = wanted.contains(heading)
                found = found || keeping
                let rest = line[line.index(after: colon)...].drop { $0 == " " }
                if keeping && !rest.isEmpty { kept.append(rest) }
            } else if keeping {
                kept.append(line)
            }
        }
        return found ? kept.joined(separator: "\n") : report
    }

    /// `length` token ids of `report`'s sentences in their order.
    public static func tokens(_ report: String, length: Int, tokenizer: ReportTokenizer = .bytes) -> [Int64] {
        tokenizer.encode(sentences(report).joined(separator: " "), length: length)
    }

    /// `length` token ids of `report`'s sentences in an order drawn from `random`.
    public static func shuffledTokens(_ report: String, length: Int, tokenizer: ReportTokenizer = .bytes, using random: inout SeededGenerator) -> [Int64] {
        tokenizer.encode(sentences(report).shuffled(using: &random).joined(separator: " "), length: length)
    }
}

/// The tokenizer a text tower reads: bytes (`ByteTokenizer`, the default) or a pretrained BERT's WordPiece vocabulary.
public enum ReportTokenizer: Sendable {
    case bytes
    case wordPiece(WordPieceTokenizer)

    /// `text` as `length` ids: the start token, its tokens (cut to fit), the end token, then padding.
    public func encode(_ text: String, length: Int) -> [Int64] {
        switch self {
        case .bytes: ByteTokenizer.encode(text, length: length)
        case .wordPiece(let tokenizer): tokenizer.encode(text, length: length)
        }
    }
}
