// LanguageImageEvaluation: zero-shot finding classification and report→study retrieval for objectives with a text tower (HLIP).
import FedCTCore
public import FedCTData
public import FedCTTorch
import Foundation

/// Scores a language–image model on a site's held-out studies without fitting anything: each finding is classified
/// zero-shot by comparing a study's image embedding with two prompts (present / absent), scored by AUROC against the
/// finding as the study's own report states it; and each report retrieves its study among all held-out studies
/// (recall@1 and recall@5). The prompts share no run of three words with any sentence the synthetic generator writes
/// (a test checks it on generated reports), so the scores measure what the towers learned rather than a template match.
public enum LanguageImageEvaluation {
    /// A finding: the words that mention it in a report, and the prompt pair that asks for it.
    public struct Finding: Sendable, Hashable {
        public var name: String
        /// Lower-case words or phrases; a sentence mentioning one, without a negation cue, states the finding.
        public var keywords: [String]
        public var presentPrompt: String
        public var absentPrompt: String
    }

    /// The chest findings the synthetic reports describe (and real chest CT reports commonly do). Each present prompt
    /// names the finding, as zero-shot prompts in the field do (CT-CLIP's "<finding> is present."), in a sentence no
    /// report template writes; the absent prompt describes a normal study, which the reports' impressions of normal
    /// studies say in other words. A prompt that avoids the finding's name ("fluid collects in the pleural space") leaves
    /// a text tower trained from scratch nothing to read it by: its sign then varied from run to run (Docs/science.md).
    public static let chestFindings: [Finding] = [
        Finding(name: "effusion", keywords: ["effusion", "pleural fluid"],
                presentPrompt: "chest CT showing a pleural effusion", absentPrompt: normalStudyPrompt),
        Finding(name: "emphysema", keywords: ["emphysema", "emphysematous"],
                presentPrompt: "chest CT showing emphysema", absentPrompt: normalStudyPrompt),
        Finding(name: "nodule_mass", keywords: ["nodule", "mass", "lesion"],
                presentPrompt: "chest CT showing a lung nodule", absentPrompt: normalStudyPrompt),
        Finding(name: "cardiomegaly", keywords: ["cardiomegaly", "heart is enlarged", "enlarged cardiac"],
                presentPrompt: "chest CT showing cardiomegaly", absentPrompt: normalStudyPrompt),
    ]

    /// Every finding's absent prompt: a study without findings.
    public static let normalStudyPrompt = "an unremarkable chest CT"

    /// Words that make a sentence deny what it mentions.
    static let negationCues = ["no ", "not ", "without", "negative for", "free of"]

    /// True when `report` states `finding`: some sentence mentions one of its keywords and carries no negation cue.
    public static func states(_ finding: Finding, in report: String) -> Bool {
        ReportText.sentences(report).contains { sentence in
            let text = " " + sentence.lowercased()
            return finding.keywords.contains { text.contains($0) } && !negationCues.contains { text.contains(" " + $0) }
        }
    }

    /// One metric of the evaluation: its value and the counts the minimum-cohort rule reads.
    public struct Metric: Sendable, Hashable {
        public var name: String
        public var value: Double?
        public var studies: Int
        /// Studies stating the finding (zero-shot), or the queries (retrieval: each has one right study).
        public var positives: Int
    }

    /// One model's scores of held-out studies: per finding (by name) each study's zero-shot score, the image embedding's
    /// similarity to the present prompt minus that to the absent one; and the rank of each study's own report's
    /// retrieval, the number of other studies of its group its report is more similar to (0: retrieved first).
    public struct Scores: Sendable {
        public var zeroShot: [String: [Double]]
        public var ranks: [Int]

        /// The scores of `groups` one after another, as if scored together (each group keeps its own ranks).
        public static func concatenated(_ groups: [Scores]) -> Scores {
            Scores(zeroShot: Dictionary(groups.flatMap(\.zeroShot), uniquingKeysWith: +), ranks: groups.flatMap(\.ranks))
        }
    }

    /// The zero-shot scores and retrieval ranks of `heldout` (studies with reports; ranks within `heldout`).
    public static func scores(model: TorchModel, trainer: LocalTrainer, heldout: [SiteExample], findings: [Finding] = chestFindings) throws -> Scores {
        guard let length = model.objective.reportTokens else {
            throw FedCTError(.invalidConfiguration, "objective '\(model.objective.name)' has no text tower to evaluate zero-shot")
        }
        let reports = try heldout.map { example in
            guard let report = example.report else { throw FedCTError(.invalidData, "study \(example.scanID) has no report to evaluate against") }
            return report
        }
        let images = try trainer.predict(model, heldout)
        func textFeatures(_ texts: [[Int64]]) throws -> [[Float]] {
            var rows: [[Float]] = []
            let width = model.outputSize
            for chunk in texts.chunks(of: max(1, trainer.batchSize)) {
                let flat = try model.predict(TensorBatch([NamedTensor(name: "tokens", shape: [chunk.count, length], tokens: chunk.flatMap { $0 })]))
                for row in 0..<chunk.count { rows.append(Array(flat[(row * width)..<((row + 1) * width)])) }
            }
            return rows
        }
        let prompts = try textFeatures(findings.flatMap { [trainer.tokenizer.encode($0.presentPrompt, length: length), trainer.tokenizer.encode($0.absentPrompt, length: length)] })
        var zeroShot: [String: [Double]] = [:]
        for (index, finding) in findings.enumerated() {
            zeroShot[finding.name] = images.map { Double(dot($0, prompts[2 * index]) - dot($0, prompts[2 * index + 1])) }
        }
        let texts = try textFeatures(reports.map { ReportText.tokens(ReportText.selecting(model.objective.reportSections, from: $0), length: length, tokenizer: trainer.tokenizer) })
        let ranks = texts.enumerated().map { query, text in
            let own = dot(text, images[query])
            return images.indices.filter { $0 != query && dot(text, images[$0]) > own }.count
        }
        return Scores(zeroShot: zeroShot, ranks: ranks)
    }

    /// Zero-shot AUROC per finding and retrieval recall over `heldout` (studies with reports); a metric that cannot be
    /// scored (one class only) has a nil value.
    public static func metrics(model: TorchModel, trainer: LocalTrainer, heldout: [SiteExample], findings: [Finding] = chestFindings) throws -> [Metric] {
        let scores = try scores(model: model, trainer: trainer, heldout: heldout, findings: findings)
        var metrics: [Metric] = []
        for finding in findings {
            let labels = heldout.map { states(finding, in: $0.report ?? "") }
            let value = try? AUROC.value(labels: labels, scores: scores.zeroShot[finding.name]!)
            metrics.append(Metric(name: EvaluationReport.zeroShotName(finding.name), value: value, studies: labels.count, positives: labels.filter { $0 }.count))
        }
        for cutoff in EvaluationReport.recallCutoffs {
            let value = heldout.isEmpty ? nil : Double(scores.ranks.filter { $0 < cutoff }.count) / Double(heldout.count)
            metrics.append(Metric(name: EvaluationReport.recallName(cutoff), value: value, studies: heldout.count, positives: heldout.count))
        }
        return metrics
    }

    private static func dot(_ a: [Float], _ b: [Float]) -> Float { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }
}
