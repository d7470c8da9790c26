// Tests of job.yaml parsing: defaults, overrides, and errors that name the field.
import FedCTCore
import FedCTProto
import Foundation
import XCTest

final class JobSpecTests: XCTestCase {
    func testDefaultsAndOverrides() throws {
        let spec = try Fedct_V1_JobSpec(yaml: YAMLDocument(text: """
            name: demo
            rounds: 3
            training:
              batch_size: 2
              learning_rate: 0.01
            """, source: "job.yaml"))
        XCTAssertEqual(spec.name, "demo")
        XCTAssertEqual(spec.rounds, 3)
        XCTAssertEqual(spec.training.batchSize, 2)
        XCTAssertEqual(spec.training.learningRate, 0.01)
        XCTAssertEqual(spec.encoder.depth, 10, "default kept")
        XCTAssertEqual(spec.tte.taskCodes, ["DEATH", "PE", "PH"])
        XCTAssertEqual(spec.strategy.name, "fedavg")
    }

    func testErrorsNameTheField() {
        let cases: [(String, String)] = [
            ("rounds: many", "'rounds'"),
            ("training:\n  batch_size: 0", "'training.batch_size'"),
            ("encoder:\n  depth: 11", "'encoder.depth'"),
            ("trainin:\n  batch_size: 2", "'trainin'"),
            ("tte:\n  piece_edges_days: [30, 10]", "'tte.piece_edges_days'"),
            ("rounds: [", "not valid YAML"),
            ("strategy:\n  name: fedprox2", "'strategy.name'"),
        ]
        for (text, expected) in cases {
            XCTAssertThrowsError(try Fedct_V1_JobSpec(yaml: YAMLDocument(text: text, source: "job.yaml")), text) { error in
                XCTAssertTrue("\(error)".contains(expected), "\(text) → \(error)")
                XCTAssertTrue("\(error)".hasPrefix("job.yaml"), "\(error)")
            }
        }
    }

    func testTheShippedExampleJobIsValid() throws {
        let example = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appending(path: "../../Deployments/examples/job.yaml").standardized
        let spec = try Fedct_V1_JobSpec(yaml: YAMLDocument(contentsOf: example.path))
        XCTAssertEqual(spec.encoder.depth, 18)
        XCTAssertEqual(spec.training.volumeSize, 64)
    }
}
