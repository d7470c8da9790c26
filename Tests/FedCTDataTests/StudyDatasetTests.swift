// Tests of multi-series synthetic studies and of site datasets whose examples are studies (scans grouped by study_id, with reports).
@testable import FedCTData
import FedCTCore
import XCTest

final class StudyDatasetTests: XCTestCase {
    private var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appending(path: "fedct-studies-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    private let studies = SiteExampleRecipe(trackedCodes: ["DEATH"], unit: .study) { _, _, _ in [:] }

    func testMultiSeriesStudiesKeepTheFirstSeriesAndTheRecordsOfASingleSeriesConsortium() throws {
        let single = folder.appending(path: "single"), multi = folder.appending(path: "multi")
        try SyntheticConsortium(patientsPerSite: [10], volumeSize: 16, seed: 5).write(to: single)
        var consortium = SyntheticConsortium(patientsPerSite: [10], volumeSize: 16, seed: 5)
        consortium.maxSeriesPerStudy = 4
        try consortium.write(to: multi)
        for file in ["ground_truth.csv", "site-1/events.csv", "site-1/clinical.csv", "site-1/scans/s1-00000.nii.gz", "site-1/scans/s1-00007.nii.gz"] {
            XCTAssertEqual(FileManager.default.contents(atPath: single.appending(path: file).path),
                           FileManager.default.contents(atPath: multi.appending(path: file).path), file)
        }
        let manifest = try CohortManifest(path: multi.appending(path: "site-1/cohort.csv").path)
        let perStudy = Dictionary(grouping: manifest.entries) { $0.studyID! }
        XCTAssertEqual(perStudy.count, 10)
        XCTAssertTrue(perStudy.values.allSatisfy { (1...4).contains($0.count) && Set($0.map(\.reportPath)).count == 1 })
        XCTAssertGreaterThan(manifest.entries.count, 15, "about 2.5 series per study on average")
        // A study with a contrast series says so in its report, and its contrast scan has brighter blood.
        let reports = try perStudy.values.map { try XCTUnwrap(manifest.reportText($0[0])) }
        XCTAssertTrue(reports.contains { $0.contains("with intravenous contrast") && $0.contains("TECHNIQUE:") }, "no study drew a contrast series")
        let single1 = try String(contentsOf: single.appending(path: "site-1/reports/s1-00000-ct.txt"), encoding: .utf8)
        XCTAssertTrue(single1.hasPrefix("EXAMINATION: CT chest without contrast.\nCLINICAL INDICATION:"), single1)
    }

    func testContrastSeriesHasBrighterBlood() {
        var random = SeededGenerator(seed: 1)
        let markers = ChestBiomarkers(lesion: 0, emphysema: 0, heart: 1)
        let habitus = ChestHabitus(bodyScale: 1, lungScale: 1, shift: (0, 0, 0))
        let scanner = ScannerProfile(noiseHU: 0, offsetHU: 0, sliceThickness: 1, pixelSpacing: 1)
        let plain = ChestPhantom.render(size: 32, biomarkers: markers, habitus: habitus, scanner: scanner, random: &random)
        var contrast = SeriesAcquisition.standard
        contrast.kind = .contrast
        contrast.bloodHU = 300
        let enhanced = ChestPhantom.render(size: 32, biomarkers: markers, habitus: habitus, scanner: scanner, acquisition: contrast, random: &random)
        XCTAssertEqual(plain.voxels.filter { $0 == 45 }.count, enhanced.voxels.filter { $0 == 300 }.count)
        XCTAssertGreaterThan(enhanced.voxels.filter { $0 == 300 }.count, 50, "the heart's blood pool")
        var localizer = SeriesAcquisition.draw(.localizer, random: &random)
        localizer.noiseScale = 0
        let coarse = ChestPhantom.render(size: 32, biomarkers: markers, habitus: habitus, scanner: scanner, acquisition: localizer, random: &random)
        XCTAssertEqual(coarse.voxels[(5 * 32 + 6) * 32 + 7], coarse.voxels[(4 * 32 + 4) * 32 + 4], "one value per 4³ cell")
        XCTAssertEqual(coarse.spacing.z, 4)
    }

    func testStudyExamplesGroupScansInManifestOrderWithTheirReport() throws {
        let site = folder.appending(path: "site")
        try FileManager.default.createDirectory(at: site.appending(path: "reports"), withIntermediateDirectories: true)
        try writeSyntheticSite(into: site)
        let manifest = site.appending(path: "cohort.csv")
        try """
            scan_id,subject_id,image_path,index_time,split,study_id,report_path,clinical_row
            a1,p1,scans/x.nii.gz,2020-01-01,train,study-a,reports/a.txt,
            b1,p2,scans/y.nii.gz,2020-01-01,heldout,study-b,reports/b.txt,
            a2,p1,scans/y.nii.gz,2020-01-01,train,study-a,reports/a.txt,
            c1,p1,scans/x.nii.gz,2021-06-01,train,,reports/c.txt,

            """.write(to: manifest, atomically: true, encoding: .utf8)
        for (name, text) in [("a", "Study A. Left pleural effusion."), ("b", "Study B."), ("c", "Study C.")] {
            try text.write(to: site.appending(path: "reports/\(name).txt"), atomically: true, encoding: .utf8)
        }
        let dataset = try SiteDataset.load(directory: site.path, recipe: studies, preprocessing: Preprocessing(size: 8))
        XCTAssertEqual(dataset.train.map(\.scanID), ["study-a", "c1"], "a row without study_id is a study of its own")
        XCTAssertEqual(dataset.heldout.map(\.scanID), ["study-b"])
        XCTAssertEqual(dataset.train[0].inputs.count, 2)
        XCTAssertEqual(dataset.train[0].report, "Study A. Left pleural effusion.")
        let scans = try SiteDataset.load(directory: site.path, trackedCodes: ["DEATH"], preprocessing: Preprocessing(size: 8)) { _, _, _ in [:] }
        XCTAssertEqual(scans.train.map(\.scanID), ["a1", "a2", "c1"])
        XCTAssertEqual(dataset.train[0].inputs[1], scans.train[1].input, "the study's second scan is row a2")
        XCTAssertNil(scans.train[0].report, "scan examples carry no report")

        // A study whose rows disagree, or without a report, is refused naming the line and what to fix.
        try String(contentsOf: manifest, encoding: .utf8).replacingOccurrences(of: "a2,p1", with: "a2,p9").write(to: manifest, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try SiteDataset.load(directory: site.path, recipe: studies, preprocessing: Preprocessing(size: 8))) {
            XCTAssertTrue("\($0)".contains("cohort.csv:4") && "\($0)".contains("subject_id"), "\($0)")
        }
        try String(contentsOf: manifest, encoding: .utf8).replacingOccurrences(of: "a2,p9", with: "a2,p1")
            .replacingOccurrences(of: "reports/c.txt", with: "").write(to: manifest, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try SiteDataset.load(directory: site.path, recipe: studies, preprocessing: Preprocessing(size: 8))) {
            XCTAssertTrue("\($0)".contains("cohort.csv:5") && "\($0)".contains("no report_path"), "\($0)")
        }
    }

    /// Two small scans and a MEDS table in which p1, p2 and p9 are followed up, for hand-written manifests.
    private func writeSyntheticSite(into site: URL) throws {
        try FileManager.default.createDirectory(at: site.appending(path: "scans"), withIntermediateDirectories: true)
        for (name, value) in [("x", Float(-500)), ("y", Float(200))] {
            try Volume(width: 8, height: 8, depth: 8, spacing: (1, 1, 1), voxels: (0..<512).map { value + Float($0) })
                .writeNIfTI(path: site.appending(path: "scans/\(name).nii.gz").path)
        }
        try """
            subject_id,time,code,numeric_value
            p1,2019-01-01,MEDS_BIRTH,
            p1,2023-01-01,VISIT,
            p2,2019-01-01,MEDS_BIRTH,
            p2,2022-01-01,DEATH,
            p9,2023-01-01,VISIT,

            """.write(to: site.appending(path: "events.csv"), atomically: true, encoding: .utf8)
    }
}
