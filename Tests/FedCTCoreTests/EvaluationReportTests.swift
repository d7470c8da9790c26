// EvaluationReportTests: binary outcome labels (censoring before the horizon is unknown), the minimum-cohort rule,
// the coordinator's report checks and the pooled values.
import FedCTCore
import FedCTProto
import XCTest

final class EvaluationReportTests: XCTestCase {
    func testBinaryOutcomesExcludeScansCensoredBeforeTheHorizon() {
        let sixMonths = BinaryOutcome(name: "mortality_6m", code: "DEATH", horizonDays: 182)
        XCTAssertEqual(sixMonths.label(firstEventDays: ["DEATH": 100], followUpDays: 100), true, "died within the horizon")
        XCTAssertEqual(sixMonths.label(firstEventDays: ["DEATH": 182], followUpDays: 182), true, "the horizon day counts")
        XCTAssertEqual(sixMonths.label(firstEventDays: ["DEATH": 300], followUpDays: 300), false, "died after the horizon")
        XCTAssertEqual(sixMonths.label(firstEventDays: [:], followUpDays: 182), false, "followed to the horizon without the event")
        XCTAssertNil(sixMonths.label(firstEventDays: [:], followUpDays: 181), "censored before the horizon: unknown, not negative")
        XCTAssertNil(sixMonths.label(firstEventDays: ["PE": 10], followUpDays: 90), "another code's event says nothing")
        XCTAssertEqual(BinaryOutcome.standard.map(\.horizonDays), [30, 182, 365, 30, 182, 365, 365, 365])
        XCTAssertEqual(BinaryOutcome.trackedCodes, ["DEATH", "READMISSION", "PE", "PH"])
    }

    func testTheMinimumCohortAppliesToScansPositivesAndNegatives() {
        XCTAssertTrue(EvaluationReport.meetsMinimumCohort(scans: 20, positives: 10, minCohort: 10))
        XCTAssertFalse(EvaluationReport.meetsMinimumCohort(scans: 19, positives: 10, minCohort: 10), "9 negatives")
        XCTAssertFalse(EvaluationReport.meetsMinimumCohort(scans: 40, positives: 9, minCohort: 10), "9 positives")
        XCTAssertFalse(EvaluationReport.meetsMinimumCohort(scans: 9, positives: 0, minCohort: 10))
        var job = Fedct_V1_EvaluationSpec()
        job.minCohort = 10
        XCTAssertEqual(EvaluationReport.effectiveMinimumCohort(job: job, site: nil), 10)
        XCTAssertEqual(EvaluationReport.effectiveMinimumCohort(job: job, site: 25), 25, "a site may raise it")
        XCTAssertEqual(EvaluationReport.effectiveMinimumCohort(job: job, site: 3), 10, "but not lower it")
    }

    private func report(_ metrics: [String: (Double, Int64, Int64)], suppressed: [String] = [], cohort: Int64 = 40) -> Fedct_V1_MetricsReport {
        var report = Fedct_V1_MetricsReport()
        report.jobID = "job-0001"
        report.round = 1
        report.cohortSize = cohort
        report.suppressed = suppressed
        for (name, value) in metrics {
            report.metrics[name] = value.0
            var counts = Fedct_V1_MetricCounts()
            counts.scans = value.1
            counts.positives = value.2
            report.counts[name] = counts
        }
        return report
    }

    func testTheCoordinatorRefusesReportsThatBreakTheRules() throws {
        try EvaluationReport.validate(report(["auroc/mortality_6m": (0.7, 40, 12), "harrell_c/DEATH": (0.64, 40, 15)], suppressed: ["auroc/pe_12m"]),
                                      from: "site-1", minCohort: 10)
        let refusals: [(Fedct_V1_MetricsReport, String)] = [
            (report(["auroc/mortality_6m": (0.7, 40, 9)]), "below the job's minimum cohort of 10"),
            (report(["auroc/mortality_6m": (0.7, 40, 31)]), "below the job's minimum cohort of 10"),
            (report(["auroc/shoe_size": (0.7, 40, 12)]), "unknown metric 'auroc/shoe_size'"),
            (report(["harrell_c/DEATH": (1.5, 40, 12)]), "outside [0, 1]"),
            (report(["harrell_c/DEATH": (.nan, 40, 12)]), "outside [0, 1]"),
            (report(["harrell_c/DEATH": (0.6, 50, 12)]), "do not fit its cohort of 40"),
            (report(["harrell_c/DEATH": (0.6, 40, 12)], suppressed: ["harrell_c/DEATH"]), "both reports and suppresses"),
        ]
        for (bad, expected) in refusals {
            XCTAssertThrowsError(try EvaluationReport.validate(bad, from: "site-2", minCohort: 10)) { error in
                XCTAssertTrue("\(error)".contains("site-2") && "\(error)".contains(expected), "\(error)")
            }
        }
        var noCounts = report(["harrell_c/DEATH": (0.6, 40, 12)])
        noCounts.counts = [:]
        XCTAssertThrowsError(try EvaluationReport.validate(noCounts, from: "site-2", minCohort: 10)) { error in
            XCTAssertTrue("\(error)".contains("no counts for harrell_c/DEATH"), "\(error)")
        }
    }

    func testPooledValuesAreScanWeightedMeansOverTheSitesThatReported() {
        func site(_ name: String, _ metrics: [String: (Double, Int64, Int64)]) -> Fedct_V1_SiteEvaluation {
            let source = report(metrics)
            var evaluation = Fedct_V1_SiteEvaluation()
            evaluation.site = name
            evaluation.metrics = source.metrics
            evaluation.counts = source.counts
            return evaluation
        }
        let pooled = EvaluationReport.pooled([
            site("a", ["harrell_c/DEATH": (0.6, 30, 10), "auroc/pe_12m": (0.8, 20, 10)]),
            site("b", ["harrell_c/DEATH": (0.7, 10, 4)]),
        ])
        XCTAssertEqual(pooled.map(\.name), ["auroc/pe_12m", "harrell_c/DEATH"])
        XCTAssertEqual(pooled[0].value, 0.8, accuracy: 1e-12)
        XCTAssertEqual(pooled[0].sites, 1)
        XCTAssertEqual(pooled[1].value, (0.6 * 30 + 0.7 * 10) / 40, accuracy: 1e-12)
        XCTAssertEqual(pooled[1].scans, 40)
        XCTAssertEqual(pooled[1].positives, 14)
        XCTAssertEqual(pooled[1].sites, 2)
    }
}
