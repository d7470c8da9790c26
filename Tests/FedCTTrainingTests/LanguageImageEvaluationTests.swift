// Tests of HLIP's evaluation: report findings read as the generator meant them, prompts unlike any report sentence, zero-shot and retrieval metrics.
import FedCTCore
import FedCTData
import FedCTProto
import FedCTTorch
@testable import FedCTTraining
import XCTest

final class LanguageImageEvaluationTests: XCTestCase {
    /// Reports of many drawn patients with their biomarkers, from every site profile and with several series.
    private func reports(_ count: Int) -> [(SyntheticPatient, String)] {
        (0..<count).map { index in
            var random = SeededGenerator(seed: 17, stream: "patient-\(index)")
            let patient = SyntheticPatient.draw(subjectID: "p\(index)", site: .site(index % 5), random: &random)
            let series = SeriesAcquisition.study(maxSeries: 4, random: &random)
            return (patient, SyntheticReport.text(for: patient, series: series, random: &random))
        }
    }

    func testReportFindingsMatchTheBiomarkersTheGeneratorDrew() {
        let findings = Dictionary(uniqueKeysWithValues: LanguageImageEvaluation.chestFindings.map { ($0.name, $0) })
        XCTAssertEqual(LanguageImageEvaluation.chestFindings.map(\.name), EvaluationReport.zeroShotFindings)
        var positives: [String: Int] = [:]
        for (patient, report) in reports(400) {
            let markers = patient.biomarkers
            let truth = [
                "effusion": markers.effusion >= SyntheticReport.effusionThreshold,
                "emphysema": markers.emphysema >= SyntheticReport.emphysemaThreshold,
                "nodule_mass": ChestPhantom.lesionRadius(markers.lesion) > 0,
                "cardiomegaly": markers.heart >= SyntheticReport.cardiomegalyThreshold,
            ]
            for (name, present) in truth {
                XCTAssertEqual(LanguageImageEvaluation.states(findings[name]!, in: report), present, "\(name) in:\n\(report)")
                positives[name, default: 0] += present ? 1 : 0
            }
        }
        XCTAssertTrue(positives.values.allSatisfy { (20...380).contains($0) }, "both classes of every finding occur: \(positives)")
    }

    func testPromptsAreWordedUnlikeEveryReportSentence() {
        let sentences = Set(reports(400).flatMap { ReportText.sentences($0.1) }.map { $0.lowercased().trimmingCharacters(in: .punctuationCharacters) })
        XCTAssertGreaterThan(sentences.count, 100)
        for finding in LanguageImageEvaluation.chestFindings {
            for prompt in [finding.presentPrompt, finding.absentPrompt] {
                XCTAssertFalse(sentences.contains(prompt.lowercased()), prompt)
                XCTAssertFalse(sentences.contains { $0.contains(prompt.lowercased()) }, "\(prompt) is inside a report sentence")
            }
        }
        // No prompt shares a run of three words with any sentence (so "no pulmonary nodule or mass" cannot answer a
        // prompt "a pulmonary nodule or mass is present" by its words alone).
        let sentenceRuns = Set(sentences.flatMap(Self.wordRuns))
        for finding in LanguageImageEvaluation.chestFindings {
            for prompt in [finding.presentPrompt, finding.absentPrompt] {
                XCTAssertEqual(Self.wordRuns(prompt).filter(sentenceRuns.contains), [], "\(prompt) shares these words with a report sentence")
            }
        }
        XCTAssertEqual(Self.wordRuns("No pulmonary nodule or mass."), ["no pulmonary nodule", "pulmonary nodule or", "nodule or mass"])
    }

    /// Every run of three consecutive words of `text`, lower-cased, punctuation dropped.
    private static func wordRuns(_ text: String) -> [String] {
        let words = text.lowercased().split { !$0.isLetter && !$0.isNumber }.map(String.init)
        return words.count < 3 ? [] : (0...(words.count - 3)).map { words[$0..<($0 + 3)].joined(separator: " ") }
    }

    func testMetricsScoreHeldOutStudiesWithNamesTheCoordinatorAccepts() throws {
        var config = HLIPConfig()
        config.dim = 12
        config.depth = 1
        config.heads = 2
        config.pattern = [.scan]
        config.textWidth = 16
        config.textDepth = 1
        config.textHeads = 2
        config.contextLength = 96
        config.embedDim = 8
        let model = try TorchModel(encoder: EncoderConfig(architecture: .objectiveTower), objective: config.objective, seed: 3)
        let trainer = LocalTrainer(epochs: 1, batchSize: 4, learningRate: 1e-3, weightDecay: 0, volumeSize: 16)
        let drawn = reports(24)
        let heldout = drawn.enumerated().map { index, pair in
            SiteExample(scanID: "study-\(index)", subjectID: pair.0.subjectID, inputs: [(0..<4096).map { Float(($0 * (index + 3)) % 17) / 17 }],
                        targets: [:], firstEventDays: [:], followUpDays: 100, report: pair.1)
        }
        let metrics = try LanguageImageEvaluation.metrics(model: model, trainer: trainer, heldout: heldout)
        XCTAssertEqual(metrics.map(\.name), EvaluationReport.zeroShotFindings.map(EvaluationReport.zeroShotName) + EvaluationReport.recallCutoffs.map(EvaluationReport.recallName))
        XCTAssertTrue(metrics.allSatisfy { EvaluationReport.names.contains($0.name) && $0.studies == 24 })
        for metric in metrics {
            let value = try XCTUnwrap(metric.value, metric.name)
            XCTAssertTrue((0...1).contains(value), "\(metric.name) = \(value)")
        }
        let recall = Dictionary(uniqueKeysWithValues: metrics.suffix(2).map { ($0.name, $0.value!) })
        XCTAssertLessThanOrEqual(recall[EvaluationReport.recallName(1)]!, recall[EvaluationReport.recallName(5)]!)
        XCTAssertTrue(EvaluationReport.meetsMinimumCohort(scans: 24, positives: 24, minCohort: 10, name: EvaluationReport.recallName(1)))
        XCTAssertFalse(EvaluationReport.meetsMinimumCohort(scans: 24, positives: 24, minCohort: 10, name: EvaluationReport.zeroShotName("effusion")))
        XCTAssertThrowsError(try LanguageImageEvaluation.metrics(model: model, trainer: trainer, heldout: [SiteExample(scanID: "x", subjectID: "p", input: [], targets: [:], firstEventDays: [:], followUpDays: 1)]))
    }
}
