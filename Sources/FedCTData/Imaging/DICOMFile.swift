// DICOMFile: one DICOM file read through GDCM (the CDICOMBridge handle), with its geometry and its pixels in HU.
import CDICOMBridge
import FedCTCore

/// One DICOM image file: header facts, per-frame geometry and, when read with pixels, the decoded values.
///
/// Owns a GDCM handle, freed in `deinit`. Any transfer syntax GDCM decodes is accepted (uncompressed, JPEG
/// lossless and lossy, JPEG-LS, JPEG 2000, RLE). Patient coordinates are DICOM's LPS millimetres.
public final class DICOMFile {
    /// The path the file was read from.
    public let path: String
    /// Rows (0028,0010): the image height.
    public let rows: Int
    /// Columns (0028,0011): the image width.
    public let columns: Int
    /// NumberOfFrames (0028,0008); 1 for classic single-frame files.
    public let frames: Int
    /// PixelSpacing (0028,0030) in mm: `row` is the distance between rows, `column` between columns.
    public let pixelSpacing: (row: Double, column: Double)
    /// SliceThickness (0018,0050) in mm, when present and positive.
    public let sliceThickness: Double?
    /// ImageOrientationPatient (0020,0037): the direction of increasing column index, then of increasing row index.
    public let orientation: (row: SIMD3<Double>, column: SIMD3<Double>)?
    /// ImagePositionPatient (0020,0032) of each frame's first pixel (per-frame functional groups for enhanced
    /// multi-frame files); nil when any frame has none.
    public let framePositions: [SIMD3<Double>]?
    /// RescaleSlope and RescaleIntercept of each frame (1 and 0 when absent): HU = stored × slope + intercept.
    public let frameRescale: [(slope: Double, intercept: Double)]
    /// InstanceNumber (0020,0013), when present. Reported only; slices are ordered by position.
    public let instanceNumber: Int?
    /// Modality (0008,0060), e.g. "CT"; "" when absent.
    public let modality: String
    /// SeriesInstanceUID (0020,000E); "" when absent.
    public let seriesInstanceUID: String
    /// SOPInstanceUID (0008,0018); "" when absent.
    public let sopInstanceUID: String
    /// StudyInstanceUID (0020,000D); "" when absent.
    public let studyInstanceUID: String
    /// The transfer syntax of the dataset, e.g. 1.2.840.10008.1.2.4.90 for JPEG 2000 lossless.
    public let transferSyntaxUID: String
    /// BitsAllocated, BitsStored and PixelRepresentation (0 unsigned, 1 signed) as the header states them.
    public let bitsAllocated: Int, bitsStored: Int, pixelRepresentation: Int
    /// True for an enhanced multi-frame object (geometry from functional groups).
    public let isEnhancedMultiFrame: Bool
    /// True when the file was read with its pixel data, so `huPixels()` works.
    public let hasPixels: Bool

    private let handle: OpaquePointer

    /// Reads the file at `path`; with `readPixels` false only the header is parsed (fast, for grouping a folder).
    ///
    /// Throws `FedCTError` naming the file: `.notFound`, `.invalidData` (truncated, damaged, not DICOM, or
    /// unsupported pixels), or `DICOMFile.notAnImage` for readable DICOM without Rows/Columns.
    public init(path: String, readPixels: Bool = true) throws {
        var raw: OpaquePointer?
        var message: UnsafeMutablePointer<CChar>?
        let status = fct_dicom_image_read(path, readPixels ? 1 : 0, &raw, &message)
        guard status == Int32(FCT_DICOM_OK), let raw else { throw DICOMFile.error(status, message) }
        handle = raw
        self.path = path
        hasPixels = readPixels

        var info = fct_dicom_info()
        fct_dicom_image_info(raw, &info)
        rows = Int(info.rows)
        columns = Int(info.columns)
        frames = Int(info.frames)
        pixelSpacing = (info.pixel_spacing.0, info.pixel_spacing.1)
        sliceThickness = info.slice_thickness > 0 ? info.slice_thickness : nil
        let o = info.orientation
        orientation = info.has_orientation != 0 ? (SIMD3(o.0, o.1, o.2), SIMD3(o.3, o.4, o.5)) : nil
        instanceNumber = info.has_instance_number != 0 ? Int(info.instance_number) : nil
        bitsAllocated = Int(info.bits_allocated)
        bitsStored = Int(info.bits_stored)
        pixelRepresentation = Int(info.pixel_representation)
        isEnhancedMultiFrame = info.enhanced != 0
        modality = String(cString: fct_dicom_image_modality(raw))
        seriesInstanceUID = String(cString: fct_dicom_image_series_instance_uid(raw))
        sopInstanceUID = String(cString: fct_dicom_image_sop_instance_uid(raw))
        studyInstanceUID = String(cString: fct_dicom_image_study_instance_uid(raw))
        transferSyntaxUID = String(cString: fct_dicom_image_transfer_syntax_uid(raw))

        var positions: [SIMD3<Double>] = []
        var rescale: [(slope: Double, intercept: Double)] = []
        for frame in 0..<Int32(info.frames) {
            var position: (Double, Double, Double) = (0, 0, 0)
            var slope = 1.0, intercept = 0.0
            let frameStatus = withUnsafeMutableBytes(of: &position) { bytes in
                fct_dicom_image_frame(raw, frame, bytes.baseAddress!.assumingMemoryBound(to: Double.self), &slope, &intercept, &message)
            }
            guard frameStatus == Int32(FCT_DICOM_OK) else {
                fct_dicom_image_free(raw)
                throw DICOMFile.error(frameStatus, message)
            }
            positions.append(SIMD3(position.0, position.1, position.2))
            rescale.append((slope, intercept))
        }
        framePositions = info.has_positions != 0 ? positions : nil
        frameRescale = rescale
    }

    deinit { fct_dicom_image_free(handle) }

    /// The decoded pixels of every frame as Float HU (rescale applied), `rows × columns` per frame, column index
    /// fastest, frames in file order. Needs a file read with pixels.
    public func huPixels() throws -> [Float] {
        try [Float](unsafeUninitializedCapacity: rows * columns * frames) { buffer, initialised in
            try decodeHU(into: buffer)
            initialised = buffer.count
        }
    }

    /// Writes the decoded HU of every frame into `target` (exactly `rows × columns × frames` floats).
    func decodeHU(into target: UnsafeMutableBufferPointer<Float>) throws {
        var message: UnsafeMutablePointer<CChar>?
        let status = fct_dicom_image_hu(handle, target.baseAddress, Int64(target.count), &message)
        guard status == Int32(FCT_DICOM_OK) else { throw DICOMFile.error(status, message) }
    }

    /// Walks the file's DICOM element structure without GDCM (the check every read runs before GDCM sees the file):
    /// throws `FedCTError` `.invalidData` naming the byte where a declared length runs past the end or a header is
    /// damaged, `.notFound` without the file.
    public static func checkStructure(path: String) throws {
        var message: UnsafeMutablePointer<CChar>?
        let status = fct_dicom_check_structure(path, &message)
        guard status == Int32(FCT_DICOM_OK) else { throw error(status, message) }
    }

    /// True when `error` says a readable DICOM file is not an image (a report, presentation state, DICOMDIR).
    public static func isNotAnImage(_ error: any Error) -> Bool {
        (error as? FedCTError)?.code == notAnImage
    }

    /// The error code of readable DICOM files without pixel rows and columns.
    public static let notAnImage = FedCTError.Code("dicom-not-an-image")

    /// Turns a bridge status and its malloc'd message into a `FedCTError` (freeing the message).
    static func error(_ status: Int32, _ message: UnsafeMutablePointer<CChar>?) -> FedCTError {
        let text = message.map { String(cString: $0) } ?? "DICOM bridge error \(status)"
        fct_dicom_free_string(message)
        switch Int(status) {
        case Int(FCT_DICOM_NOT_FOUND): return FedCTError(.notFound, text)
        case Int(FCT_DICOM_UNREADABLE), Int(FCT_DICOM_UNSUPPORTED): return FedCTError(.invalidData, text)
        case Int(FCT_DICOM_NOT_AN_IMAGE): return FedCTError(notAnImage, text)
        case Int(FCT_DICOM_INVALID_ARGUMENT): return FedCTError(.failedPrecondition, text)
        default: return FedCTError(.io, text)
        }
    }
}
