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

    func testJPEGLSAndBigEndianDecodeToTheUncompressedImage() throws {
        let reference = try DICOMFile(path: fixture("MR_small.dcm"))
        let pixels = try reference.huPixels()
        XCTAssertEqual([reference.rows, reference.columns], [64, 64])
        XCTAssertEqual(hu(pixels, reference, row: 0, column: 0), 905)
        XCTAssertEqual(hu(pixels, reference, row: 31, column: 31), 206)
        XCTAssertEqual(hu(pixels, reference, row: 10, column: 50), 1104)
        XCTAssertEqual(hu(pixels, reference, row: 63, column: 0), 378)
        XCTAssertEqual(pixels.reduce(0.0) { $0 + Double($1) }, 2_125_338)
        for (name, syntax) in [("MR_small_jpeg_ls_lossless.dcm", "1.2.840.10008.1.2.4.80"), ("MR_small_bigendian.dcm", "1.2.840.10008.1.2.2")] {
            let file = try DICOMFile(path: fixture(name))
            XCTAssertEqual(file.transferSyntaxUID, syntax, name)
            XCTAssertEqual(file.pixelSpacing.row, 0.3125, name)
            XCTAssertEqual(try file.huPixels(), pixels, name)
        }
    }

    func testEnhancedMultiFrameUsesPerFrameGroupsAndBitsStored() throws {
        let file = try DICOMFile(path: fixture("enhanced_ct_3frames.dcm"))
        XCTAssertTrue(file.isEnhancedMultiFrame)
        XCTAssertEqual([file.rows, file.columns, file.frames], [4, 5, 3])
        XCTAssertEqual(file.pixelSpacing.row, 0.8)
        XCTAssertEqual(file.pixelSpacing.column, 0.6)
        XCTAssertEqual(file.sliceThickness, 1.5)
        XCTAssertEqual(file.bitsStored, 12)
        XCTAssertEqual(file.framePositions, [SIMD3(-10, 20, 3), SIMD3(-10, 20, 0), SIMD3(-10, 20, 1.5)])
        XCTAssertEqual(file.frameRescale.map(\.slope), [1, 2, 1])
        XCTAssertEqual(file.frameRescale.map(\.intercept), [-1024, -1000, -1024])
        let pixels = try file.huPixels()
        XCTAssertEqual(Array(pixels[0..<5]), [-1044, -1043, -1042, -1041, -1040])
        XCTAssertEqual(Array(pixels[20..<25]), [-1020, -1018, -1016, -1014, -1012])
        XCTAssertEqual(Array(pixels[40..<45]), [-1024, -1023, -1022, -1021, -1020])
        XCTAssertEqual([pixels[19], pixels[39], pixels[59]], [-1025, -982, -1005])

        // As a volume: frames ordered by position (frame 2 at z 0, frame 3 at 1.5, frame 1 at 3).
        let result = try DICOMSeries.read(files: [fixture("enhanced_ct_3frames.dcm")])
        XCTAssertEqual(result.volume.depth, 3)
        XCTAssertEqual(result.volume.spacing.z, 1.5)
        XCTAssertEqual([result.volume.voxels[0], result.volume.voxels[20], result.volume.voxels[40]], [-1020, -1024, -1044])
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

    // MARK: Series

    /// Writes one 8×6 slice per position into `folder` (default: the test folder) under `names` and returns the paths.
    /// Slice n's stored values are n × 100 + (row + column), so the order of assembled slices can be read back.
    @discardableResult
    private func writeSeries(positions: [SIMD3<Double>], names: [String]? = nil, into target: URL? = nil,
                             orientation: (row: SIMD3<Double>, column: SIMD3<Double>) = (SIMD3(1, 0, 0), SIMD3(0, 1, 0)),
                             modality: String = "CT", series: String? = nil) throws -> [String] {
        let study = try DICOMSlice.generateUID()
        let seriesUID = try series ?? DICOMSlice.generateUID()
        let directory = target ?? folder!
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return try positions.enumerated().map { n, position in
            let stored = (0..<(6 * 8)).map { Int16(n * 100 + $0 / 8 + $0 % 8) }
            var slice = DICOMSlice(rows: 6, columns: 8, stored: stored, pixelSpacing: (0.5, 0.75), sliceThickness: 2,
                                   position: position, instanceNumber: positions.count - n,
                                   studyInstanceUID: study, seriesInstanceUID: seriesUID)
            slice.orientation = orientation
            slice.rescaleIntercept = -1024
            slice.modality = modality
            slice.transferSyntax = n % 2 == 0 ? .explicitLittleEndian : .rleLossless
            let path = directory.appending(path: names?[n] ?? "slice-\(n).dcm").path
            try slice.write(to: path)
            return path
        }
    }

    /// Voxel (i, j, k) through a row-major 4×4 affine.
    private func apply(_ affine: [Double], _ i: Double, _ j: Double, _ k: Double) -> SIMD3<Double> {
        SIMD3((0..<3).map { affine[$0 * 4] * i + affine[$0 * 4 + 1] * j + affine[$0 * 4 + 2] * k + affine[$0 * 4 + 3] })
    }

    private func assertClose(_ a: SIMD3<Double>, _ b: SIMD3<Double>, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertLessThan(((a - b) * (a - b)).sum(), 1e-12, "\(a) vs \(b)", file: file, line: line)
    }

    func testSeriesIsOrderedAlongTheNormalWhateverTheFileOrder() throws {
        // Positions written out of order, names sorting in yet another order, instance numbers reversed.
        let zs: [Double] = [5, -2.5, 7.5, 0, 2.5]
        let paths = try writeSeries(positions: zs.map { SIMD3(-40, 30, $0) }, names: ["b.dcm", "e.dcm", "a.dcm", "d.dcm", "c.dcm"])
        let result = try DICOMSeries.read(folder: folder.path)
        let volume = result.volume
        XCTAssertEqual([volume.width, volume.height, volume.depth], [8, 6, 5])
        XCTAssertEqual(volume.spacing.x, 0.75)
        XCTAssertEqual(volume.spacing.y, 0.5)
        XCTAssertEqual(volume.spacing.z, 2.5, accuracy: 1e-9)
        XCTAssertEqual(result.modality, "CT")
        XCTAssertEqual(result.sliceThickness, 2)
        // Ascending z: written slices 1 (−2.5), 3 (0), 4 (2.5), 0 (5), 2 (7.5).
        let order = [1, 3, 4, 0, 2]
        XCTAssertEqual(result.slicePaths, order.map { paths[$0] })
        for (k, n) in order.enumerated() {
            for (j, i) in [(0, 0), (5, 7), (2, 3)] {
                XCTAssertEqual(volume.voxels[(k * 6 + j) * 8 + i], Float(n * 100 + j + i - 1024), "slice \(k) at (\(j), \(i))")
            }
        }
        // Voxel → RAS: LPS (x, y) negated; the first slice's first pixel is at its ImagePositionPatient.
        assertClose(apply(result.voxelToPatient, 0, 0, 0), SIMD3(40, -30, -2.5))
        assertClose(apply(result.voxelToPatient, 2, 3, 4), SIMD3(40 - 2 * 0.75, -30 - 3 * 0.5, 7.5))
        assertClose(apply(result.patientToVoxel, 40 - 2 * 0.75, -30 - 3 * 0.5, 7.5), SIMD3(2, 3, 4))
    }

    func testObliqueSeriesGetsTheAffineOfItsPositions() throws {
        // Rows run along (cos, sin, 0), columns along −z: a rotated coronal stack, slices along the normal.
        let angle = 0.3
        let row = SIMD3(cos(angle), sin(angle), 0), column = SIMD3<Double>(0, 0, -1)
        let normal = SIMD3(row.y * column.z - row.z * column.y, row.z * column.x - row.x * column.z, row.x * column.y - row.y * column.x)
        let origin = SIMD3<Double>(10, -20, 30)
        let positions = [2, 0, 3, 1].map { origin + normal * (1.5 * Double($0)) }
        try writeSeries(positions: positions, orientation: (row, column))
        let result = try DICOMSeries.read(folder: folder.path)
        XCTAssertEqual(result.volume.spacing.z, 1.5, accuracy: 1e-6)
        XCTAssertEqual(result.volume.voxels[0], Float(1 * 100 - 1024))  // written slice 1 sits at the origin
        let lps = origin + row * (0.75 * 5) + column * (0.5 * 4) + normal * (1.5 * 3)
        let ras = apply(result.voxelToPatient, 5, 4, 3)
        XCTAssertEqual(ras.x, -lps.x, accuracy: 1e-5)
        XCTAssertEqual(ras.y, -lps.y, accuracy: 1e-5)
        XCTAssertEqual(ras.z, lps.z, accuracy: 1e-5)
    }

    func testMissingSliceIsReportedWithThePositionsAroundTheGap() throws {
        let paths = try writeSeries(positions: [0, 2.5, 5, 10, 12.5].map { SIMD3(0, 0, $0) })
        XCTAssertThrowsError(try DICOMSeries.read(folder: folder.path)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("missing"), text)
            XCTAssertTrue(text.contains(paths[2]) && text.contains(paths[3]), text)
            XCTAssertTrue(text.contains("0\\0\\5") && text.contains("0\\0\\10"), text)
            XCTAssertTrue(text.contains("about 1 slice missing"), text)
        }
    }

    func testInconsistentSpacingIsRefused() throws {
        let paths = try writeSeries(positions: [0, 2.5, 5, 8, 10.5].map { SIMD3(0, 0, $0) })
        XCTAssertThrowsError(try DICOMSeries.read(folder: folder.path)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("inconsistent slice spacing: 3 mm"), text)
            XCTAssertTrue(text.contains(paths[2]) && text.contains(paths[3]), text)
        }
    }

    func testDuplicatePositionIsRefused() throws {
        let paths = try writeSeries(positions: [0, 2.5, 2.5, 5].map { SIMD3(0, 0, $0) })
        XCTAssertThrowsError(try DICOMSeries.read(folder: folder.path)) { error in
            XCTAssertTrue("\(error)".contains("same position"), "\(error)")
            XCTAssertTrue("\(error)".contains(paths[1]) && "\(error)".contains(paths[2]), "\(error)")
        }
    }

    func testNonCTModalityIsRefusedUnlessAllowed() throws {
        let paths = try writeSeries(positions: [0, 1, 2].map { SIMD3(0, 0, $0) }, modality: "MR")
        XCTAssertThrowsError(try DICOMSeries.read(folder: folder.path)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains(paths[0]) && text.contains("'MR', not CT"), text)
        }
        XCTAssertEqual(try DICOMSeries.read(folder: folder.path, allowNonCT: true).volume.depth, 3)
    }

    func testFolderWithSeveralSeriesNamesThemAndOneCanBeChosen() throws {
        let first = try DICOMSlice.generateUID(), second = try DICOMSlice.generateUID()
        try writeSeries(positions: [0, 1, 2].map { SIMD3(0, 0, $0) }, names: ["a1.dcm", "a2.dcm", "a3.dcm"], series: first)
        try writeSeries(positions: [0, 3].map { SIMD3(0, 0, $0) }, names: ["b1.dcm", "b2.dcm"], series: second)
        XCTAssertThrowsError(try DICOMSeries.read(folder: folder.path)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("2 series") && text.contains(first) && text.contains(second), text)
            XCTAssertTrue(text.contains("3 files") && text.contains("2 files"), text)
        }
        XCTAssertEqual(try DICOMSeries.list(folder: folder.path).map(\.fileCount).sorted(), [2, 3])
        XCTAssertEqual(try DICOMSeries.read(folder: folder.path, seriesInstanceUID: second).volume.depth, 2)
        XCTAssertEqual(try DICOMSeries.read(folder: folder.path, seriesInstanceUID: second).volume.spacing.z, 3)
    }

    func testTruncatedSliceInASeriesFolderIsNamed() throws {
        let paths = try writeSeries(positions: [0, 1, 2].map { SIMD3(0, 0, $0) })
        let bytes = try Data(contentsOf: URL(fileURLWithPath: paths[1]))
        try bytes.prefix(bytes.count - 10).write(to: URL(fileURLWithPath: paths[1]))
        XCTAssertThrowsError(try DICOMSeries.read(folder: folder.path)) { error in
            XCTAssertTrue("\(error)".contains(paths[1]) && "\(error)".contains("truncated"), "\(error)")
        }
    }

    func testSingleRealFileReadsAsAOneSliceVolume() throws {
        let result = try DICOMSeries.read(files: [fixture("CT_small.dcm")])
        XCTAssertEqual([result.volume.width, result.volume.height, result.volume.depth], [128, 128, 1])
        XCTAssertEqual(result.volume.spacing.z, 5)  // SliceThickness stands in for the spacing of one slice
        XCTAssertEqual(result.volume.voxels[64 * 128 + 64], 904)
        assertClose(apply(result.voxelToPatient, 0, 0, 0), SIMD3(158.135803, 179.035797, -75.699997))
    }

    func testTinyJPEG2000SliceIsRefusedNotCorrupted() throws {
        var slice = DICOMSlice(rows: 6, columns: 5, stored: [Int16](repeating: 3, count: 30), pixelSpacing: (1, 1),
                               sliceThickness: 1, position: .zero, instanceNumber: 1,
                               studyInstanceUID: "1.2.3", seriesInstanceUID: "1.2.3.4")
        slice.transferSyntax = .jpeg2000Lossless
        let path = folder.appending(path: "tiny.dcm").path
        XCTAssertThrowsError(try slice.write(to: path)) { XCTAssertTrue("\($0)".contains("16x16"), "\($0)") }
        slice.transferSyntax = .rleLossless
        try slice.write(to: path)
        XCTAssertEqual(try DICOMFile(path: path).huPixels(), [Float](repeating: 3, count: 30))
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
