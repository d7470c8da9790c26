// Tests of the job spec's `preprocessing:` section: defaults, parsing, and validation errors that name the field.
import FedCTCore
import FedCTProto
import XCTest

final class PreprocessingSpecTests: XCTestCase {
    private func spec(_ yaml: String) throws -> Fedct_V1_JobSpec {
        try Fedct_V1_JobSpec(yaml: try YAMLDocument(text: yaml, source: "job.yaml"))
    }

    private func assertRejected(_ yaml: String, naming field: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try spec(yaml), file: file, line: line) { error in
            XCTAssertTrue("\(error)".contains("job.yaml: field '\(field)'"), "\(error)", file: file, line: line)
        }
    }

    func testDefaultsKeepTheEarlierInput() throws {
        let parsed = try spec("name: t\n")
        XCTAssertEqual(parsed.preprocessing.orientation, "RAS")
        XCTAssertEqual(parsed.preprocessing.spacingMm, [])
        XCTAssertEqual([parsed.preprocessing.windowLowHu, parsed.preprocessing.windowHighHu], [-1000, 1000])
        XCTAssertEqual(parsed.preprocessing.normalization, "window")
        XCTAssertEqual(parsed.preprocessing.padHu, -1024)
        XCTAssertEqual(parsed.inputShape, [32, 32, 32])
    }

    func testTheSectionIsRead() throws {
        let parsed = try spec("""
            training: {volume_size: 64}
            preprocessing:
              orientation: LPS
              spacing_mm: [1.5, 1.5, 2]
              window_low_hu: -160
              window_high_hu: 240
              shape: [64, 64, 64]
              normalization: zscore
              pad_hu: -1000
            """)
        XCTAssertEqual(parsed.preprocessing.orientation, "LPS")
        XCTAssertEqual(parsed.preprocessing.spacingMm, [1.5, 1.5, 2])
        XCTAssertEqual([parsed.preprocessing.windowLowHu, parsed.preprocessing.windowHighHu], [-160, 240])
        XCTAssertEqual(parsed.inputShape, [64, 64, 64])
        XCTAssertEqual(parsed.preprocessing.normalization, "zscore")
        XCTAssertEqual(parsed.preprocessing.padHu, -1000)
    }

    func testInvalidValuesNameTheField() {
        assertRejected("preprocessing: {orientation: XYZ}", naming: "preprocessing.orientation")
        assertRejected("preprocessing: {spacing_mm: [1, 1]}", naming: "preprocessing.spacing_mm")
        assertRejected("preprocessing: {spacing_mm: [1, 0, 1]}", naming: "preprocessing.spacing_mm")
        assertRejected("preprocessing: {window_low_hu: 100, window_high_hu: 100}", naming: "preprocessing.window_high_hu")
        assertRejected("preprocessing: {shape: [32, 32, 16]}", naming: "preprocessing.shape")
        assertRejected("preprocessing: {shape: [32.5, 32, 32]}", naming: "preprocessing.shape")
        assertRejected("preprocessing: {normalization: minmax}", naming: "preprocessing.normalization")
        assertRejected("preprocessing: {spacing: [1, 1, 1]}", naming: "preprocessing.spacing")
    }
}
