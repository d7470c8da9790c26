// Tests of how study examples fill a batch: scans sampled or repeated to the objective's count, reports as shuffled sentences.
import FedCTData
import FedCTTorch
@testable import FedCTTraining
import XCTest

final class StudyLayoutTests: XCTestCase {
    private func study(scans: Int, report: String? = "A. B.") -> SiteExample {
        SiteExample(scanID: "s", subjectID: "p", inputs: (0..<scans).map { [Float($0)] }, targets: [:], firstEventDays: [:], followUpDays: 1,
                    report: report)
    }

    func testScansAreSampledWithoutRepeatsOrRepeatedToFill() {
        let objective = ObjectiveConfig(name: "hlip", studyScans: 3)
        var random = SeededGenerator(seed: 1)
        var seen = Set<[Int]>()
        for _ in 0..<50 {
            let layout = StudyLayout(study(scans: 5), objective: objective, random: &random)
            XCTAssertEqual(layout.scans.count, 3)
            XCTAssertEqual(Set(layout.scans).count, 3, "no scan twice when the study has enough")
            XCTAssertEqual(layout.scans, layout.scans.sorted(), "kept in manifest order")
            seen.insert(layout.scans)
        }
        XCTAssertGreaterThan(seen.count, 5, "different scans each time")
        let short = StudyLayout(study(scans: 2), objective: objective, random: &random)
        XCTAssertEqual(Array(short.scans.prefix(2)), [0, 1], "every scan of a short study, then repeats")
        XCTAssertTrue((0..<2).contains(short.scans[2]))
        XCTAssertEqual(StudyLayout.firstScans(of: study(scans: 2), count: 3), [0, 1, 0])
        XCTAssertEqual(StudyLayout.firstScans(of: study(scans: 4), count: nil), [0])
        XCTAssertTrue(short.tokens.isEmpty, "no report tokens for an objective that reads none")
    }

    func testScanObjectivesDrawNothing() {
        var random = SeededGenerator(seed: 9)
        var untouched = random
        let layout = StudyLayout(study(scans: 1), objective: ObjectiveConfig(name: "tte"), random: &random)
        XCTAssertEqual(layout.scans, [0])
        XCTAssertEqual(random.next(), untouched.next(), "time-to-event batches keep their random streams")
    }

    func testReportsBecomeShuffledSentenceTokens() {
        let report = "EXAMINATION: CT chest.\nFINDINGS:\nNo emphysema. Small left pleural effusion.\nIMPRESSION:\n1. Effusion.\n"
        XCTAssertEqual(ReportText.sentences(report), ["EXAMINATION: CT chest.", "FINDINGS:", "No emphysema.", "Small left pleural effusion.", "IMPRESSION:", "1. Effusion."])
        let plain = ReportText.tokens(report, length: 200)
        XCTAssertEqual(plain.count, 200)
        XCTAssertEqual(plain[0], ByteTokenizer.cls)
        XCTAssertEqual(String(decoding: plain.dropFirst().prefix { $0 < 256 }.map { UInt8($0) }, as: UTF8.self),
                       "EXAMINATION: CT chest. FINDINGS: No emphysema. Small left pleural effusion. IMPRESSION: 1. Effusion.")
        var random = SeededGenerator(seed: 2)
        var orders = Set<[Int64]>()
        for _ in 0..<20 {
            let shuffled = ReportText.shuffledTokens(report, length: 200, using: &random)
            XCTAssertEqual(shuffled.filter { $0 < 256 }.sorted(), plain.filter { $0 < 256 }.sorted(), "the same bytes in another order")
            orders.insert(shuffled)
        }
        XCTAssertGreaterThan(orders.count, 10)
        let layout = StudyLayout(study(scans: 1, report: report), objective: ObjectiveConfig(name: "hlip", reportTokens: 64), random: &random)
        XCTAssertEqual(layout.tokens.count, 64)
    }

    /// `report_sections` picks sections by heading, any case, in the report's order; a heading's inline text belongs to
    /// its section; a report without any of them is read whole; the batch's tokens come from the chosen sections only.
    func testReportSectionsAreSelectedByHeading() {
        let report = "EXAMINATION: CT chest.\nFINDINGS:\nNo emphysema. Small left pleural effusion.\nIMPRESSION:\n1. Effusion.\n2. Ratio 3:1.\n"
        XCTAssertEqual(ReportText.selecting(["impression"], from: report), "1. Effusion.\n2. Ratio 3:1.", "a colon in a sentence is not a heading")
        XCTAssertEqual(ReportText.selecting(["Impression", "findings"], from: report), "No emphysema. Small left pleural effusion.\n1. Effusion.\n2. Ratio 3:1.")
        XCTAssertEqual(ReportText.selecting(["examination"], from: report), "CT chest.")
        XCTAssertEqual(ReportText.selecting(["technique"], from: report), report, "no such section: the whole report")
        XCTAssertEqual(ReportText.selecting([], from: report), report)
        XCTAssertTrue(ReportText.isHeading("clinical indication"))
        XCTAssertFalse(ReportText.isHeading("impression:"))
        XCTAssertFalse(ReportText.isHeading(" impression"))
        var random = SeededGenerator(seed: 4)
        let layout = StudyLayout(study(scans: 1, report: report), objective: ObjectiveConfig(name: "hlip", reportTokens: 64, reportSections: ["impression"]),
                                 random: &random)
        let text = String(decoding: layout.tokens.dropFirst().prefix { $0 < 256 }.map { UInt8($0) }, as: UTF8.self)
        XCTAssertTrue(["1. Effusion. 2. Ratio 3:1.", "2. Ratio 3:1. 1. Effusion."].contains(text), text)
    }
}
