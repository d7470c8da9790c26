// SiteEvaluationTests: a site's probes report counts from the binary outcome definitions and withhold metrics below the minimum cohort;
// a MEDFORM site's few-shot findings are labelled from its own reports.
import FedCTCore
@testable import FedCTData
import FedCTProto
import FedCTTorch
import FedCTTraining
import XCTest

final class SiteEvaluationTests: XCTestCase {
    override class func setUp() { Torch.setThreadCount(2) }

    private let side = 16

    /// Scan i: bright scans die early; every third one dies at day 100 + i, every fourth other one is censored at day 200.
    private func examples(_ count: Int, prefix: String) -> [SiteExample] {
        (0..<count).map { index in
            var firstEventDays: [String: Double] = [:]
            var followUp = 400.0
            if index % 3 == 0 {
                firstEventDays["DEATH"] = 100 + Double(index)
                followUp = firstEventDays["DEATH"]!
            } else if index % 4 == 1 {
                followUp = 200
            }
            if index % 2 == 0 { firstEventDays["PE"] = 20 }
            let level = Float(index % 3 == 0 ? 0.4 : -0.2)
            return SiteExample(scanID: "\(prefix)\(index)", subjectID: "\(prefix)p\(index)",
                              input: (0..<(side * side * side)).map { level + Float(($0 * (3 + index)) % 13) / 26 },
                              timeAtRisk: [], events: [], firstEventDays: firstEventDays, followUpDays: followUp)
        }
    }

    private func evaluate(minCohort: Int) throws -> Fedct_V1_MetricsReport {
        let model = try TorchModel(encoder: EncoderConfig(depth: 10, width: 2, stemStride: 2, norm: .group), head: TTEHeadConfig(tasks: 3, pieces: 2, rank: 2), seed: 4)
        let dataset = SiteDataset(train: examples(36, prefix: "t"), heldout: examples(30, prefix: "h"), skippedWithoutFollowUp: [])
        return try SiteEvaluation.evaluate(model: model, trainer: LocalTrainer(epochs: 1, batchSize: 8, learningRate: 1e-3, weightDecay: 0, volumeSize: side),
                                           dataset: dataset, minCohort: minCohort, l2: 1)
    }

    func testCountsFollowTheOutcomeDefinitionsAndSmallCohortsAreWithheld() throws {
        let report = try evaluate(minCohort: 5)
        XCTAssertEqual(report.cohortSize, 30)
        // Held-out mortality within 12 months: 10 deaths (i % 3 == 0); survivors followed to day 400 are negatives; the
        // 5 censored at day 200 (i % 4 == 1, i % 3 != 0) have unknown status and are left out.
        let censored = (0..<30).filter { $0 % 3 != 0 && $0 % 4 == 1 }.count
        XCTAssertEqual(report.counts["auroc/mortality_12m"]?.scans, Int64(30 - censored))
        XCTAssertEqual(report.counts["auroc/mortality_12m"]?.positives, 10)
        // Within 1 month nobody dies: no positives, so the metric is withheld; nobody is readmitted or has PH either.
        XCTAssertNil(report.metrics["auroc/mortality_1m"])
        XCTAssertTrue(report.suppressed.contains("auroc/mortality_1m"))
        XCTAssertTrue(report.suppressed.contains("harrell_c/PH") && report.suppressed.contains("auroc/readmission_12m"))
        XCTAssertEqual(report.counts["harrell_c/DEATH"]?.scans, 30)
        XCTAssertEqual(report.counts["harrell_c/DEATH"]?.positives, 10)
        XCTAssertEqual(report.counts["harrell_c/PE"]?.positives, 15)
        XCTAssertEqual(Set(report.metrics.keys).union(report.suppressed), Set(EvaluationReport.probeNames), "every metric is either reported or suppressed")
        XCTAssertTrue(Set(report.metrics.keys).isDisjoint(with: report.suppressed))
        for value in report.metrics.values { XCTAssertTrue((0...1).contains(value)) }
        XCTAssertGreaterThan(report.metrics["auroc/mortality_12m"] ?? 0, 0.75, "bright scans die: even a random encoder's probe ranks them higher")
        try EvaluationReport.validate(report, from: "site", minCohort: 5)

        let strict = try evaluate(minCohort: 11)
        XCTAssertNil(strict.metrics["harrell_c/DEATH"], "10 events are below a minimum cohort of 11")
        XCTAssertNotNil(strict.metrics["harrell_c/PE"], "15 events and 15 without")
        XCTAssertTrue(strict.suppressed.contains("auroc/mortality_12m") && strict.suppressed.contains("harrell_c/DEATH"))
    }

    /// Scan i of a MEDFORM site at 32³: its report (none for `unreported`) states effusion for even i (and denies it for
    /// odd i), emphysema for i % 3 == 0 and a nodule for i % 4 == 0, never cardiomegaly; effusion scans are brighter.
    private func reportedScans(_ count: Int, prefix: String, unreported: Set<Int> = []) -> [SiteExample] {
        (0..<count).map { index in
            var sentences = [index % 2 == 0 ? "A small left pleural effusion is present." : "No pleural effusion."]
            if index % 3 == 0 { sentences.append("Centrilobular emphysema in both upper lobes.") }
            sentences.append(index % 4 == 0 ? "A 6 mm nodule in the right upper lobe." : "The lungs are clear.")
            sentences.append("The heart is of normal size.")
            let level = Float(index % 2 == 0 ? 0.4 : -0.2)
            return SiteExample(scanID: "\(prefix)\(index)", subjectID: "\(prefix)p\(index)", inputs: [(0..<(32 * 32 * 32)).map { level + Float(($0 * (3 + index)) % 13) / 26 }],
                               targets: [:], firstEventDays: [:], followUpDays: 400, report: unreported.contains(index) ? nil : sentences.joined(separator: " "))
        }
    }

    func testMEDFORMFindingsAreLabelledFromTheSitesOwnReports() throws {
        var spec = try MEDFORMObjectiveTests.example()
        spec.training.volumeSize = 32
        spec.training.batchSize = 4
        spec.medform.sliceEncoderWidth = 8
        spec.medform.projectionDim = 16
        spec.medform.slicesPerScan = 4
        let model = try TorchModel(spec: spec)
        let trainer = LocalTrainer(training: spec.training)
        // 24 training scans; 20 held out, the last without a report (status unknown, left out of the findings' counts).
        let dataset = SiteDataset(train: reportedScans(24, prefix: "t"), heldout: reportedScans(20, prefix: "h", unreported: [19]), skippedWithoutFollowUp: [])
        let report = try SiteEvaluation.evaluate(model: model, trainer: trainer, dataset: dataset, minCohort: 2, l2: 1)
        // Held-out scans 0–18 with reports: effusion stated by the 10 even ones (the 9 odd ones deny it), emphysema by
        // 0, 3, …, 18 (7), a nodule by 0, 4, …, 16 (5).
        for (finding, positives) in [("effusion", 10), ("emphysema", 7), ("nodule_mass", 5)] {
            for metric in EvaluationReport.fewShotMetrics {
                let name = EvaluationReport.fewShotName(metric, finding, shots: 1)
                XCTAssertNotNil(report.metrics[name], name)
                XCTAssertEqual(report.counts[name]?.scans, 19, name)
                XCTAssertEqual(report.counts[name]?.positives, Int64(positives), name)
            }
        }
        // Effusion has 12 training scans of each class, enough for k = 10; emphysema has 8 positives, too few.
        XCTAssertNotNil(report.metrics["fewshot_auroc/effusion/k10"])
        XCTAssertTrue(report.suppressed.contains("fewshot_auroc/emphysema/k10") && report.metrics["fewshot_auroc/emphysema/k5"] != nil)
        // No report states cardiomegaly, nobody has lung cancer: one class only, suppressed.
        XCTAssertTrue(EvaluationReport.fewShotLabelNames("cardiomegaly").allSatisfy(report.suppressed.contains))
        XCTAssertTrue(EvaluationReport.fewShotLabelNames("lung_cancer_12m").allSatisfy(report.suppressed.contains))
        XCTAssertEqual(Set(report.metrics.keys).union(report.suppressed), Set(EvaluationReport.probeNames + EvaluationReport.fewShotNames))
        try EvaluationReport.validate(report, from: "site", minCohort: 2)

        // Without reports the findings' status is unknown everywhere: every finding score is suppressed.
        let unreported = SiteDataset(train: reportedScans(24, prefix: "t", unreported: Set(0..<24)), heldout: reportedScans(20, prefix: "h", unreported: Set(0..<20)),
                                     skippedWithoutFollowUp: [])
        let bare = try SiteEvaluation.evaluate(model: model, trainer: trainer, dataset: unreported, minCohort: 2, l2: 1)
        let findingNames = EvaluationReport.fewShotFindings.flatMap(EvaluationReport.fewShotLabelNames)
        XCTAssertEqual(findingNames.count, 4 * 3 * 3)
        XCTAssertTrue(findingNames.allSatisfy { bare.metrics[$0] == nil && bare.suppressed.contains($0) && bare.counts[$0] == nil })
        try EvaluationReport.validate(bare, from: "site", minCohort: 2)
    }
}
