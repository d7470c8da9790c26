// Volume+DICOM: writing a volume as a CT series folder (one DICOM slice per file), for synthetic data and tests.
import FedCTCore
import Foundation

extension Volume {
    /// The RescaleIntercept of written series: stored values are HU + 1024, as CT scanners store them.
    public static let dicomRescaleIntercept = -1024.0

    /// Writes the volume as a CT series in `folder` (created if needed): slice `k` is `slice-NNNN.dcm` (k + 1, four
    /// digits), signed 16-bit stored values `round(HU) + 1024` (clamped to int16) with RescaleSlope 1 and
    /// RescaleIntercept −1024.
    ///
    /// The geometry is the one `writeNIfTI` states, so both files put every voxel at the same place: voxel (i, j, k)
    /// is at RAS (i·Δx, j·Δy, k·Δz) mm, i.e. in DICOM's LPS ImageOrientationPatient is −x (rows) and −y
    /// (columns) and ImagePositionPatient of slice k is (0, 0, k·Δz). SOPInstanceUIDs are `seriesInstanceUID.k+1`,
    /// so given UIDs (and no GDCM-generated ones) the same volume gives the same files. Returns the paths in k order.
    @discardableResult
    public func writeDICOMSeries(folder: String, studyInstanceUID: String, seriesInstanceUID: String, patientID: String,
                                 transferSyntax: DICOMSlice.TransferSyntax = .explicitLittleEndian) throws -> [String] {
        guard seriesInstanceUID.utf8.count + 1 + String(depth).count <= 64 else {
            throw FedCTError(.failedPrecondition, "\(folder): SeriesInstanceUID \(seriesInstanceUID) is too long to derive SOPInstanceUIDs from (DICOM UIDs have at most 64 characters); use a shorter one")
        }
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let plane = width * height
        return try (0..<depth).map { k in
            let stored = voxels[(k * plane)..<((k + 1) * plane)].map { Int16(clamping: Int($0.rounded()) - Int(Self.dicomRescaleIntercept)) }
            var slice = DICOMSlice(rows: height, columns: width, stored: stored, pixelSpacing: (row: spacing.y, column: spacing.x),
                                   sliceThickness: spacing.z, position: SIMD3(0, 0, Double(k) * spacing.z), instanceNumber: k + 1,
                                   studyInstanceUID: studyInstanceUID, seriesInstanceUID: seriesInstanceUID)
            slice.rescaleIntercept = Self.dicomRescaleIntercept
            slice.orientation = (SIMD3(-1, 0, 0), SIMD3(0, -1, 0))
            slice.sopInstanceUID = "\(seriesInstanceUID).\(k + 1)"
            slice.patientID = patientID
            slice.transferSyntax = transferSyntax
            let path = "\(folder)/slice-\(String(format: "%04d", k + 1)).dcm"
            try slice.write(to: path)
            return path
        }
    }
}
