// SyntheticVocabulary: the background EHR codes (ICD-10-like diagnoses, LOINC-like labs, RxNorm-like drugs, CPT-like procedures) with Zipf-like frequencies and a diagnosis ontology.
import Foundation

/// Codes drawn with Zipf-like frequencies (weight of rank r ∝ 1 / r^0.9), in a site-specific order of popularity.
public struct ZipfCodes: Sendable {
    public let codes: [String]
    private let cumulative: [Double]

    /// `codes` in global popularity order; `random` moves each code within windows of 40 ranks, so sites agree on the
    /// common codes but differ in detail.
    init(codes: [String], exponent: Double = 0.9, random: inout SeededGenerator) {
        var ordered = codes
        for start in stride(from: 0, to: ordered.count, by: 40) {
            let end = min(start + 40, ordered.count)
            for i in stride(from: end - 1, to: start, by: -1) {
                ordered.swapAt(i, start + Int(random.uniform() * Double(i - start + 1)))
            }
        }
        self.codes = ordered
        var total = 0.0
        cumulative = (0..<ordered.count).map { rank in
            total += 1 / pow(Double(rank + 1), exponent)
            return total
        }
    }

    /// The index (into `codes`) of one draw.
    func drawIndex(_ random: inout SeededGenerator) -> Int {
        let target = random.uniform() * cumulative[cumulative.count - 1]
        var low = 0, high = cumulative.count - 1
        while low < high {
            let middle = (low + high) / 2
            if cumulative[middle] < target { low = middle + 1 } else { high = middle }
        }
        return low
    }

    /// One code.
    func draw(_ random: inout SeededGenerator) -> String { codes[drawIndex(&random)] }
}

/// A lab test: its code and the normal range its values are drawn from.
public struct SyntheticLab: Sendable {
    public let code: String
    public let mean: Double
    public let sd: Double
}

/// The background vocabulary of a site's records: 2,000 diagnoses, 1,000 labs, 1,000 drugs and 500 procedures, none
/// linked to the outcomes (the outcome codes and their ontology categories are never drawn as background).
public struct SyntheticVocabulary: Sendable {
    public let diagnoses: ZipfCodes
    public let labs: ZipfCodes
    public let drugs: ZipfCodes
    public let procedures: ZipfCodes
    /// The normal range of each lab, by code.
    public let labRanges: [String: SyntheticLab]

    /// ICD-10 categories that the outcomes use (with their descendants), kept out of the background.
    static let reservedCategories: Set<String> = ["C34", "J43", "J44", "J90", "J91", "I50", "I51", "R91"]

    /// Background diagnosis leaves `ICD10/<letter><NN>.<d>`: 20 chapters × 25 categories × 4 subcodes, minus reserved categories.
    static let diagnosisCodes: [String] = {
        var codes: [String] = []
        for letter in "ABCDEFGHIJKLMNOPQRST" {
            for index in 0..<25 {
                let category = "\(letter)\(String(format: "%02d", 10 + 3 * index))"
                guard !reservedCategories.contains(category) else { continue }
                codes += (0..<4).map { "ICD10/\(category).\($0)" }
            }
        }
        return codes
    }()

    /// Labs `LOINC/<number>-<check digit>` with fixed normal ranges (mean log-uniform in 1–500, SD 12 % of the mean).
    static let allLabs: [SyntheticLab] = {
        var random = SeededGenerator(seed: 0, stream: "synthetic-lab-ranges")
        return (0..<1000).map { index in
            let number = 10000 + 37 * index
            let check = String(number).compactMap(\.wholeNumberValue).reduce(0, +) % 10
            let mean = exp(log(500) * random.uniform())
            return SyntheticLab(code: "LOINC/\(number)-\(check)", mean: mean, sd: 0.12 * mean)
        }
    }()

    static let drugCodes: [String] = (0..<1000).map { "RXNORM/\(100_000 + 97 * $0)" }
    static let procedureCodes: [String] = (0..<500).map { "CPT/\(70000 + 11 * $0)" }

    /// Site `site`'s vocabulary: the same codes everywhere, in an order of popularity drawn from `seed` and the site.
    public init(seed: UInt64, site: Int) {
        var random = SeededGenerator(seed: seed, stream: "vocabulary-site-\(site)")
        diagnoses = ZipfCodes(codes: Self.diagnosisCodes, random: &random)
        labs = ZipfCodes(codes: Self.allLabs.map(\.code), random: &random)
        drugs = ZipfCodes(codes: Self.drugCodes, random: &random)
        procedures = ZipfCodes(codes: Self.procedureCodes, random: &random)
        labRanges = Dictionary(uniqueKeysWithValues: Self.allLabs.map { ($0.code, $0) })
    }

    /// Number of distinct background codes.
    public static var codeCount: Int { diagnosisCodes.count + allLabs.count + drugCodes.count + procedureCodes.count }

    /// `ontology.csv`: `code,parent` for every diagnosis (background and outcome) — leaf → category (`ICD10/J44`) →
    /// chapter (`ICD10/J`) — so tasks can count a code when it or a descendant occurs.
    public static func ontologyCSV() -> String {
        var parents: [(code: String, parent: String)] = []
        var seen = Set<String>()
        for code in diagnosisCodes + SyntheticConsortium.findingCodes {
            var child = code
            while let parent = parent(of: child) {
                if seen.insert(child).inserted { parents.append((child, parent)) }
                child = parent
            }
        }
        return "code,parent\n" + parents.map { "\($0.code),\($0.parent)\n" }.joined()
    }

    /// `ICD10/J44.1` → `ICD10/J44` → `ICD10/J` → nil.
    static func parent(of code: String) -> String? {
        let body = code.dropFirst("ICD10/".count)
        if let dot = body.firstIndex(of: ".") { return "ICD10/\(body[..<dot])" }
        return body.count > 1 ? "ICD10/\(body.prefix(1))" : nil
    }
}
