// Tests of the synthetic outcomes: hazards rise with each biomarker, and the true hazard ranks the generated event times.
@testable import FedCTData
import FedCTCore
import XCTest

final class SyntheticOutcomeTests: XCTestCase {
    private func patient(lesion: Double = 0.3, emphysema: Double = 0.3, heart: Double = 1, effusion: Double = 0) -> SyntheticPatient {
        SyntheticPatient(subjectID: "p", age: 65, isMale: false, packYears: 0,
                         biomarkers: ChestBiomarkers(lesion: lesion, emphysema: emphysema, heart: heart, effusion: effusion, effusionSide: .both),
                         habitus: ChestHabitus(bodyScale: 1, lungScale: 1, shift: (0, 0, 0)))
    }

    private func hazard(_ name: String, _ patient: SyntheticPatient) throws -> Double {
        try XCTUnwrap(SyntheticOutcome.all.first { $0.name == name }).hazard(patient)
    }

    func testHazardsRiseWithTheBiomarkersTheyDependOn() throws {
        let base = patient()
        for name in ["death", "pe", "readmission", "lung_cancer", "nodule"] {
            XCTAssertGreaterThan(try hazard(name, patient(lesion: 0.8)), try hazard(name, base), "\(name) with lesion")
        }
        for name in ["death", "ph", "readmission", "emphysema", "copd"] {
            XCTAssertGreaterThan(try hazard(name, patient(emphysema: 0.8)), try hazard(name, base), "\(name) with emphysema")
        }
        for name in ["death", "pe", "ph", "readmission", "heart_failure", "pleural_effusion"] {
            XCTAssertGreaterThan(try hazard(name, patient(effusion: 0.6)), try hazard(name, base), "\(name) with effusion")
        }
        for name in ["death", "pe", "ph", "readmission", "cardiomegaly", "heart_failure"] {
            XCTAssertGreaterThan(try hazard(name, patient(heart: 1.3)), try hazard(name, base), "\(name) with a large heart")
        }
        var older = base
        older.age = 80
        XCTAssertGreaterThan(try hazard("death", older), try hazard("death", base))
        var male = base
        male.isMale = true
        XCTAssertGreaterThan(try hazard("death", male), try hazard("death", base))
    }

    func testTheTrueHazardRanksTheGeneratedEventTimes() throws {
        var hazards: [[Double]] = [], records: [SyntheticRecord] = []
        for index in 0..<400 {
            var random = SeededGenerator(seed: 21, stream: "outcome-test-\(index)")
            let patient = SyntheticPatient.draw(subjectID: "p\(index)", site: .site(index % 3), random: &random)
            let hazard = SyntheticOutcome.all.map { $0.hazard(patient) }
            hazards.append(hazard)
            records.append(SyntheticRecord(hazards: hazard, random: &random))
        }
        for (column, outcome) in SyntheticOutcome.all.enumerated() where ["death", "pe", "ph", "readmission"].contains(outcome.name) {
            let time = records.map { min($0.outcomeYears[column], $0.endYears) }
            let event = records.map { $0.outcomeYears[column] <= $0.endYears }
            let concordance = try XCTUnwrap(ConcordanceIndex.harrell(time: time, event: event, risk: hazards.map { $0[column] }))
            XCTAssertGreaterThan(concordance, outcome.name == "death" ? 0.7 : 0.6, outcome.name)
            XCTAssertGreaterThan(event.filter { $0 }.count, 20, "\(outcome.name) has events")
            XCTAssertLessThan(event.filter { $0 }.count, 380, "\(outcome.name) is censored for some")
        }
    }
}
