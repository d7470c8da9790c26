// Tests of the synthetic consortium's files: byte-identical by seed, every linked file present, thousands of codes, ground truth for everyone.
@testable import FedCTData
import FedCTCore
import Foundation
import XCTest

final class SyntheticConsortiumTests: XCTestCase {
    private var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appending(path: "fedct-synthetic-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    private func files(under root: URL) throws -> [String: Data] {
        let paths = try XCTUnwrap(FileManager.default.subpathsOfDirectory(atPath: root.path))
        var contents: [String: Data] = [:]
        for path in paths {
            var isFolder: ObjCBool = false
            if FileManager.default.fileExists(atPath: root.appending(path: path).path, isDirectory: &isFolder), !isFolder.boolValue {
                contents[path] = try Data(contentsOf: root.appending(path: path))
            }
        }
        return contents
    }

    func testTwoRunsWithTheSameSeedAreByteIdenticalAndAnotherSeedDiffers() throws {
        let first = folder.appending(path: "a"), second = folder.appending(path: "b"), other = folder.appending(path: "c")
        try SyntheticConsortium(patientsPerSite: [10, 6], volumeSize: 16, seed: 3).write(to: first)
        try SyntheticConsortium(patientsPerSite: [10, 6], volumeSize: 16, seed: 3).write(to: second)
        try SyntheticConsortium(patientsPerSite: [10, 6], volumeSize: 16, seed: 4).write(to: other)
        let a = try files(under: first), b = try files(under: second), c = try files(under: other)
        // Per site: cohort, events, clinical, ontology, and one volume and one report per patient; plus the ground truth.
        XCTAssertEqual(a.count, 1 + 2 * 4 + 2 * 16, a.keys.sorted().joined(separator: " "))
        XCTAssertEqual(a.keys.sorted(), b.keys.sorted())
        for (path, data) in a { XCTAssertEqual(data, b[path], path) }
        for path in ["ground_truth.csv", "site-1/events.csv", "site-2/reports/s2-00001-ct.txt", "site-1/scans/s1-00002.nii.gz", "site-1/clinical.csv"] {
            XCTAssertNotEqual(a[path], c[path], "\(path) must depend on the seed")
        }
    }

    func testEveryManifestRowLinksExistingFilesAndTheGroundTruthCoversEverySubject() throws {
        try SyntheticConsortium(patientsPerSite: [12, 8], volumeSize: 16, seed: 5).write(to: folder)
        let truth = try CSVTable(path: folder.appending(path: "ground_truth.csv").path)
        XCTAssertEqual(truth.header.joined(separator: ",") + "\n", SyntheticConsortium.groundTruthHeader)
        let truthSubjects = Set(truth.rows.map { $0.fields[try! truth.column("subject_id")] })
        var subjects = Set<String>()
        for site in ["site-1", "site-2"] {
            let folder = folder.appending(path: site)
            let manifest = try CohortManifest(path: folder.appending(path: SiteDataset.manifestName).path)
            let clinical = try CSVTable(path: folder.appending(path: CohortManifest.clinicalTableName).path)
            XCTAssertEqual(clinical.header, ["scan_id"] + SyntheticClinical.columns)
            let clinicalKeys = Set(clinical.rows.map { $0.fields[0] })
            for entry in manifest.entries {
                subjects.insert(entry.subjectID)
                XCTAssertTrue(FileManager.default.fileExists(atPath: entry.imagePath), entry.imagePath)
                XCTAssertEqual(entry.studyID, "\(entry.subjectID)-study1")
                let report = try XCTUnwrap(manifest.reportText(entry))
                XCTAssertTrue(report.contains("FINDINGS:") && report.contains("IMPRESSION:"), report)
                XCTAssertTrue(clinicalKeys.contains(try XCTUnwrap(entry.clinicalRow)), entry.scanID)
            }
            let preflight = DataPreflight(directory: folder.path).run()
            XCTAssertTrue(preflight.problems.isEmpty, preflight.text)
            let ontology = try CSVTable(path: folder.appending(path: SyntheticConsortium.ontologyName).path)
            let parents = Dictionary(uniqueKeysWithValues: ontology.rows.map { ($0.fields[0], $0.fields[1]) })
            XCTAssertEqual(parents["ICD10/J44"], "ICD10/J")
            XCTAssertEqual(parents["ICD10/R91.1"], "ICD10/R91")
        }
        XCTAssertEqual(subjects, truthSubjects)
        XCTAssertEqual(truth.rows.count, 20)
    }

    func testEventTablesHoldThousandsOfDistinctCodesWithOutcomesAndReadmissions() throws {
        try SyntheticConsortium(patientsPerSite: [90, 90], volumeSize: 16, seed: 7).write(to: folder)
        var codes = Set<String>(), counts: [String: Int] = [:]
        for site in ["site-1", "site-2"] {
            let events = try CSVTable(path: folder.appending(path: "\(site)/events.csv").path)
            for row in events.rows {
                codes.insert(row.fields[2])
                counts[row.fields[2], default: 0] += 1
            }
        }
        XCTAssertGreaterThanOrEqual(codes.count, 3000)
        for outcome in SyntheticOutcome.all { XCTAssertGreaterThan(counts[outcome.code] ?? 0, 0, outcome.code) }
        XCTAssertEqual(counts["VISIT/END_OF_RECORD"], 180)
        XCTAssertEqual(counts["MEDS_BIRTH"], 180)
        // Zipf-like: the most frequent diagnosis is far more common than the median one.
        let diagnoses = counts.filter { $0.key.hasPrefix("ICD10/") && $0.key.contains(".") }.values.sorted(by: >)
        XCTAssertGreaterThan(diagnoses[0], 20 * diagnoses[diagnoses.count / 2])
    }
}
