// Tests of the image reader choice (NIfTI, DICOM file, DICOM series folder) and of synthetic DICOM cohorts end to end.
@testable import FedCTData
import FedCTCore
import XCTest

final class ScanImageTests: XCTestCase {
    private var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appending(path: "fedct-scanimage-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    func testSyntheticDICOMCohortLoadsTheSameVoxelsAsNIfTI() throws {
        let nifti = folder.appending(path: "nifti"), dicom = folder.appending(path: "dicom")
        try SyntheticConsortium(patientsPerSite: [6], volumeSize: 16, seed: 11).write(to: nifti)
        try SyntheticConsortium(patientsPerSite: [6], volumeSize: 16, seed: 11, dicom: true).write(to: dicom)
        let site = dicom.appending(path: "site-1")
        let manifest = try CohortManifest(path: site.appending(path: SiteDataset.manifestName).path)
        XCTAssertTrue(manifest.entries.allSatisfy { $0.imagePath.hasSuffix("dicom/\($0.subjectID)") }, "\(manifest.entries.map(\.imagePath))")
        for file in ["events.csv", "scans/s1-00002.nii.gz"] {
            XCTAssertEqual(FileManager.default.contents(atPath: nifti.appending(path: "site-1/\(file)").path),
                           FileManager.default.contents(atPath: site.appending(path: file).path), "\(file) must not depend on --dicom")
        }

        // The series decodes to the NIfTI file's voxels (HU rounded either way: stored = round(HU) + 1024) and geometry.
        for entry in manifest.entries {
            let series = try ScanImage.read(path: entry.imagePath)
            let reference = try ScanImage.read(path: site.appending(path: "scans/\(entry.subjectID).nii.gz").path)
            XCTAssertEqual(series.format, .dicomSeries)
            XCTAssertEqual(series.modality, "CT")
            XCTAssertEqual(reference.format, .nifti)
            XCTAssertEqual([series.volume.width, series.volume.height, series.volume.depth], [16, 16, 16])
            XCTAssertEqual(series.volume.spacing.x, reference.volume.spacing.x, accuracy: 1e-6)
            XCTAssertEqual(series.volume.spacing.y, reference.volume.spacing.y, accuracy: 1e-6)
            XCTAssertEqual(series.volume.spacing.z, reference.volume.spacing.z, accuracy: 1e-6)
            for (a, b) in zip(series.voxelToPatient, reference.voxelToPatient) { XCTAssertEqual(a, b, accuracy: 1e-6, entry.scanID) }
            let worst = zip(series.volume.voxels, reference.volume.voxels).map { abs($0 - $1) }.max() ?? .infinity
            XCTAssertLessThanOrEqual(worst, 0.5, entry.scanID)
        }

        let labeler = TTELabeler(taskCodes: SyntheticConsortium.outcomeCodes, pieceEdgesDays: [90, 365, 1825])
        let fromDICOM = try SiteDataset.load(directory: site.path, labeler: labeler, preprocessing: Preprocessing(size: 16))
        let fromNIfTI = try SiteDataset.load(directory: nifti.appending(path: "site-1").path, labeler: labeler, preprocessing: Preprocessing(size: 16))
        XCTAssertEqual(fromDICOM.train.count + fromDICOM.heldout.count, fromNIfTI.train.count + fromNIfTI.heldout.count)
        XCTAssertFalse(fromDICOM.train.isEmpty)
        for (a, b) in zip(fromDICOM.train + fromDICOM.heldout, fromNIfTI.train + fromNIfTI.heldout) {
            XCTAssertEqual(a.scanID, b.scanID)
            XCTAssertEqual(a.events, b.events)
            // Half a HU of rounding is 0.0005 after the [−1000, 1000] → [−1, 1] window.
            let worst = zip(a.input, b.input).map { abs($0 - $1) }.max() ?? .infinity
            XCTAssertLessThanOrEqual(worst, 0.0005, a.scanID)
        }
    }

    func testSyntheticDICOMIsReproducibleBySeed() throws {
        let first = folder.appending(path: "a"), second = folder.appending(path: "b")
        try SyntheticConsortium(patientsPerSite: [4], volumeSize: 16, seed: 2, dicom: true).write(to: first)
        try SyntheticConsortium(patientsPerSite: [4], volumeSize: 16, seed: 2, dicom: true).write(to: second)
        let a = try ScanImage.read(path: first.appending(path: "site-1/dicom/s1-00001").path)
        let b = try ScanImage.read(path: second.appending(path: "site-1/dicom/s1-00001").path)
        XCTAssertEqual(a.seriesInstanceUID, b.seriesInstanceUID)
        XCTAssertTrue(a.seriesInstanceUID?.hasPrefix("2.25.") == true)
        XCTAssertEqual(a.volume, b.volume)
        let other = try ScanImage.read(path: first.appending(path: "site-1/dicom/s1-00002").path)
        XCTAssertNotEqual(a.seriesInstanceUID, other.seriesInstanceUID)
    }

    func testReaderIsChosenByThePath() throws {
        let volume = Volume(width: 16, height: 16, depth: 3, spacing: (0.5, 0.5, 2), voxels: (0..<768).map { Float($0 % 50 * 20 - 500) })
        let series = folder.appending(path: "series").path
        let paths = try volume.writeDICOMSeries(folder: series, studyInstanceUID: "1.2.3", seriesInstanceUID: "1.2.3.4", patientID: "p")
        try volume.writeNIfTI(path: folder.appending(path: "v.nii.gz").path)
        let bare = folder.appending(path: "IM00001").path
        try FileManager.default.copyItem(atPath: paths[1], toPath: bare)
        let text = folder.appending(path: "notes.txt").path
        try "not an image".write(toFile: text, atomically: true, encoding: .utf8)

        XCTAssertEqual(try ScanImage.format(of: series), .dicomSeries)
        XCTAssertEqual(try ScanImage.format(of: paths[0]), .dicomFile)
        XCTAssertEqual(try ScanImage.format(of: bare), .dicomFile, "DICM preamble without an extension")
        XCTAssertEqual(try ScanImage.format(of: folder.appending(path: "v.nii.gz").path), .nifti)
        XCTAssertThrowsError(try ScanImage.format(of: text)) { error in
            XCTAssertEqual((error as? FedCTError)?.code, .invalidData)
            XCTAssertTrue("\(error)".contains("notes.txt"), "\(error)")
        }
        XCTAssertThrowsError(try ScanImage.format(of: folder.appending(path: "gone.nii").path)) { error in
            XCTAssertEqual((error as? FedCTError)?.code, .notFound)
        }

        let single = try ScanImage.read(path: bare)
        XCTAssertEqual(single.volume.depth, 1)
        XCTAssertEqual(single.volume.voxels, Array(volume.voxels[256..<512]))
        let whole = try ScanImage.read(path: series)
        XCTAssertEqual(whole.volume.voxels, volume.voxels)
        XCTAssertEqual(whole.volume.spacing.z, 2, accuracy: 1e-9)
    }

    func testManifestErrorsNameTheLineAndTheImage() throws {
        let site = folder.appending(path: "site")
        let empty = site.appending(path: "dicom/s2")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        let volume = Volume(width: 16, height: 16, depth: 2, spacing: (1, 1, 1), voxels: [Float](repeating: 40, count: 512))
        try volume.writeDICOMSeries(folder: site.appending(path: "dicom/s1").path, studyInstanceUID: "1.2.3", seriesInstanceUID: "1.2.3.5", patientID: "s1")
        try "scan_id,subject_id,image_path,index_time,split\nc1,s1,dicom/s1,2020-01-01,train\nc2,s2,dicom/s2,2020-01-01,heldout\n"
            .write(to: site.appending(path: "cohort.csv"), atomically: true, encoding: .utf8)
        try "subject_id,time,code,numeric_value\ns1,2021-01-01,VISIT/OUTPATIENT,\ns2,2021-01-01,VISIT/OUTPATIENT,\n"
            .write(to: site.appending(path: "events.csv"), atomically: true, encoding: .utf8)
        let labeler = TTELabeler(taskCodes: ["DEATH"], pieceEdgesDays: [365])
        XCTAssertThrowsError(try SiteDataset.load(directory: site.path, labeler: labeler, preprocessing: Preprocessing(size: 8))) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("cohort.csv:3") && text.contains("c2") && text.contains("dicom/s2") && text.contains("empty"), text)
        }
        try "scan_id,subject_id,image_path,index_time,split\nc1,s1,dicom/s1,2020-01-01,train\n"
            .write(to: site.appending(path: "cohort.csv"), atomically: true, encoding: .utf8)
        let loaded = try SiteDataset.load(directory: site.path, labeler: labeler, preprocessing: Preprocessing(size: 8))
        XCTAssertEqual(loaded.train.count, 1)
        XCTAssertEqual(loaded.train[0].input[0], -1, "padding is air")
        XCTAssertEqual(loaded.train[0].input[(4 * 8 + 4) * 8 + 4], 0.04, accuracy: 1e-6, "40 HU in the centre")
    }
}

final class InspectionTests: XCTestCase {
    func testVoxelStatisticsAreThePopulationMomentsAndSkipNaN() {
        let stats = VoxelStatistics([-1000, 0, 1000, 40, .nan])
        XCTAssertEqual(stats.count, 4)
        XCTAssertEqual(stats.minimum, -1000)
        XCTAssertEqual(stats.maximum, 1000)
        XCTAssertEqual(stats.mean, 10, accuracy: 1e-12)
        // Deviations −1010, −10, 990, 30: squares sum to 2 001 200, over 4.
        XCTAssertEqual(stats.standardDeviation, (2_001_200.0 / 4).squareRoot(), accuracy: 1e-9)
        XCTAssertEqual(VoxelStatistics([]).count, 0)
        XCTAssertTrue(VoxelStatistics([.nan]).mean.isNaN)
    }

    func testOrientationCodeFollowsTheAffine() throws {
        let folder = FileManager.default.temporaryDirectory.appending(path: "fedct-orientation-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let volume = Volume(width: 16, height: 16, depth: 2, spacing: (1, 1, 2), voxels: [Float](repeating: 0, count: 512))
        try volume.writeNIfTI(path: folder.appending(path: "v.nii").path)
        XCTAssertEqual(try ScanImage.read(path: folder.appending(path: "v.nii").path).orientationCode, "RAS")
        try volume.writeDICOMSeries(folder: folder.appending(path: "s").path, studyInstanceUID: "1.2", seriesInstanceUID: "1.2.3", patientID: "p")
        XCTAssertEqual(try ScanImage.read(path: folder.appending(path: "s").path).orientationCode, "RAS")
        // A conventional axial slice: rows along +x (patient left), columns along +y (posterior), normal +z.
        let slice = DICOMSlice(rows: 16, columns: 16, stored: [Int16](repeating: 0, count: 256), pixelSpacing: (row: 1, column: 1),
                               sliceThickness: 1, position: SIMD3(0, 0, 0), instanceNumber: 1, studyInstanceUID: "1.2", seriesInstanceUID: "1.2.4")
        try slice.write(to: folder.appending(path: "axial.dcm").path)
        XCTAssertEqual(try ScanImage.read(path: folder.appending(path: "axial.dcm").path).orientationCode, "LPS")
    }
}
