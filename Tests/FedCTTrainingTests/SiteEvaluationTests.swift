// SiteEvaluationTests: a site's probes report counts from the binary outcome definitions and withhold metrics below the minimum cohort.
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
}
