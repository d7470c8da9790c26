// Tests of the NIfTI reader against nibabel: every fixture's shape, affine and scaled values (Tests/Reference/nifti_reference.py).
@testable import FedCTData
import FedCTCore
import Foundation
import XCTest

final class NIfTIReferenceTests: XCTestCase {
    /// One file's entry in Fixtures/nifti/nibabel_reference.json.
    private struct Reference: Decodable {
        struct Sample: Decodable {
            var ijk: [Int]
            var value: Double
        }

        struct VolumeValues: Decodable {
            var samples: [Sample]
            var min: Double
            var max: Double
            var sum: Double
            var values: [Double]?
        }

        var niftiVersion: Int
        var shape: [Int]
        var dtype: String
        var sformCode: Int
        var qformCode: Int
        var sclSlope: Double?
        var affine: [Double]
        var axcodes: String
        var volumes: [VolumeValues]
    }

    private struct ReferenceFile: Decodable {
        var files: [String: Reference]
    }

    private func fixture(_ name: String) throws -> String {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "Fixtures/nifti/\(name)", withExtension: nil),
                                "missing test fixture Fixtures/nifti/\(name)")
        return url.path
    }

    private func references() throws -> [String: Reference] {
        let data = try Data(contentsOf: URL(fileURLWithPath: try fixture("nibabel_reference.json")))
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(ReferenceFile.self, from: data).files
    }

    /// |actual − expected| within `relative` of max(|expected|, 1).
    private func assertClose(_ actual: Double, _ expected: Double, relative: Double = 1e-4, _ what: @autoclosure () -> String) {
        XCTAssertLessThanOrEqual(abs(actual - expected), relative * max(abs(expected), 1), "\(what()): \(actual) vs nibabel's \(expected)")
    }

    func testFixturesCoverEveryDatatypeScalingAndTransformPath() throws {
        let files = try references()
        XCTAssertEqual(Set(files.values.map(\.dtype)),
                       ["uint8", "int8", "int16", "uint16", "int32", "uint32", "int64", "float32", "float64"])
        XCTAssertEqual(Set(files.values.map(\.niftiVersion)), [1, 2])
        XCTAssertTrue(files.values.contains { $0.sformCode == 0 && $0.qformCode > 0 }, "a qform-only file")
        XCTAssertTrue(files.values.contains { $0.sformCode == 0 && $0.qformCode == 0 }, "a file with neither transform")
        XCTAssertTrue(files.values.contains { $0.shape.count == 4 && $0.shape[3] > 1 }, "a 4D file")
        XCTAssertGreaterThanOrEqual(files.values.filter { $0.sclSlope != nil }.count, 7, "scaled integer files")
        for name in ["anatomical.nii", "example_nifti2.nii.gz", "standard.nii.gz"] {
            XCTAssertNotNil(files[name], "\(name) from nibabel's test data")
        }
    }

    func testEveryFixtureReadsAsNibabelReadsIt() throws {
        for (name, reference) in try references().sorted(by: { $0.key < $1.key }) {
            let path = try fixture(name)
            for (index, expected) in reference.volumes.enumerated() {
                let label = "\(name) volume \(index)"
                let (volume, affine) = try Volume.readNIfTIWithAffine(path: path, volumeIndex: reference.volumes.count > 1 ? index : nil)
                XCTAssertEqual([volume.width, volume.height, volume.depth], Array(reference.shape.prefix(3)), label)
                XCTAssertEqual(affine.count, 16, label)
                for (at, (mine, theirs)) in zip(affine, reference.affine).enumerated() {
                    XCTAssertEqual(mine, theirs, accuracy: 1e-5, "\(label): affine[\(at / 4)][\(at % 4)]")
                }
                let voxels = volume.voxels.map(Double.init)
                for sample in expected.samples {
                    let (i, j, k) = (sample.ijk[0], sample.ijk[1], sample.ijk[2])
                    assertClose(voxels[(k * volume.height + j) * volume.width + i], sample.value, "\(label) at \(sample.ijk)")
                }
                assertClose(voxels.min() ?? .nan, expected.min, "\(label) min")
                assertClose(voxels.max() ?? .nan, expected.max, "\(label) max")
                // The sum is compared relative to the sum of magnitudes: float32 voxels cannot cancel ±1.8e19 exactly.
                let magnitude = voxels.reduce(0) { $0 + abs($1) }
                XCTAssertLessThanOrEqual(abs(voxels.reduce(0, +) - expected.sum), 1e-4 * max(magnitude, 1), "\(label) sum")
                if let values = expected.values {
                    XCTAssertEqual(voxels.count, values.count, label)
                    for (at, (mine, theirs)) in zip(voxels, values).enumerated() {
                        assertClose(mine, theirs, "\(label) voxel \(at)")
                    }
                }
            }
        }
    }

    func testOrientationCodeIsNibabelsAxisCodes() throws {
        for (name, reference) in try references() where reference.volumes.count == 1 {
            XCTAssertEqual(try ScanImage.read(path: try fixture(name)).orientationCode, reference.axcodes, name)
        }
    }

    func testFourDimensionalFileNeedsAVolumeIndexInRange() throws {
        for name in ["two_volumes.nii", "example_nifti2.nii.gz"] {
            let path = try fixture(name)
            XCTAssertThrowsError(try Volume.readNIfTI(path: path)) { error in
                XCTAssertEqual((error as? FedCTError)?.code, .invalidData)
                XCTAssertTrue("\(error)".contains(path) && "\(error)".contains("2 volumes") && "\(error)".contains("#"), "\(error)")
            }
            XCTAssertThrowsError(try Volume.readNIfTI(path: path, volumeIndex: 2)) { error in
                XCTAssertTrue("\(error)".contains(path) && "\(error)".contains("volume index 2 is out of range"), "\(error)")
            }
            XCTAssertThrowsError(try ScanImage.read(path: path)) { XCTAssertTrue("\($0)".contains("2 volumes"), "\($0)") }
        }
        // The second volume of two_volumes.nii is the first plus 1000 (clipped to int16), and `#1` chooses it.
        let path = try fixture("two_volumes.nii")
        let first = try Volume.readNIfTI(path: path, volumeIndex: 0), second = try Volume.readNIfTI(path: path, volumeIndex: 1)
        XCTAssertEqual(second.voxels, first.voxels.map { min($0 + 1000, 32767) })
        let chosen = try ScanImage.read(path: path + "#1")
        XCTAssertEqual(chosen.volume, second)
        XCTAssertEqual(chosen.format, .nifti)
        XCTAssertThrowsError(try ScanImage.read(path: path + "#5")) { XCTAssertTrue("\($0)".contains("out of range"), "\($0)") }
    }
}
