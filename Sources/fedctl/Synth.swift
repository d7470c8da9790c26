// fedctl synth: writes a deterministic synthetic multi-site CT + EHR data set with ground truth.
import ArgumentParser
import FedCTData
import Foundation

struct Synth: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Generate synthetic multi-site CT volumes, MEDS events and cohorts.")

    @Option(name: .long, help: "Number of sites.")
    var sites = 3

    @Option(name: .long, help: "Patients per site, comma-separated (one value applies to all sites).")
    var patients = "60"

    @Option(name: .long, help: "Voxels per side of each volume.")
    var size = 32

    @Option(name: .long, help: "Random seed.")
    var seed: UInt64 = 7

    @Option(name: .long, help: "Output folder.")
    var out: String

    @Flag(name: .long, help: "Also write each volume as a DICOM CT series folder (site-N/dicom/<subject>/) and point the cohort manifests at them.")
    var dicom = false

    func run() throws {
        let counts = patients.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !counts.isEmpty, counts.count == 1 || counts.count == sites else {
            throw ValidationError("--patients needs one count or one per site (\(sites)); got '\(patients)'")
        }
        let perSite = counts.count == 1 ? Array(repeating: counts[0], count: sites) : counts
        let started = Date()
        try SyntheticConsortium(patientsPerSite: perSite, volumeSize: size, seed: seed, dicom: dicom).write(to: URL(fileURLWithPath: out))
        print("wrote \(perSite.reduce(0, +)) patients across \(sites) sites (\(size)³ volumes\(dicom ? ", NIfTI and DICOM series" : "")) to \(out) in \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
    }
}
