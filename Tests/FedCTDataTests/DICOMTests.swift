// Tests of DICOM reading through GDCM: real files (values from pydicom, Tests/Reference/dicom_reference.py) and bad input.
@testable import FedCTData
import FedCTCore
import Foundation
import XCTest

final class DICOMTests: XCTestCase {
    private var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appending(path: "fedct-dicom-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    /// A committed fixture under Fixtures/dicom (see its NOTICE.md).
    private func fixture(_ name: String) throws -> String {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "Fixtures/dicom/\(name)", withExtension: nil),
                                "missing test fixture Fixtures/dicom/\(name)")
        return url.path
    }

    /// HU at (row, column) of frame 0.
    private func hu(_ pixels: [Float], _ file: DICOMFile, row: Int, column: Int) -> Float {
        pixels[row * file.columns + column]
    }

    // MARK: Real files

    func testCTSmallDecodesToPydicomsHU() throws {
        let file = try DICOMFile(path: fixture("CT_small.dcm"))
        XCTAssertEqual(file.rows, 128)
        XCTAssertEqual(file.columns, 128)
        XCTAssertEqual(file.frames, 1)
        XCTAssertEqual(file.pixelSpacing.row, 0.661468)
        XCTAssertEqual(file.pixelSpacing.column, 0.661468)
        XCTAssertEqual(file.sliceThickness, 5.0)
        XCTAssertEqual(file.modality, "CT")
        XCTAssertEqual(file.transferSyntaxUID, "1.2.840.10008.1.2.1")
        XCTAssertEqual(file.seriesInstanceUID, "1.3.6.1.4.1.5962.1.3.1.1.20040119072730.12322")
        XCTAssertFalse(file.sopInstanceUID.isEmpty)
        XCTAssertEqual(file.instanceNumber, 1)
        XCTAssertEqual(file.framePositions, [SIMD3(-158.135803, -179.035797, -75.699997)])
        XCTAssertEqual(file.orientation?.row, SIMD3(1, 0, 0))
        XCTAssertEqual(file.orientation?.column, SIMD3(0, 1, 0))
        XCTAssertEqual(file.frameRescale.first?.slope, 1)
        XCTAssertEqual(file.frameRescale.first?.intercept, -1024)
        XCTAssertEqual(file.bitsStored, 16)
        XCTAssertEqual(file.pixelRepresentation, 1)
        XCTAssertFalse(file.isEnhancedMultiFrame)

        let pixels = try file.huPixels()
        XCTAssertEqual(pixels.count, 128 * 128)
        XCTAssertEqual(hu(pixels, file, row: 0, column: 0), -849)
        XCTAssertEqual(hu(pixels, file, row: 64, column: 64), 904)
        XCTAssertEqual(hu(pixels, file, row: 10, column: 100), 203)
        XCTAssertEqual(hu(pixels, file, row: 127, column: 127), -115)
        XCTAssertEqual(hu(pixels, file, row: 100, column: 30), 65)
        XCTAssertEqual(pixels.min(), -896)
        XCTAssertEqual(pixels.max(), 1167)
        XCTAssertEqual(pixels.reduce(0.0) { $0 + Double($1) }, -1_950_906)
    }

    func testJPEG2000LosslessDecodesToPydicomsHU() throws {
        let file = try DICOMFile(path: fixture("693_J2KR.dcm"))
        XCTAssertEqual(file.transferSyntaxUID, "1.2.840.10008.1.2.4.90")
        XCTAssertEqual(file.rows, 512)
        XCTAssertEqual(file.columns, 512)
        XCTAssertEqual(file.pixelSpacing.row, 0.478516)
        XCTAssertEqual(file.instanceNumber, 21)
        XCTAssertEqual(file.framePositions, [SIMD3(-122.5, -112.4, 47.0)])
        let pixels = try file.huPixels()
        XCTAssertEqual(hu(pixels, file, row: 0, column: 0), -3024)
        XCTAssertEqual(hu(pixels, file, row: 255, column: 300), 36)
        XCTAssertEqual(hu(pixels, file, row: 256, column: 256), 24)
        XCTAssertEqual(hu(pixels, file, row: 100, column: 200), -996)
        XCTAssertEqual(hu(pixels, file, row: 400, column: 111), -962)
        XCTAssertEqual(pixels.min(), -3024)
        XCTAssertEqual(pixels.max(), 1468)
        XCTAssertEqual(pixels.reduce(0.0) { $0 + Double($1) }, -271_466_631)
    }

    func testHeaderOnlyReadHasGeometryButNoPixels() throws {
        let file = try DICOMFile(path: fixture("693_J2KR.dcm"), readPixels: false)
        XCTAssertEqual(file.rows, 512)
        XCTAssertEqual(file.seriesInstanceUID, "1.2.276.0.7230010.3.1.3.296485376.1.1521713419.1802493")
        XCTAssertThrowsError(try file.huPixels()) { XCTAssertTrue("\($0)".contains("without pixels"), "\($0)") }
    }

    // MARK: Writing

    func testWrittenSlicesRoundTripInEveryTransferSyntax() throws {
        let stored: [Int16] = (0..<(40 * 36)).map { index in Int16(index % 997) * 3 - 1500 }
        let study = try DICOMSlice.generateUID(), series = try DICOMSlice.generateUID()
        XCTAssertNotEqual(study, series)
        for (index, syntax) in DICOMSlice.TransferSyntax.allCases.enumerated() {
            var slice = DICOMSlice(rows: 40, columns: 36, stored: stored, pixelSpacing: (0.7, 0.8), sliceThickness: 1.25,
                                   position: SIMD3(-10, 20.5, 3), instanceNumber: index + 1,
                                   studyInstanceUID: study, seriesInstanceUID: series)
            slice.rescaleIntercept = -1024
            slice.transferSyntax = syntax
            let path = folder.appending(path: "slice-\(index).dcm").path
            try slice.write(to: path)
            let file = try DICOMFile(path: path)
            XCTAssertEqual(file.rows, 40, "\(syntax)")
            XCTAssertEqual(file.columns, 36, "\(syntax)")
            XCTAssertEqual(file.pixelSpacing.row, 0.7, "\(syntax)")
            XCTAssertEqual(file.pixelSpacing.column, 0.8, "\(syntax)")
            XCTAssertEqual(file.sliceThickness, 1.25, "\(syntax)")
            XCTAssertEqual(file.framePositions, [SIMD3(-10, 20.5, 3)], "\(syntax)")
            XCTAssertEqual(file.instanceNumber, index + 1, "\(syntax)")
            XCTAssertEqual(file.seriesInstanceUID, series, "\(syntax)")
            XCTAssertEqual(file.studyInstanceUID, study, "\(syntax)")
            XCTAssertEqual(file.modality, "CT", "\(syntax)")
            XCTAssertEqual(try file.huPixels(), stored.map { Float($0) - 1024 }, "\(syntax)")
        }
    }

    // MARK: Bad files

    func testTruncatedFileIsAnErrorNamingIt() throws {
        let bytes = try Data(contentsOf: URL(fileURLWithPath: fixture("CT_small.dcm")))
        let path = folder.appending(path: "truncated.dcm").path
        try bytes.prefix(200).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try DICOMFile(path: path)) { error in
            XCTAssertTrue("\(error)".contains(path), "\(error)")
            XCTAssertTrue("\(error)".contains("truncated"), "\(error)")
        }
        // Cut inside the pixel data: the header parses, the pixels do not.
        let late = folder.appending(path: "cut-in-pixels.dcm").path
        try bytes.prefix(bytes.count - 5000).write(to: URL(fileURLWithPath: late))
        XCTAssertThrowsError(try DICOMFile(path: late).huPixels()) { error in
            XCTAssertTrue("\(error)".contains(late), "\(error)")
        }
    }

    func testMissingFileIsNotFound() {
        let path = folder.appending(path: "absent.dcm").path
        XCTAssertThrowsError(try DICOMFile(path: path)) { error in
            XCTAssertEqual((error as? FedCTError)?.code, .notFound)
            XCTAssertTrue("\(error)".contains(path))
        }
    }
}
