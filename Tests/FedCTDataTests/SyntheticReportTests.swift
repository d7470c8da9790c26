// Tests of the synthetic radiology reports and clinical rows: findings stated or negated as the biomarkers say.
@testable import FedCTData
import FedCTCore
import XCTest

final class SyntheticReportTests: XCTestCase {
    /// The sentences of `report` that mention `word`, lower-cased.
    private func sentences(_ report: String, mentioning word: String) -> [String] {
        report.lowercased().split(whereSeparator: { ".\n".contains($0) }).map(String.init).filter { $0.contains(word) }
    }

    private func isNegated(_ sentence: String) -> Bool {
        sentence.contains("no ") || sentence.contains("not ") || sentence.contains("without ")
    }

    func testReportsMentionAnEffusionIffTheImageHasOneAndNegateItOtherwise() throws {
        var positives = 0, negatives = 0
        for index in 0..<300 {
            var random = SeededGenerator(seed: 8, stream: "report-test-\(index)")
            let patient = SyntheticPatient.draw(subjectID: "p\(index)", site: .site(index % 5), random: &random)
            let report = SyntheticReport.text(for: patient, random: &random)
            let mentions = sentences(report, mentioning: "effusion")
            XCTAssertFalse(mentions.isEmpty, report)
            let effusion = patient.biomarkers.effusion
            if effusion >= SyntheticReport.effusionThreshold {
                positives += 1
                XCTAssertTrue(mentions.allSatisfy { !isNegated($0) }, "effusion \(effusion):\n\(report)")
                let side = ["left": "left", "right": "right", "both": "bilateral"][patient.biomarkers.effusionSide.rawValue]!
                XCTAssertTrue(mentions.contains { $0.contains(side) }, "\(side):\n\(report)")
            } else {
                negatives += 1
                XCTAssertTrue(mentions.allSatisfy(isNegated), "effusion \(effusion):\n\(report)")
            }
            let nodule = sentences(report, mentioning: "nodule") + sentences(report, mentioning: "mass")
            XCTAssertEqual(nodule.contains { !isNegated($0) }, ChestPhantom.lesionRadius(patient.biomarkers.lesion) > 0, report)
            let cardiomegaly = sentences(report, mentioning: "cardiomegaly") + sentences(report, mentioning: "enlarged")
            XCTAssertEqual(cardiomegaly.contains { !isNegated($0) }, patient.biomarkers.heart >= SyntheticReport.cardiomegalyThreshold, report)
        }
        XCTAssertGreaterThan(positives, 20)
        XCTAssertGreaterThan(negatives, 100)
    }

    func testReportsParaphraseAndGiveSizes() {
        var texts = Set<String>()
        for index in 0..<50 {
            var random = SeededGenerator(seed: 2, stream: "paraphrase-\(index)")
            let patient = SyntheticPatient(subjectID: "p", age: 70, isMale: true, packYears: 30,
                                           biomarkers: ChestBiomarkers(lesion: 0.2, emphysema: 0, heart: 1, effusion: 0.5, effusionSide: .left),
                                           habitus: ChestHabitus(bodyScale: 1, lungScale: 1, shift: (0, 0, 0)))
            let report = SyntheticReport.text(for: patient, random: &random)
            XCTAssertTrue(report.contains("4.3 cm") && report.contains("mass"), report)    // lesion diameter 2 · (0.08 + 0.22 · 0.2) · 175 mm
            texts.insert(sentences(report, mentioning: "effusion").first ?? "")
        }
        XCTAssertGreaterThanOrEqual(texts.count, 3, "\(texts)")
    }

    func testClinicalRowsAreInformativeAndSometimesMissing() throws {
        var spo2ByEmphysema: [(Double, Double)] = [], missing = 0, fields = 0
        for index in 0..<400 {
            var random = SeededGenerator(seed: 4, stream: "clinical-test-\(index)")
            let patient = SyntheticPatient.draw(subjectID: "p\(index)", site: .site(1), random: &random)
            let row = SyntheticClinical.row(scanID: "c\(index)", patient: patient, random: &random)
                .dropLast().split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            XCTAssertEqual(row.count, 1 + SyntheticClinical.columns.count)
            missing += row.filter(\.isEmpty).count
            fields += row.count - 3
            if let spo2 = Double(row[1 + SyntheticClinical.columns.firstIndex(of: "spo2")!]) {
                spo2ByEmphysema.append((patient.biomarkers.emphysema, spo2))
            }
        }
        XCTAssertTrue((0.02...0.09).contains(Double(missing) / Double(fields)), "\(missing) of \(fields) missing")
        let low = spo2ByEmphysema.filter { $0.0 < 0.2 }.map(\.1), high = spo2ByEmphysema.filter { $0.0 > 0.5 }.map(\.1)
        XCTAssertGreaterThan(low.reduce(0, +) / Double(low.count), high.reduce(0, +) / Double(high.count) + 1)
    }
}
