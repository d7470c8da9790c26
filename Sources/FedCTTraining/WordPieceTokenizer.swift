// WordPieceTokenizer: BERT's tokenizer over a published `vocab.txt` (Hugging Face's BertTokenizer, uncased), for a
// pretrained BERT-family text tower.
import FedCTCore
import Foundation

/// BERT's WordPiece tokenizer as Hugging Face's `BertTokenizer` runs it with `do_lower_case` (the uncased BERTs,
/// BiomedBERT): clean the text (drop NUL, U+FFFD and control characters, turn whitespace into spaces), put spaces around
/// CJK ideographs, split at whitespace, lower-case and strip accents (NFD without combining marks), split off every
/// punctuation character, then split each word greedily into the longest vocabulary pieces (continuations prefixed
/// `##`; a word with no split, or longer than 100 characters, becomes `[UNK]`). The vocabulary is a published file, the
/// same at every site, so the ids carry nothing a site holds.
public struct WordPieceTokenizer: Sendable {
    /// Token → id (the line number in `vocab.txt`, from 0).
    public let vocabulary: [String: Int64]
    public let cls: Int64
    public let sep: Int64
    public let pad: Int64
    public let unknown: Int64
    /// Words longer than this many characters become `[UNK]` (Hugging Face's `max_input_chars_per_word`).
    public var maxCharactersPerWord = 100

    /// Reads `vocab.txt` (one token per line); errors name the file and the special token it lacks.
    public init(vocabularyFile path: String) throws {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw FedCTError(.invalidData, "\(path): cannot read the WordPiece vocabulary (a UTF-8 vocab.txt, one token per line)")
        }
        try self.init(tokens: text.split(separator: "\n", omittingEmptySubsequences: false).map { String($0.hasSuffix("\r") ? $0.dropLast() : $0) },
                      source: path)
    }

    /// A tokenizer over `tokens` in id order (trailing empty lines ignored); `source` names them in errors.
    public init(tokens: [String], source: String = "vocab.txt") throws {
        var lines = tokens
        while lines.last?.isEmpty == true { lines.removeLast() }
        var vocabulary: [String: Int64] = [:]
        for (index, token) in lines.enumerated() where vocabulary[token] == nil { vocabulary[token] = Int64(index) }
        func special(_ name: String) throws -> Int64 {
            guard let id = vocabulary[name] else { throw FedCTError(.invalidData, "\(source): the WordPiece vocabulary has no \(name) token") }
            return id
        }
        self.vocabulary = vocabulary
        cls = try special("[CLS]")
        sep = try special("[SEP]")
        pad = try special("[PAD]")
        unknown = try special("[UNK]")
    }

    /// `text` as `length` ids: [CLS], its pieces (cut to fit), [SEP], then [PAD] — Hugging Face's
    /// `tokenizer(text, truncation=True, max_length=length, padding="max_length")`.
    public func encode(_ text: String, length: Int) -> [Int64] {
        precondition(length >= 2, "a token sequence needs room for [CLS] and [SEP]")
        let pieces = tokenize(text).prefix(length - 2)
        return [cls] + pieces + [sep] + [Int64](repeating: pad, count: length - 2 - pieces.count)
    }

    /// The ids of `text`'s pieces, without [CLS] and [SEP].
    public func tokenize(_ text: String) -> [Int64] { words(text).flatMap(pieces) }

    /// The basic tokenizer's words: cleaned, split at whitespace and punctuation, lower-cased without accents.
    func words(_ text: String) -> [String] {
        var spaced = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if scalar.value == 0 || scalar.value == 0xFFFD || Self.isControl(scalar) { continue }
            if Self.isWhitespace(scalar) {
                spaced.append(" ")
            } else if Self.isCJK(scalar) {
                spaced.append(contentsOf: [" ", scalar, " "])
            } else {
                spaced.append(scalar)
            }
        }
        return String(spaced).split(separator: " ").flatMap { word -> [String] in
            let folded = word.lowercased().decomposedStringWithCanonicalMapping.unicodeScalars.filter { $0.properties.generalCategory != .nonspacingMark }
            var parts: [String] = []
            var current = String.UnicodeScalarView()
            for scalar in folded {
                if Self.isPunctuation(scalar) {
                    if !current.isEmpty { parts.append(String(current)) }
                    current = String.UnicodeScalarView()
                    parts.append(String(scalar))
                } else {
                    current.append(scalar)
                }
            }
            if !current.isEmpty { parts.append(String(current)) }
            return parts
        }
    }

    /// Greedy longest-match-first WordPiece of one word.
    func pieces(_ word: String) -> [Int64] {
        let characters = Array(word)
        guard characters.count <= maxCharactersPerWord else { return [unknown] }
        var ids: [Int64] = []
        var start = 0
        while start < characters.count {
            var end = characters.count
            var found: Int64?
            while start < end {
                let piece = (start > 0 ? "##" : "") + String(characters[start..<end])
                if let id = vocabulary[piece] {
                    found = id
                    break
                }
                end -= 1
            }
            guard let found else { return [unknown] }
            ids.append(found)
            start = end
        }
        return ids
    }

    static func isWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        scalar == " " || scalar == "\t" || scalar == "\n" || scalar == "\r" || scalar.properties.generalCategory == .spaceSeparator
    }

    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        if scalar == "\t" || scalar == "\n" || scalar == "\r" { return false }
        switch scalar.properties.generalCategory {
        case .control, .format, .unassigned, .privateUse, .surrogate: return true
        default: return false
        }
    }

    /// ASCII non-alphanumeric printable characters count as punctuation (as BERT's tokenizer has it), and every Unicode P*.
    static func isPunctuation(_ scalar: Unicode.Scalar) -> Bool {
        let v = scalar.value
        if (33...47).contains(v) || (58...64).contains(v) || (91...96).contains(v) || (123...126).contains(v) { return true }
        switch scalar.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation, .finalPunctuation, .otherPunctuation:
            return true
        default:
            return false
        }
    }

    static func isCJK(_ scalar: Unicode.Scalar) -> Bool {
        let ranges: [ClosedRange<UInt32>] = [0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F, 0x2B740...0x2B81F,
                                             0x2B820...0x2CEAF, 0xF900...0xFAFF, 0x2F800...0x2FA1F]
        return ranges.contains { $0.contains(scalar.value) }
    }
}
