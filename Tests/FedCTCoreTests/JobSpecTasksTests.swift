// Tests of the job's tte: section — a derived job (setup stage) starts without tasks; its outputs may not be set by hand.
import FedCTCore
import FedCTProto
import FedCTStorage
import Foundation
import XCTest

final class JobSpecTasksTests: XCTestCase {
    func testDerivedJobStartsWithoutTasksAndDefaults() throws {
        let spec = try Fedct_V1_JobSpec(yaml: YAMLDocument(text: "tte:\n  derive_tasks: true\n  pieces: 6", source: "job.yaml"))
        XCTAssertTrue(spec.tte.deriveTasks)
        XCTAssertTrue(spec.tte.awaitsDerivation)
        XCTAssertEqual(spec.tte.taskCodes, [], "the defaults' DEATH/PE/PH are not kept")
        XCTAssertEqual(spec.tte.pieceEdgesDays, [])
        XCTAssertEqual(spec.tte.maxTasks, 8192)
        XCTAssertEqual(spec.tte.pieces, 6)
        XCTAssertEqual(spec.tte.minPatientsPerCode, 10)
    }

    func testFixedJobStillNeedsTasks() throws {
        var spec = Fedct_V1_JobSpec.defaults
        spec.tte.taskCodes = []
        XCTAssertThrowsError(try spec.validate(source: "job.yaml")) { XCTAssertTrue("\($0)".contains("'tte.task_codes'"), "\($0)") }
        spec.tte.deriveTasks = true
        spec.tte.pieceEdgesDays = []
        XCTAssertNoThrow(try spec.validate(source: "job.yaml"))
        // After the setup stage the derived fields are checked like fixed ones.
        spec.tte.taskCodes = ["A", "B"]
        spec.tte.pieceEdgesDays = [10, 5]
        XCTAssertThrowsError(try spec.validate(source: "job.yaml")) { XCTAssertTrue("\($0)".contains("'tte.piece_edges_days'"), "\($0)") }
    }

    func testDerivedFieldsAndRangesNameTheField() {
        let cases: [(String, String)] = [
            ("tte:\n  derive_tasks: true\n  task_codes: [DEATH]", "'tte.task_codes' is derived by the setup stage"),
            ("tte:\n  derive_tasks: true\n  piece_edges_days: [30]", "'tte.piece_edges_days' is derived"),
            ("tte:\n  derive_tasks: true\n  max_tasks: 0", "'tte.max_tasks'"),
            ("tte:\n  derive_tasks: true\n  pieces: 65", "'tte.pieces'"),
            ("tte:\n  derive_tasks: true\n  min_patients_per_code: 0", "'tte.min_patients_per_code'"),
            ("tte:\n  derive_tasks: yes please", "'tte.derive_tasks'"),
        ]
        for (text, expected) in cases {
            XCTAssertThrowsError(try Fedct_V1_JobSpec(yaml: YAMLDocument(text: text, source: "job.yaml")), text) { error in
                XCTAssertTrue("\(error)".contains(expected), "\(text) → \(error)")
            }
        }
    }

    func testSpecFileIsYAMLOrTheCoordinatorsJSON() throws {
        let folder = FileManager.default.temporaryDirectory.appending(path: UUID().uuidString)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        func write(_ text: String, _ name: String) throws -> String {
            let path = folder.appending(path: name).path
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        XCTAssertEqual(try Fedct_V1_JobSpec(contentsOf: write("name: fixed\nrounds: 2", "job.yaml")).name, "fixed")
        XCTAssertThrowsError(try Fedct_V1_JobSpec(contentsOf: write("tte: {derive_tasks: true}", "derived.yaml"))) {
            XCTAssertTrue("\($0)".contains("fedctl job status JOB --json"), "\($0)")
        }
        var status = Fedct_V1_JobStatus()
        status.jobID = "job-0001"
        status.spec = .defaults
        status.spec.tte.deriveTasks = true
        status.spec.tte.taskCodes = ["ICD10/J44", "DEATH"]
        status.spec.tte.pieceEdgesDays = [40, 36525]
        let fromStatus = try Fedct_V1_JobSpec(contentsOf: write(try status.jsonString(), "status.json"))
        XCTAssertEqual(fromStatus.tte.taskCodes, ["ICD10/J44", "DEATH"])
        XCTAssertEqual(try Fedct_V1_JobSpec(contentsOf: write(try status.spec.jsonString(), "spec.json")), fromStatus)
        XCTAssertThrowsError(try Fedct_V1_JobSpec(contentsOf: write("{\"spec\": 3}", "bad.json"))) {
            XCTAssertTrue("\($0)".contains("bad.json: not a job status or job spec"), "\($0)")
        }
        XCTAssertThrowsError(try Fedct_V1_JobSpec(contentsOf: folder.appending(path: "missing.yaml").path)) {
            XCTAssertTrue("\($0)".contains("missing.yaml"), "\($0)")
        }
    }
}
