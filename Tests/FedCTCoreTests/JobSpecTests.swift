// Tests of job.yaml parsing: defaults, overrides, and errors that name the field.
import FedCTCore
import FedCTProto
import FedCTStorage
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

    func testSecureAggregationIsOnByDefaultAndPrivacySettingsAreChecked() throws {
        XCTAssertTrue(Fedct_V1_JobSpec.defaults.secureAggregation.enabled)
        let spec = try Fedct_V1_JobSpec(yaml: YAMLDocument(text: """
            secure_aggregation: {threshold: 3, min_cohort: 2, clip_norm: 5, max_examples_per_site: 500, step_timeout_seconds: 30}
            privacy: {level: site, noise_multiplier: 1.1, clip_norm: 2, delta: 1e-6, target_epsilon: 8}
            """, source: "job.yaml"))
        XCTAssertEqual(spec.secureAggregation.threshold, 3)
        XCTAssertEqual(spec.secureAggregation.maxExamplesPerSite, 500)
        XCTAssertEqual(spec.privacy.noiseMultiplier, 1.1)
        XCTAssertEqual(spec.secureWeight(examples: 900), 1, "site-level DP weighs sites uniformly")
        let encoding = try spec.secureEncoding(keyHolders: 4, threshold: 3)
        XCTAssertEqual(encoding.noiseStandardDeviation, 1.1 * 2 / 3.0.squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(encoding.clipNorm, 2)

        let cases: [(String, String)] = [
            ("secure_aggregation: {min_cohort: 1}", "'secure_aggregation.min_cohort'"),
            ("secure_aggregation: {modulus_bits: 64}", "'secure_aggregation.modulus_bits'"),
            ("secure_aggregation: {enabled: false}\nprivacy: {level: site, noise_multiplier: 1, clip_norm: 1}", "'privacy.level'"),
            ("privacy: {level: patient, noise_multiplier: 1, clip_norm: 1}\nencoder: {norm: batch}", "'privacy.level'"),
            ("privacy: {level: patient, clip_norm: 1}", "'privacy.noise_multiplier'"),
            ("privacy: {level: everyone}", "'privacy.level'"),
        ]
        for (text, field) in cases {
            XCTAssertThrowsError(try Fedct_V1_JobSpec(yaml: YAMLDocument(text: text, source: "job.yaml")), text) { error in
                XCTAssertTrue("\(error)".contains(field), "\(text): \(error)")
            }
        }
    }
}
