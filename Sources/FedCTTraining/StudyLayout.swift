// StudyLayout: which scans of an example, and which token ids of its report, go into a batch for the model's objective.
import FedCTData
import FedCTTorch

/// The scans and report tokens of one example in a training batch. An objective on studies (`ObjectiveConfig.studyScans`
/// N) takes N scans per study: a study with at least N draws N different scans at random (kept in manifest order), one
/// with fewer takes all of them and repeats scans drawn at random to fill N — HLIP's sampling, so every study fills the
/// same [N, 1, D, H, W] slot and no padding or mask is needed. An objective on scans takes the example's one scan. An
/// objective that reads reports (`reportTokens`) gets the sentences of the report's chosen sections (`reportSections`) in a
/// random order (`ReportText`).
struct StudyLayout {
    /// Indices into the example's `inputs`.
    var scans: [Int]
    /// The report's token ids; empty when the objective reads no reports.
    var tokens: [Int64]

    init(_ example: SiteExample, objective: ObjectiveConfig, tokenizer: ReportTokenizer = .bytes, random: inout SeededGenerator) {
        let available = example.inputs.count
        if let count = objective.studyScans {
            if available >= count {
                scans = Array(Array(0..<available).shuffled(using: &random).prefix(count)).sorted()
            } else {
                scans = Array(0..<available) + (available..<count).map { _ in Int(random.next() % UInt64(available)) }
            }
        } else {
            scans = [0]
        }
        tokens = objective.reportTokens.map {
            ReportText.shuffledTokens(ReportText.selecting(objective.reportSections, from: example.report ?? ""), length: $0, tokenizer: tokenizer, using: &random)
        } ?? []
    }

    /// The scans evaluation embeds: the study's first `count` scans, cycling through them when it has fewer; the first
    /// scan when `count` is nil.
    static func firstScans(of example: SiteExample, count: Int?) -> [Int] {
        guard let count else { return [0] }
        return (0..<count).map { $0 % example.inputs.count }
    }
}
