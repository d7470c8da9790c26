// Tests of the preprocessing pipeline: reorientation, trilinear resampling, crop/pad, window and z-score, DICOM (LPS) against NIfTI (RAS).
@testable import FedCTData
import FedCTCore
import XCTest

final class PreprocessingTests: XCTestCase {
    private var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appending(path: "fedct-preprocessing-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    /// A volume whose voxels all differ, value = index.
    private func numbered(_ width: Int, _ height: Int, _ depth: Int, spacing: (Double, Double, Double) = (1, 2, 3)) -> Volume {
        Volume(width: width, height: height, depth: depth, spacing: spacing, voxels: (0..<(width * height * depth)).map(Float.init))
    }

    private func diagonal(_ x: Double, _ y: Double, _ z: Double, origin: (Double, Double, Double) = (0, 0, 0)) -> [Double] {
        [x, 0, 0, origin.0, 0, y, 0, origin.1, 0, 0, z, origin.2, 0, 0, 0, 1]
    }

    /// Voxel (i, j, k) of `affine`, in mm.
    private func position(_ affine: [Double], _ i: Int, _ j: Int, _ k: Int) -> [Double] {
        (0..<3).map { affine[$0 * 4] * Double(i) + affine[$0 * 4 + 1] * Double(j) + affine[$0 * 4 + 2] * Double(k) + affine[$0 * 4 + 3] }
    }

    func testAxisCodesParseAndFollowTheAffine() throws {
        XCTAssertEqual(AxisCodes("lps")?.description, "LPS")
        XCTAssertNil(AxisCodes("RRS"))
        XCTAssertNil(AxisCodes("none"))
        XCTAssertEqual(AxisCodes(affine: diagonal(-0.7, -0.7, 2)).description, "LPS")
        // Sagittal: i runs towards A, j towards S (slightly oblique), k towards L.
        let sagittal = [0, 0.02, -1, 0, 1, 0, 0, 0, 0, 0.99, 0.05, 0, 0, 0, 0, 1.0]
        XCTAssertEqual(AxisCodes(affine: sagittal).description, "ASL")
    }

    func testLPSVolumeReorientedToRASEqualsTheRASVolume() throws {
        let (width, height, depth) = (4, 3, 5)
        let ras = numbered(width, height, depth)
        var lpsVoxels = [Float](repeating: 0, count: ras.voxels.count)
        for k in 0..<depth { for j in 0..<height { for i in 0..<width {
            lpsVoxels[(k * height + j) * width + i] = ras.voxels[(k * height + (height - 1 - j)) * width + (width - 1 - i)]
        } } }
        let lps = Volume(width: width, height: height, depth: depth, spacing: ras.spacing, voxels: lpsVoxels)
        let lpsAffine = diagonal(-1, -2, 3, origin: (Double(width - 1), Double(2 * (height - 1)), 0))
        let (reoriented, affine) = lps.reoriented(affine: lpsAffine, to: try XCTUnwrap(AxisCodes("RAS")))
        XCTAssertEqual(reoriented, ras)
        for (a, b) in zip(affine, diagonal(1, 2, 3)) { XCTAssertEqual(a, b, accuracy: 1e-12) }
        // And back.
        let (back, backAffine) = reoriented.reoriented(affine: affine, to: try XCTUnwrap(AxisCodes("LPS")))
        XCTAssertEqual(back, lps)
        for (a, b) in zip(backAffine, lpsAffine) { XCTAssertEqual(a, b, accuracy: 1e-12) }
    }

    func testPermutedAxesKeepEveryVoxelAtItsPlace() throws {
        let volume = numbered(4, 3, 2, spacing: (1.5, 2, 3))
        // i → A, j → S, k → L (a sagittal stack), with an origin.
        let affine = [0, 0, -3, 10, 1.5, 0, 0, -4, 0, 2, 0, 7, 0, 0, 0, 1]
        let (reoriented, newAffine) = volume.reoriented(affine: affine, to: try XCTUnwrap(AxisCodes("RAS")))
        XCTAssertEqual([reoriented.width, reoriented.height, reoriented.depth], [2, 4, 3])
        XCTAssertEqual([reoriented.spacing.x, reoriented.spacing.y, reoriented.spacing.z], [3, 1.5, 2])
        XCTAssertEqual(AxisCodes(affine: newAffine).description, "RAS")
        for k in 0..<reoriented.depth { for j in 0..<reoriented.height { for i in 0..<reoriented.width {
            let value = Int(reoriented.voxels[(k * reoriented.height + j) * reoriented.width + i])
            let source = (value % 4, value / 4 % 3, value / 12)
            XCTAssertEqual(position(newAffine, i, j, k), position(affine, source.0, source.1, source.2), "output voxel \(i),\(j),\(k)")
        } } }
    }

    func testResamplingMatchesHandComputedValues() {
        // Down: 4 voxels of 1 mm → 2 of 2 mm, centred: source coordinates 0.5 and 2.5.
        let row = Volume(width: 4, height: 1, depth: 1, spacing: (1, 1, 1), voxels: [0, 10, 20, 40])
        XCTAssertEqual(row.resampled(toSpacing: (2, 1, 1)).voxels, [5, 30])
        // Up: 2 voxels of 2 mm → 4 of 1 mm at −0.25 (clamped to 0), 0.25, 0.75, 1.25 (clamped to 1).
        let pair = Volume(width: 2, height: 1, depth: 1, spacing: (2, 1, 1), voxels: [0, 10])
        let up = pair.resampled(toSpacing: (1, 1, 1))
        XCTAssertEqual(up.voxels, [0, 2.5, 7.5, 10])
        XCTAssertEqual(up.spacing.x, 1)
        // Trilinear in 3D: 2³ corners of 2 mm → 4³ of 1 mm; output (1, 2, 3) sits at source (0.25, 0.75, 1).
        let corners: [Float] = [1, 2, 3, 5, 7, 11, 13, 17]
        let cube = Volume(width: 2, height: 2, depth: 2, spacing: (2, 2, 2), voxels: corners).resampled(toSpacing: (1, 1, 1))
        let (x, y, z): (Float, Float, Float) = (0.25, 0.75, 1)
        var expected: Float = 0
        for k in 0..<2 { for j in 0..<2 { for i in 0..<2 {
            expected += corners[(k * 2 + j) * 2 + i] * (i == 1 ? x : 1 - x) * (j == 1 ? y : 1 - y) * (k == 1 ? z : 1 - z)
        } } }
        XCTAssertEqual([cube.width, cube.height, cube.depth], [4, 4, 4])
        XCTAssertEqual(cube.voxels[(3 * 4 + 2) * 4 + 1], expected, accuracy: 1e-5)
        XCTAssertEqual(expected, 12.5, accuracy: 1e-5)  // 0.25 · (0.75 · 7 + 0.25 · 11) + 0.75 · (0.75 · 13 + 0.25 · 17): only the k = 1 plane
    }

    func testResamplingAtTheSameSpacingIsTheIdentity() {
        var random = SeededGenerator(seed: 4)
        let volume = Volume(width: 7, height: 5, depth: 6, spacing: (0.7, 0.9, 2.5),
                            voxels: (0..<210).map { _ in Float(random.uniform() * 3000 - 1000) })
        XCTAssertEqual(volume.resampled(toSpacing: (0.7, 0.9, 2.5)), volume)
        XCTAssertEqual(volume.resampled(toSpacing: nil), volume)
    }

    func testCropAndPadAreCentredAndPadWithPadHU() {
        let volume = numbered(6, 6, 6, spacing: (1, 1, 1))
        let cropped = volume.resampled(toSpacing: nil, shape: [4, 2, 6])
        XCTAssertEqual(cropped.voxels[0], Float((0 * 6 + 2) * 6 + 1))
        XCTAssertEqual(cropped.voxels.last, Float((5 * 6 + 3) * 6 + 4))
        let pipeline = Preprocessing(shape: [8, 6, 6], windowLow: -100, windowHigh: 300, padHU: 100)
        let padded = pipeline.apply(volume)
        XCTAssertEqual(padded.count, 8 * 6 * 6)
        XCTAssertEqual(padded[0], 0)                              // padding: 100 HU, the window's middle
        XCTAssertEqual(padded[1], (0 + 100) / 200 - 1)            // source voxel 0 is at x = 1
        XCTAssertEqual(padded[7], 0)
    }

    func testResamplingAndCropTogetherEqualResamplingThenCropping() {
        var random = SeededGenerator(seed: 9)
        let volume = Volume(width: 20, height: 17, depth: 9, spacing: (0.8, 0.8, 2),
                            voxels: (0..<(20 * 17 * 9)).map { _ in Float(random.uniform() * 2000 - 1000) })
        let whole = volume.resampled(toSpacing: (1.5, 1.5, 1.5))
        XCTAssertEqual([whole.width, whole.height, whole.depth], [11, 9, 12])
        let together = volume.resampled(toSpacing: (1.5, 1.5, 1.5), shape: [8, 12, 10], padValue: -7)
        let afterwards = whole.resampled(toSpacing: nil, shape: [8, 12, 10], padValue: -7)
        XCTAssertEqual(together.voxels.count, afterwards.voxels.count)
        for (a, b) in zip(together.voxels, afterwards.voxels) { XCTAssertEqual(a, b, accuracy: 1e-3) }
    }

    func testZScoreStandardisesEachVolume() {
        var random = SeededGenerator(seed: 2)
        let volume = Volume(width: 8, height: 8, depth: 8, spacing: (1, 1, 1), voxels: (0..<512).map { _ in Float(random.uniform() * 1500 - 1000) })
        let values = Preprocessing(shape: [8, 8, 8], normalization: .zscore).apply(volume)
        let mean = values.reduce(0.0) { $0 + Double($1) } / 512
        let variance = values.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / 512
        XCTAssertEqual(mean, 0, accuracy: 1e-6)
        XCTAssertEqual(variance, 1, accuracy: 1e-5)
        let constant = Volume(width: 2, height: 2, depth: 2, spacing: (1, 1, 1), voxels: Array(repeating: 40, count: 8))
        XCTAssertEqual(Preprocessing(shape: [2, 2, 2], normalization: .zscore).apply(constant), Array(repeating: 0, count: 8))
    }

    /// The mirrored-input regression: a CT series stored as scanners store it (rows towards the patient's left,
    /// columns towards posterior: LPS), a series written by `writeDICOMSeries`, and the same anatomy as RAS NIfTI
    /// give one input.
    func testDICOMSeriesInLPSAndNIfTIInRASGiveTheSameInput() throws {
        var random = SeededGenerator(seed: 7)
        let (width, height, depth) = (12, 10, 6)
        let spacing = (0.8, 0.7, 2.5)
        let ras = Volume(width: width, height: height, depth: depth, spacing: spacing,
                         voxels: (0..<(width * height * depth)).map { _ in Float(Int(random.uniform() * 2400) - 1200) })
        let nifti = folder.appending(path: "scan.nii.gz").path
        try ras.writeNIfTI(path: nifti)
        let written = folder.appending(path: "written").path
        try ras.writeDICOMSeries(folder: written, studyInstanceUID: "2.25.1", seriesInstanceUID: "2.25.2", patientID: "p")
        let scanner = folder.appending(path: "scanner").path
        try FileManager.default.createDirectory(atPath: scanner, withIntermediateDirectories: true)
        for k in 0..<depth {
            var stored = [Int16](repeating: 0, count: width * height)
            for row in 0..<height { for column in 0..<width {
                let hu = ras.voxels[(k * height + (height - 1 - row)) * width + (width - 1 - column)]
                stored[row * width + column] = Int16(hu) + 1024
            } }
            var slice = DICOMSlice(rows: height, columns: width, stored: stored, pixelSpacing: (row: spacing.1, column: spacing.0),
                                   sliceThickness: spacing.2, position: SIMD3(-Double(width - 1) * spacing.0, -Double(height - 1) * spacing.1, Double(k) * spacing.2),
                                   instanceNumber: k + 1, studyInstanceUID: "2.25.3", seriesInstanceUID: "2.25.4")
            slice.rescaleIntercept = -1024
            slice.orientation = (SIMD3(1, 0, 0), SIMD3(0, 1, 0))
            try slice.write(to: "\(scanner)/slice-\(k + 1).dcm")
        }
        let scans = try [nifti, written, scanner].map { try ScanImage.read(path: $0) }
        XCTAssertEqual(scans.map(\.orientationCode), ["RAS", "RAS", "LPS"])
        let pipeline = Preprocessing(shape: [10, 10, 8], spacing: (1, 1, 2))
        let inputs = scans.map { pipeline.apply($0) }
        // NIfTI stores the spacing as float32, DICOM as decimal text: the resampling weights differ in the 7th digit.
        XCTAssertLessThan(maximumDifference(inputs[0], inputs[1]), 1e-4)
        XCTAssertLessThan(maximumDifference(inputs[0], inputs[2]), 1e-4)
        // Without reorientation the LPS series reaches the model mirrored in x and y.
        var stored = pipeline
        stored.orientation = nil
        XCTAssertGreaterThan(maximumDifference(stored.apply(scans[2]), inputs[0]), 0.1)
    }

    private func maximumDifference(_ a: [Float], _ b: [Float]) -> Float {
        XCTAssertEqual(a.count, b.count)
        return zip(a, b).map { abs($0 - $1) }.max() ?? .infinity
    }
}
