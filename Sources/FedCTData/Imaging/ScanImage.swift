// ScanImage: one CT scan from a NIfTI file, a DICOM file or a DICOM series folder, the reader chosen by the path.
import FedCTCore
import Foundation

/// A scan as decoded (before preprocessing), with the geometry its file states.
///
/// `ScanImage.read(path:)` is the one place that picks an image reader: a folder is a DICOM series
/// (`DICOMSeries.read(folder:)`), a `.dcm` file (or any file with the DICOM preamble) is one DICOM file,
/// `.nii` / `.nii.gz` is NIfTI (niftilib); `scan.nii.gz#1` is volume 1 of a 4D NIfTI file.
public struct ScanImage: Sendable {
    /// Which reader a path goes to.
    public enum Format: String, Sendable, CaseIterable {
        /// A NIfTI-1 or NIfTI-2 file (`.nii`, `.nii.gz`).
        case nifti
        /// One DICOM file: a single slice or an enhanced multi-frame volume.
        case dicomFile = "dicom-file"
        /// A folder holding one DICOM series.
        case dicomSeries = "dicom-series"
    }

    /// The reader that decoded the scan.
    public var format: Format
    /// Voxels in HU, x fastest, with spacing in mm.
    public var volume: Volume
    /// Voxel (i, j, k, 1) to patient millimetres in RAS+, row-major 4×4 (NIfTI: nibabel's choice of sform, qform or base affine).
    public var voxelToPatient: [Double]
    /// DICOM Modality (0008,0060); nil for NIfTI, which does not record it.
    public var modality: String?
    /// DICOM SeriesInstanceUID; nil for NIfTI.
    public var seriesInstanceUID: String?

    /// The direction each voxel axis (i, j, k) points to, as nibabel's `aff2axcodes` names it: for each column of
    /// the affine, the patient axis it runs most along, R/L, A/P or S/I (e.g. "RAS", "LPS"); "?" for a zero column.
    public var orientationCode: String {
        let letters: [(positive: Character, negative: Character)] = [("R", "L"), ("A", "P"), ("S", "I")]
        return String((0..<3).map { column -> Character in
            let axis = (0..<3).map { voxelToPatient[$0 * 4 + column] }
            guard let dominant = axis.indices.max(by: { abs(axis[$0]) < abs(axis[$1]) }), axis[dominant] != 0 else { return "?" }
            return axis[dominant] > 0 ? letters[dominant].positive : letters[dominant].negative
        })
    }

    /// The reader for `path`. Throws `FedCTError` (`.notFound`, `.invalidData`) naming the path and the formats
    /// that are read.
    public static func format(of path: String) throws -> Format {
        if let volume = niftiVolume(path), FileManager.default.fileExists(atPath: volume.file) { return .nifti }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw FedCTError(.notFound, "\(path): no such file or folder; give a NIfTI file, a DICOM file or a DICOM series folder")
        }
        if isDirectory.boolValue { return .dicomSeries }
        let name = path.lowercased()
        if name.hasSuffix(".nii") || name.hasSuffix(".nii.gz") { return .nifti }
        if name.hasSuffix(".dcm") || hasDICOMPreamble(path) { return .dicomFile }
        throw FedCTError(.invalidData, "\(path): is neither NIfTI (.nii, .nii.gz) nor DICOM (.dcm or a file with the DICM preamble); convert it, rename it, or give the folder of its DICOM series")
    }

    /// Reads the scan at `path` with the reader `format(of:)` picks. Non-CT DICOM is refused unless `allowNonCT`.
    public static func read(path: String, allowNonCT: Bool = false) throws -> ScanImage {
        switch try format(of: path) {
        case .nifti:
            let chosen = niftiVolume(path)
            let (volume, affine) = try Volume.readNIfTIWithAffine(path: chosen?.file ?? path, volumeIndex: chosen?.index)
            return ScanImage(format: .nifti, volume: volume, voxelToPatient: affine, modality: nil, seriesInstanceUID: nil)
        case .dicomFile:
            return ScanImage(.dicomFile, try DICOMSeries.read(files: [path], allowNonCT: allowNonCT))
        case .dicomSeries:
            return ScanImage(.dicomSeries, try DICOMSeries.read(folder: path, allowNonCT: allowNonCT))
        }
    }

    private init(_ format: Format, _ dicom: DICOMVolume) {
        self.init(format: format, volume: dicom.volume, voxelToPatient: dicom.voxelToPatient,
                  modality: dicom.modality, seriesInstanceUID: dicom.seriesInstanceUID)
    }

    private init(format: Format, volume: Volume, voxelToPatient: [Double], modality: String?, seriesInstanceUID: String?) {
        self.format = format
        self.volume = volume
        self.voxelToPatient = voxelToPatient
        self.modality = modality
        self.seriesInstanceUID = seriesInstanceUID
    }

    /// A NIfTI path ending in `#<volume index>` (`scan.nii.gz#1`), split into the file and the index; nil otherwise.
    private static func niftiVolume(_ path: String) -> (file: String, index: Int)? {
        guard let hash = path.lastIndex(of: "#"), let index = Int(path[path.index(after: hash)...]), index >= 0 else { return nil }
        let file = String(path[..<hash])
        let name = file.lowercased()
        return name.hasSuffix(".nii") || name.hasSuffix(".nii.gz") ? (file, index) : nil
    }

    /// True when the file has "DICM" at byte 128 (DICOM Part 10), as PACS exports without extensions do.
    private static func hasDICOMPreamble(_ path: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        guard let bytes = try? handle.read(upToCount: 132), bytes.count == 132 else { return false }
        return bytes.suffix(4).elementsEqual("DICM".utf8)
    }
}
