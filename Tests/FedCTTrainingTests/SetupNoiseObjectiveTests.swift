// SetupNoiseObjectiveTests: noised setup counts through the objective seam — the time-to-event objective bounds its two
// counting steps, and a job asking for setup noise without a setup stage is refused naming the field.
import FedCTCore
import FedCTProto
@testable import FedCTTraining
import XCTest

final class SetupNoiseObjectiveTests: XCTestCase {
    func testSetupNoiseNeedsASetupStage() throws {
        var spec = Fedct_V1_JobSpec.defaults
        spec.privacy.setupNoiseMultiplier = 1
        spec.tte.deriveTasks = false
        XCTAssertThrowsError(try PretrainingObjectives.validate(spec, source: "job.yaml")) { error in
            XCTAssertTrue("\(error)".contains("job.yaml: field 'privacy.setup_noise_multiplier'") && "\(error)".contains("tte.derive_tasks is off"), "\(error)")
        }
        spec.tte.deriveTasks = true
        XCTAssertNoThrow(try PretrainingObjectives.validate(spec, source: "job.yaml"))
    }

    func testTheTimeToEventObjectiveBoundsItsCountingStepsOnly() throws {
        let scans = [
            ScanFollowUp(subject: "a", firstEventDays: ["X": 10], followUpDays: 100),
            ScanFollowUp(subject: "a", firstEventDays: ["X": 5], followUpDays: 90),
            ScanFollowUp(subject: "b", firstEventDays: [:], followUpDays: 50),
        ]
        let setup = TimeToEventSiteSetup(followUps: scans, skipped: 0, minPatientsPerCode: 1)
        let grid = EventTimeGrid.standard
        XCTAssertNil(try setup.boundedCounts(TaskSetupStage.candidates.step, request: SetupRequest(names: [], grid: grid)))
        let prevalence = try XCTUnwrap(try setup.boundedCounts(TaskSetupStage.prevalence.step, request: SetupRequest(names: ["X"], grid: grid)))
        XCTAssertEqual(prevalence.values, [2, 1])
        let rates = try XCTUnwrap(try setup.boundedCounts(TaskSetupStage.rates.step, request: SetupRequest(names: ["X"], grid: grid)))
        XCTAssertEqual(Array(rates.values[0..<3]), [1, 1, 10 * 24 + 50 * 24], "a's first scan only: one event at day 10; b censored at 50")
        XCTAssertEqual(rates.parts.map(\.name), ["events and censored scans per task", "observed hours per task", "event-time histogram"])
    }
}
