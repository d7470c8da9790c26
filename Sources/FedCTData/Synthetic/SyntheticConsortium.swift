// SyntheticConsortium: writes multi-site CT + MEDS EHR + reports + clinical data whose outcomes are driven by image biomarkers, with ground truth.
import FedCTCore
import Foundation
import Synchronization

/// A deterministic synthetic consortium: per site, NIfTI chest volumes (and, on request, DICOM series of the same
/// volumes), a MEDS event table with thousands of background codes, a radiology report per scan, a clinical features
/// table, a diagnosis ontology and a cohort manifest; plus one ground-truth file (latent factors and true hazards) for
/// oracle evaluation only — sites never read it.
///
/// Outcomes (`SyntheticOutcome.all`: death, PE, PH, readmission and seven diagnoses) are exponential event times whose
/// hazards rise with lesion size, emphysema, effusion, heart size, age and male sex, so a model that sees the image
/// can rank patients' risk. Body habitus, lung size and position vary without carrying risk. Sites differ in scanner
/// noise, HU calibration, slice thickness, population mix, code popularity and size (`SyntheticSiteProfile`).
/// Each patient draws from its own seeded streams, so patients render in parallel and the files do not depend on the
/// number of threads.
public struct SyntheticConsortium: Sendable {
    public var patientsPerSite: [Int]
    public var volumeSize: Int
    public var seed: UInt64
    /// Fraction of each site's patients held out for evaluation.
    public var heldoutFraction: Double = 0.25
    /// When true, each volume is also written as a DICOM CT series folder `dicom/<subject>/` (one slice per file,
    /// see `Volume.writeDICOMSeries`) and the cohort manifest points at that folder instead of the NIfTI file.
    /// Study and series UIDs are `2.25.` UIDs drawn from the seed, so the files stay reproducible.
    public var dicom = false
    /// The most series a study holds (1: one plain series per patient). Above 1 each study draws 1…maxSeriesPerStudy series
    /// (`SeriesAcquisition.study`), written as `scans/<subject>-s<n>.nii.gz` and listed in the manifest under the study's
    /// `study_id`; the first series, the report's findings and the events are the same as with one series.
    public var maxSeriesPerStudy = 1

    /// The outcomes of the demo's job: death, pulmonary embolism, pulmonary hypertension.
    public static let outcomeCodes = ["DEATH", "PE", "PH"]
    /// Diagnoses whose timing after the scan depends on what the image shows.
    public static var findingCodes: [String] { SyntheticOutcome.all.map(\.code).filter { $0.hasPrefix("ICD10/") } }
    /// The ontology file written beside each site's tables.
    public static let ontologyName = "ontology.csv"
    public static let groundTruthName = "ground_truth.csv"

    public init(patientsPerSite: [Int], volumeSize: Int, seed: UInt64, dicom: Bool = false) {
        self.patientsPerSite = patientsPerSite
        self.volumeSize = volumeSize
        self.seed = seed
        self.dicom = dicom
    }

    public static func siteName(_ index: Int) -> String { "site-\(index + 1)" }

    /// The header of `ground_truth.csv`.
    public static var groundTruthHeader: String {
        "site,subject_id,scan_id,age,sex,pack_years,lesion,emphysema,heart,effusion,effusion_side,body_scale,lung_scale,follow_up_years,"
            + SyntheticOutcome.all.map { "hazard_\($0.name)" }.joined(separator: ",") + "\n"
    }

    /// Writes every site's folder (`<out>/site-N`) and `<out>/ground_truth.csv`.
    public func write(to directory: URL) throws {
        try validate()
        var truth = Self.groundTruthHeader
        for (site, patients) in patientsPerSite.enumerated() {
            truth += try writeSite(site, patients: patients, into: directory.appending(path: Self.siteName(site)))
        }
        try Data(truth.utf8).write(to: directory.appending(path: Self.groundTruthName))
    }

    /// The benchmark baseline: renders one volume per site and writes it as every patient's `scans/<subject>.nii.gz`, with
    /// the same parallelism as `write(to:)`, and nothing else — what writing the volumes costs without rendering them.
    public func writeVolumesOnly(to directory: URL) throws {
        try validate()
        for (site, patients) in patientsPerSite.enumerated() {
            let folder = directory.appending(path: Self.siteName(site))
            try FileManager.default.createDirectory(at: folder.appending(path: "scans"), withIntermediateDirectories: true)
            var random = SeededGenerator(seed: seed, stream: "site-\(site)-patient-0")
            let patient = SyntheticPatient.draw(subjectID: Self.subjectID(site: site, patient: 0), site: .site(site), random: &random)
            let volume = ChestPhantom.render(size: volumeSize, biomarkers: patient.biomarkers, habitus: patient.habitus,
                                             scanner: SyntheticSiteProfile.site(site).scanner, random: &random)
            _ = try Self.parallelMap(patients) { index in
                try volume.writeNIfTI(path: folder.appending(path: "scans/\(Self.subjectID(site: site, patient: index)).nii.gz").path)
            }
        }
    }

    private func validate() throws {
        guard !patientsPerSite.isEmpty, patientsPerSite.allSatisfy({ $0 >= 4 }) else {
            throw FedCTError(.invalidConfiguration, "synthetic data needs at least one site and at least 4 patients per site")
        }
        guard (16...512).contains(volumeSize) else {
            throw FedCTError(.invalidConfiguration, "volume size \(volumeSize) must be between 16 and 512")
        }
        guard (1...8).contains(maxSeriesPerStudy) else {
            throw FedCTError(.invalidConfiguration, "series per study \(maxSeriesPerStudy) must be between 1 and 8")
        }
    }

    static func subjectID(site: Int, patient: Int) -> String { "s\(site + 1)-\(String(format: "%05d", patient))" }

    /// The text each patient adds to the site's tables.
    private struct PatientRows: Sendable {
        var cohort: String
        var events: String
        var clinical: String
        var truth: String
    }

    private func writeSite(_ site: Int, patients: Int, into folder: URL) throws -> String {
        for subfolder in ["scans", "reports"] {
            try FileManager.default.createDirectory(at: folder.appending(path: subfolder), withIntermediateDirectories: true)
        }
        let profile = SyntheticSiteProfile.site(site)
        let vocabulary = SyntheticVocabulary(seed: seed, site: site)
        let heldout = max(1, Int((Double(patients) * heldoutFraction).rounded()))
        let rows = try Self.parallelMap(patients) { index in
            try writePatient(index, site: site, profile: profile, vocabulary: vocabulary,
                             split: index < patients - heldout ? "train" : "heldout", into: folder)
        }
        let cohortHeader = "scan_id,subject_id,image_path,index_time,split,study_id,report_path,clinical_row\n"
        try Data((cohortHeader + rows.map(\.cohort).joined()).utf8).write(to: folder.appending(path: SiteDataset.manifestName))
        try Data(("subject_id,time,code,numeric_value\n" + rows.map(\.events).joined()).utf8).write(to: folder.appending(path: SiteDataset.eventsName))
        try Data((SyntheticClinical.header + rows.map(\.clinical).joined()).utf8).write(to: folder.appending(path: CohortManifest.clinicalTableName))
        try Data(SyntheticVocabulary.ontologyCSV().utf8).write(to: folder.appending(path: Self.ontologyName))
        return rows.map(\.truth).joined()
    }

    /// Draws patient `index` of `site` from its own streams, writes its image(s) and report, and returns its table rows.
    private func writePatient(_ index: Int, site: Int, profile: SyntheticSiteProfile, vocabulary: SyntheticVocabulary,
                              split: String, into folder: URL) throws -> PatientRows {
        let subject = Self.subjectID(site: site, patient: index)
        let scanID = "\(subject)-ct"
        var random = SeededGenerator(seed: seed, stream: "site-\(site)-patient-\(index)")
        let patient = SyntheticPatient.draw(subjectID: subject, site: profile, random: &random)
        let hazards = SyntheticOutcome.all.map { $0.hazard(patient) }
        let record = SyntheticRecord(hazards: hazards, random: &random)

        var seriesRandom = SeededGenerator(seed: seed, stream: "series-\(subject)")
        let series = maxSeriesPerStudy > 1 ? SeriesAcquisition.study(maxSeries: maxSeriesPerStudy, random: &seriesRandom) : [.standard]
        var imageNames: [String] = []
        for (number, acquisition) in series.enumerated() {
            let suffix = number == 0 ? "" : "-s\(number + 1)"
            var imageRandom = SeededGenerator(seed: seed, stream: "image-\(subject)\(suffix)")
            let volume = ChestPhantom.render(size: volumeSize, biomarkers: patient.biomarkers, habitus: patient.habitus,
                                             scanner: profile.scanner, acquisition: acquisition, random: &imageRandom)
            let niftiName = "scans/\(subject)\(suffix).nii.gz"
            try volume.writeNIfTI(path: folder.appending(path: niftiName).path)
            var imageName = niftiName
            if dicom {
                imageName = "dicom/\(subject)\(suffix)"
                // A separate stream, so the NIfTI data and the events are the same with or without DICOM.
                var uids = SeededGenerator(seed: seed, stream: "dicom-\(subject)")
                let studyUID = Self.uid(&uids)
                var seriesUID = Self.uid(&uids)
                if number > 0 {
                    var more = SeededGenerator(seed: seed, stream: "dicom-\(subject)\(suffix)")
                    seriesUID = Self.uid(&more)
                }
                try volume.writeDICOMSeries(folder: folder.appending(path: imageName).path, studyInstanceUID: studyUID,
                                            seriesInstanceUID: seriesUID, patientID: subject)
            }
            imageNames.append(imageName)
        }
        var reportRandom = SeededGenerator(seed: seed, stream: "report-\(subject)")
        let reportName = "reports/\(scanID).txt"
        try Data(SyntheticReport.text(for: patient, series: series, random: &reportRandom).utf8).write(to: folder.appending(path: reportName))
        var clinicalRandom = SeededGenerator(seed: seed, stream: "clinical-\(subject)")
        var eventRandom = SeededGenerator(seed: seed, stream: "events-\(subject)")

        let indexTime = EventTime.iso8601(days: record.indexDay + 0.4)
        let markers = patient.biomarkers
        let latent: [String] = [
            Self.siteName(site), subject, scanID, String(format: "%.1f", patient.age), patient.isMale ? "M" : "F",
            String(format: "%.1f", patient.packYears), "\(markers.lesion)", "\(markers.emphysema)", "\(markers.heart)", "\(markers.effusion)",
            markers.effusion > 0 ? markers.effusionSide.rawValue : "", "\(patient.habitus.bodyScale)", "\(patient.habitus.lungScale)",
            String(format: "%.4f", record.endYears),
        ]
        return PatientRows(
            cohort: imageNames.enumerated().map { number, imageName in
                "\(scanID)\(number == 0 ? "" : "\(number + 1)"),\(subject),\(imageName),\(indexTime),\(split),\(subject)-study1,\(reportName),\(scanID)\n"
            }.joined(),
            events: record.eventRows(patient, vocabulary: vocabulary, random: &eventRandom),
            clinical: SyntheticClinical.row(scanID: scanID, patient: patient, random: &clinicalRandom),
            truth: (latent + hazards.map { String(format: "%.6f", $0) }).joined(separator: ",") + "\n")
    }

    /// `body(0..<count)` on all cores, results in index order; the first error (by index) is thrown.
    static func parallelMap<Result: Sendable>(_ count: Int, _ body: @Sendable (Int) throws -> Result) throws -> [Result] {
        let results = Mutex<[Swift.Result<Result, any Error>?]>(Array(repeating: nil, count: count))
        DispatchQueue.concurrentPerform(iterations: count) { index in
            let result = Swift.Result { try body(index) }
            results.withLock { $0[index] = result }
        }
        return try results.withLock { $0 }.map { try $0!.get() }
    }

    /// A UID under the 2.25 root (an integer below 2¹²⁸, as UUID-derived UIDs are), drawn from `random`.
    static func uid(_ random: inout SeededGenerator) -> String {
        "2.25.\(UInt128(random.next()) << 64 | UInt128(random.next()))"
    }
}
