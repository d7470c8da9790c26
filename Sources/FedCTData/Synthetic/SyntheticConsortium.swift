// SyntheticConsortium: writes multi-site CT + MEDS EHR data whose outcomes are driven by image biomarkers, with ground truth.
import FedCTCore
import Foundation

/// A deterministic synthetic consortium: per site, NIfTI chest volumes (and, on request, DICOM series of the
/// same volumes), a MEDS event table and a cohort manifest; plus one ground-truth file (latent biomarkers and true hazards) for oracle
/// evaluation only — sites never read it.
///
/// Outcomes (codes `DEATH`, `PE`, `PH`) and image-related diagnoses recorded after the scan (nodule,
/// lung cancer, emphysema, COPD, cardiomegaly, heart failure) are exponential event times whose
/// hazards rise with lesion size, emphysema, heart size and age, so a model that sees the image can
/// rank patients' risk. Body habitus, lung size and position vary without carrying risk. Sites differ
/// in scanner noise, HU calibration, slice thickness, population mix and size.
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

    public static let outcomeCodes = ["DEATH", "PE", "PH"]
    /// Diagnoses whose timing after the scan depends on what the image shows.
    public static let findingCodes = ["ICD10/R91.1", "ICD10/C34", "ICD10/J43", "ICD10/J44", "ICD10/I51.7", "ICD10/I50"]

    public init(patientsPerSite: [Int], volumeSize: Int, seed: UInt64, dicom: Bool = false) {
        self.patientsPerSite = patientsPerSite
        self.volumeSize = volumeSize
        self.seed = seed
        self.dicom = dicom
    }

    public static func siteName(_ index: Int) -> String { "site-\(index + 1)" }

    /// Writes every site's folder (`<out>/site-N`) and `<out>/ground_truth.csv`.
    public func write(to directory: URL) throws {
        guard !patientsPerSite.isEmpty, patientsPerSite.allSatisfy({ $0 >= 4 }) else {
            throw FedCTError(.invalidConfiguration, "synthetic data needs at least one site and at least 4 patients per site")
        }
        guard (16...512).contains(volumeSize) else {
            throw FedCTError(.invalidConfiguration, "volume size \(volumeSize) must be between 16 and 512")
        }
        var truth = "site,subject_id,lesion,emphysema,heart,age,sex,hazard_death,hazard_pe,hazard_ph\n"
        for (site, patients) in patientsPerSite.enumerated() {
            truth += try writeSite(site, patients: patients, into: directory.appending(path: Self.siteName(site)))
        }
        try Data(truth.utf8).write(to: directory.appending(path: "ground_truth.csv"))
    }

    private func scanner(site: Int) -> ScannerProfile {
        let noise = [12.0, 22.0, 30.0, 16.0, 26.0]
        let offset = [0.0, 15.0, -12.0, 8.0, -5.0]
        let thickness = [1.25, 2.5, 2.0, 1.0, 3.0]
        return ScannerProfile(noiseHU: noise[site % 5], offsetHU: offset[site % 5], sliceThickness: thickness[site % 5], pixelSpacing: 0.75)
    }

    private func writeSite(_ site: Int, patients: Int, into folder: URL) throws -> String {
        let manager = FileManager.default
        try manager.createDirectory(at: folder.appending(path: "scans"), withIntermediateDirectories: true)
        var random = SeededGenerator(seed: seed, stream: "site-\(site)")
        let scannerProfile = scanner(site: site)
        // Population mix: sites differ in age and emphysema prevalence.
        let ageShift = Double(site % 3) * 4 - 4
        let emphysemaShift = Double((site + 1) % 3) * 0.1

        var cohort = "scan_id,subject_id,image_path,index_time,split\n"
        var events = "subject_id,time,code,numeric_value\n"
        var truth = ""
        let heldout = max(1, Int((Double(patients) * heldoutFraction).rounded()))
        let vocabulary = Self.backgroundVocabulary
        for patient in 0..<patients {
            let subject = "s\(site + 1)-\(String(format: "%05d", patient))"
            let age = min(max(65 + ageShift + 10 * random.normal(), 35), 92)
            let sex = random.uniform() < 0.5 ? "F" : "M"
            let markers = ChestBiomarkers(
                lesion: random.uniform() < 0.35 ? 0 : pow(random.uniform(), 0.8),
                emphysema: min(max(pow(random.uniform(), 1.5) + emphysemaShift, 0), 1),
                heart: min(max(1 + 0.13 * random.normal(), 0.75), 1.4))
            let heartZ = (markers.heart - 1) / 0.13
            let ageTerm = 0.03 * (age - 65)
            let hazards = [
                0.05 * exp(2.4 * markers.lesion + 1.0 * markers.emphysema + 0.5 * heartZ + ageTerm),
                0.04 * exp(2.0 * markers.lesion + 0.4 * heartZ),
                0.03 * exp(1.6 * markers.emphysema + 1.0 * heartZ + 0.5 * ageTerm),
            ]
            let findingHazards = [
                markers.lesion > 0 ? 0.25 * exp(2.5 * markers.lesion) : 0.01,
                0.01 * exp(3.5 * markers.lesion),
                0.04 * exp(3.0 * markers.emphysema),
                0.05 * exp(2.0 * markers.emphysema + 0.3 * ageTerm),
                0.03 * exp(1.5 * heartZ),
                0.03 * exp(1.2 * heartZ + 0.5 * ageTerm),
            ]
            let volume = ChestPhantom.render(size: volumeSize, biomarkers: markers, habitus: ChestHabitus.draw(&random),
                                             scanner: scannerProfile, random: &random)
            let niftiName = "scans/\(subject).nii.gz"
            try volume.writeNIfTI(path: folder.appending(path: niftiName).path)
            var imageName = niftiName
            if dicom {
                imageName = "dicom/\(subject)"
                // A separate stream, so the NIfTI data and the events are the same with or without DICOM.
                var uids = SeededGenerator(seed: seed, stream: "dicom-\(subject)")
                try volume.writeDICOMSeries(folder: folder.appending(path: imageName).path, studyInstanceUID: Self.uid(&uids),
                                            seriesInstanceUID: Self.uid(&uids), patientID: subject)
            }

            let indexDay = EventTime.days("2015-01-01")! + floor(random.uniform() * 5 * 365)
            let censorYears = 0.5 + 4.5 * random.uniform()
            let outcomeYears = hazards.map { random.exponential(rate: $0) }
            let findingYears = findingHazards.map { random.exponential(rate: $0) }
            let endYears = min(censorYears, outcomeYears[0])
            let split = patient < patients - heldout ? "train" : "heldout"
            cohort += "\(subject)-ct,\(subject),\(imageName),\(EventTime.iso8601(days: indexDay + 0.4)),\(split)\n"

            events += "\(subject),\(EventTime.iso8601(days: indexDay - age * 365.25)),MEDS_BIRTH,\n"
            events += "\(subject),,SEX/\(sex),\n"
            // Background history and follow-up: visits with diagnoses and labs, unrelated to outcomes.
            var day = indexDay - 3 * 365
            while true {
                day += random.exponential(rate: 5) * 365.25
                if day > indexDay + endYears * 365.25 { break }
                events += "\(subject),\(EventTime.iso8601(days: day)),VISIT/OUTPATIENT,\n"
                for _ in 0..<(1 + Int(random.uniform() * 3)) {
                    let code = vocabulary[Int(random.uniform() * Double(vocabulary.count))]
                    let value = code.hasPrefix("LAB/") ? String(format: "%.2f", 50 + 20 * random.normal()) : ""
                    events += "\(subject),\(EventTime.iso8601(days: day)),\(code),\(value)\n"
                }
            }
            for (code, years) in zip(Self.outcomeCodes + Self.findingCodes, outcomeYears + findingYears) where years <= endYears {
                events += "\(subject),\(EventTime.iso8601(days: indexDay + years * 365.25)),\(code),\n"
            }
            // The record ends at death or at the last contact before censoring.
            events += "\(subject),\(EventTime.iso8601(days: indexDay + endYears * 365.25)),VISIT/END_OF_RECORD,\n"
            let hazardText = hazards.map { String(format: "%.6f", $0) }.joined(separator: ",")
            truth += "\(Self.siteName(site)),\(subject),\(markers.lesion),\(markers.emphysema),\(markers.heart),\(String(format: "%.1f", age)),\(sex),\(hazardText)\n"
        }
        try Data(cohort.utf8).write(to: folder.appending(path: SiteDataset.manifestName))
        try Data(events.utf8).write(to: folder.appending(path: SiteDataset.eventsName))
        return truth
    }

    /// A UID under the 2.25 root (an integer below 2¹²⁸, as UUID-derived UIDs are), drawn from `random`.
    static func uid(_ random: inout SeededGenerator) -> String {
        "2.25.\(UInt128(random.next()) << 64 | UInt128(random.next()))"
    }

    /// Background codes: diagnoses and labs with no link to the outcomes.
    static let backgroundVocabulary: [String] =
        (0..<120).map { "ICD10/J\(String(format: "%02d", $0 % 100)).\($0 / 100)" }
        + (0..<60).map { "ICD10/I\(String(format: "%02d", $0))" }
        + (0..<40).map { "LAB/\(1000 + $0 * 7)" }
}
