// fedctl data inspect: what a NIfTI file, a DICOM file or a DICOM series folder holds, as decoded (before preprocessing).
import ArgumentParser
import FedCTData
import Foundation

struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data", abstract: "Look at a site's imaging data.", subcommands: [Inspect.self])

    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a scan's shape, spacing, orientation (voxel-to-RAS affine), modality and HU min/max/mean/std as decoded.")

        @Argument(help: "A NIfTI file (.nii, .nii.gz), a DICOM file (.dcm), or a folder holding one DICOM series.")
        var path: String

        @Flag(name: .long, help: "Print JSON.")
        var json = false

        func run() throws {
            // Non-CT input is shown, not refused: the modality is one of the things to inspect.
            let scan = try ScanImage.read(path: path, allowNonCT: true)
            let volume = scan.volume
            let hu = VoxelStatistics(volume.voxels)
            // + 0 turns the −0 of negated LPS axes into 0 for printing.
            let affine = (0..<4).map { row in scan.voxelToPatient[(row * 4)..<(row * 4 + 4)].map { $0 + 0 } }
            if json {
                var object: [String: Any] = [
                    "path": path, "format": scan.format.rawValue,
                    "shape": [volume.width, volume.height, volume.depth],
                    "spacing_mm": [volume.spacing.x, volume.spacing.y, volume.spacing.z],
                    "orientation": scan.orientationCode, "voxel_to_ras": affine,
                    "hu": ["min": hu.minimum, "max": hu.maximum, "mean": hu.mean, "std": hu.standardDeviation],
                ]
                if let modality = scan.modality { object["modality"] = modality }
                if let uid = scan.seriesInstanceUID { object["series_instance_uid"] = uid }
                try JSONOutput.print(object)
                return
            }
            let number = { (value: Double) in String(format: "%.6g", value) }
            print("path         \(path)")
            print("format       \(scan.format.rawValue)")
            print("modality     \(scan.modality.map { $0.isEmpty ? "(none stated)" : $0 } ?? "(not recorded in NIfTI)")")
            if let uid = scan.seriesInstanceUID { print("series UID   \(uid)") }
            print("shape        \(volume.width) × \(volume.height) × \(volume.depth) (x × y × z voxels)")
            print("spacing      \(number(volume.spacing.x)) × \(number(volume.spacing.y)) × \(number(volume.spacing.z)) mm")
            print("orientation  \(scan.orientationCode) (voxel axes i, j, k point to these patient directions)")
            for (index, row) in affine.enumerated() {
                print("\(index == 0 ? "voxel→RAS  " : "           ")  [\(row.map { String(format: "%10.4f", $0) }.joined(separator: " "))]")
            }
            print("HU           min \(number(hu.minimum))  max \(number(hu.maximum))  mean \(number(hu.mean))  std \(number(hu.standardDeviation))")
        }
    }
}
