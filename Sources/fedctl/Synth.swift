// fedctl synth: writes a deterministic synthetic multi-site CT + EHR data set with ground truth.
import ArgumentParser
import FedCTData
import Foundation

struct Synth: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate synthetic multi-site CT volumes, MEDS events, reports, clinical features and cohorts, with ground truth.")

    @Option(name: .long, help: "Number of sites.")
    var sites = 3

    @Option(name: .long, help: "Patients per site, comma-separated (one value applies to all sites).")
    var patients = "60"

    @Option(name: .long, help: "Voxels per side of each volume.")
    var size = 32

    @Option(name: .long, help: "Random seed.")
    var seed: UInt64 = 7

    @Option(name: .long, help: "Share of each site's patients in the held-out split (the rest train).")
    var heldoutFraction = 0.25

    @Option(name: .long, help: "Most CT series per study (1–8): above 1 each study holds 1…N series (plain, contrast, lung kernel, soft tissue, now and then a low-resolution localizer), listed under one study_id with one report.")
    var seriesPerStudy = 1

    @Option(name: .long, help: "Output folder.")
    var out: String

    @Flag(name: .long, help: "Also write each volume as a DICOM CT series folder (site-N/dicom/<subject>/) and point the cohort manifests at them.")
    var dicom = false

    @Flag(name: .long, help: "Benchmark baseline: write one rendered volume per site as every patient's NIfTI file, and nothing else.")
    var volumesOnly = false

    @Flag(name: .long, help: "Print JSON (sites, patients per site, volume size, seed, output folder, seconds).")
    var json = false

    func run() throws {
        let counts = patients.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !counts.isEmpty, counts.count == 1 || counts.count == sites else {
            throw ValidationError("--patients needs one count or one per site (\(sites)); got '\(patients)'")
        }
        let perSite = counts.count == 1 ? Array(repeating: counts[0], count: sites) : counts
        let started = Date()
        guard heldoutFraction > 0, heldoutFraction < 1 else { throw ValidationError("--heldout-fraction must lie in (0, 1)") }
        var consortium = SyntheticConsortium(patientsPerSite: perSite, volumeSize: size, seed: seed, dicom: dicom)
        consortium.heldoutFraction = heldoutFraction
        consortium.maxSeriesPerStudy = seriesPerStudy
        if volumesOnly {
            try consortium.writeVolumesOnly(to: URL(fileURLWithPath: out))
        } else {
            try consortium.write(to: URL(fileURLWithPath: out))
        }
        if json {
            return try JSONOutput.print(["sites": sites, "patients_per_site": perSite, "volume_size": size, "seed": NSNumber(value: seed), "dicom": dicom,
                                         "series_per_study": seriesPerStudy, "out": out, "seconds": Date().timeIntervalSince(started)])
        }
        print("wrote \(perSite.reduce(0, +)) patients across \(sites) sites (\(size)³ volumes\(dicom ? ", NIfTI and DICOM series" : "")) to \(out) in \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
    }
}
