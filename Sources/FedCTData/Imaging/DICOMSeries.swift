// DICOMSeries: a CT volume from a folder of DICOM files — grouped by series, ordered along the slice normal, checked for gaps.
import Dispatch
import FedCTCore
import Foundation

/// A CT volume assembled from DICOM, with the geometry the files state.
public struct DICOMVolume: Sendable {
    /// Voxels in HU, x (column index) fastest, then y (row index), then k (slices in ascending order along the
    /// slice normal). Spacing: x = PixelSpacing column spacing, y = row spacing, z = distance between slice planes.
    public var volume: Volume
    /// Voxel (i, j, k, 1) to patient millimetres in RAS+ (NIfTI's convention, as `fct_nifti_volume.affine`):
    /// a row-major 4×4. DICOM's LPS coordinates are turned into RAS by negating x and y.
    public var voxelToPatient: [Double]
    /// SeriesInstanceUID (0020,000E) of the slices.
    public var seriesInstanceUID: String
    /// Modality (0008,0060) of the slices.
    public var modality: String
    /// SliceThickness (0018,0050) of the first slice, when stated.
    public var sliceThickness: Double?
    /// The file behind each slice, in k order (a multi-frame file appears once per frame).
    public var slicePaths: [String]
    /// DICOM files of the folder that are not images (reports, presentation states) and were left out.
    public var skippedPaths: [String]

    /// Patient millimetres (RAS+) to voxel indices: the inverse of `voxelToPatient`, row-major 4×4.
    public var patientToVoxel: [Double] {
        let m = voxelToPatient
        let (a, b, c, d, e, f, g, h, i) = (m[0], m[1], m[2], m[4], m[5], m[6], m[8], m[9], m[10])
        let determinant = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g)
        let inverse = [(e * i - f * h), -(b * i - c * h), (b * f - c * e),
                       -(d * i - f * g), (a * i - c * g), -(a * f - c * d),
                       (d * h - e * g), -(a * h - b * g), (a * e - b * d)].map { $0 / determinant }
        let t = (m[3], m[7], m[11])
        var result = [Double](repeating: 0, count: 16)
        for row in 0..<3 {
            result[row * 4] = inverse[row * 3]
            result[row * 4 + 1] = inverse[row * 3 + 1]
            result[row * 4 + 2] = inverse[row * 3 + 2]
            result[row * 4 + 3] = -(inverse[row * 3] * t.0 + inverse[row * 3 + 1] * t.1 + inverse[row * 3 + 2] * t.2)
        }
        result[15] = 1
        return result
    }
}

/// One series found in a folder.
public struct DICOMSeriesSummary: Sendable, Equatable {
    public var seriesInstanceUID: String
    public var modality: String
    /// Image files in the series.
    public var fileCount: Int
    /// The first of its files, by path.
    public var firstPath: String
}

/// Reads DICOM series folders into `DICOMVolume`s.
///
/// Rules: every regular file under the folder (recursively; names starting with "." and DICOMDIR are ignored) must
/// be readable DICOM; files that are DICOM but not images are skipped. Images are grouped by SeriesInstanceUID and a
/// folder with several series is refused unless one is chosen. Slices (frames of enhanced multi-frame files
/// included) are sorted along the slice normal, the cross product of ImageOrientationPatient's row and column
/// directions, by the dot product of ImagePositionPatient with it; InstanceNumber is not used. All slices must
/// share rows, columns, PixelSpacing and orientation. Gaps between neighbouring slices larger than 1.5× the
/// median gap are missing slices; gaps that differ from the median by more than `spacingTolerance` (relative) or
/// two slices at one position are refused. Modalities other than CT are refused unless allowed.
public enum DICOMSeries {
    /// The largest relative difference between a slice gap and the series' median gap that is accepted.
    public static let spacingTolerance = 0.05
    /// A gap larger than this many median gaps is reported as missing slices.
    public static let missingSliceFactor = 1.5

    /// The series in `folder`, ordered by SeriesInstanceUID.
    public static func list(folder: String) throws -> [DICOMSeriesSummary] {
        let (images, _) = try headers(of: files(in: folder))
        return summaries(of: images)
    }

    /// Reads the series in `folder`; `seriesInstanceUID` chooses one when the folder holds several.
    /// Throws `FedCTError` naming the folder or file and saying what to do.
    public static func read(folder: String, seriesInstanceUID: String? = nil, allowNonCT: Bool = false) throws -> DICOMVolume {
        let (images, skipped) = try headers(of: files(in: folder))
        guard !images.isEmpty else {
            throw FedCTError(.invalidData, "\(folder): holds no DICOM images (only \(skipped.count) non-image DICOM files); point the manifest at a CT series folder")
        }
        let series = Dictionary(grouping: images, by: \.seriesInstanceUID)
        let chosen: [DICOMFile]
        if let seriesInstanceUID {
            guard let files = series[seriesInstanceUID] else {
                throw FedCTError(.notFound, "\(folder): has no series \(seriesInstanceUID); it holds \(describe(summaries(of: images)))")
            }
            chosen = files
        } else if series.count > 1 {
            throw FedCTError(.invalidData, "\(folder): holds \(series.count) series: \(describe(summaries(of: images))); choose one by its SeriesInstanceUID or put each series in its own folder")
        } else {
            chosen = images
        }
        return try assemble(chosen, allowNonCT: allowNonCT, skipped: skipped, context: folder)
    }

    /// Reads the given files as one series (a single file is a one-slice or multi-frame volume).
    public static func read(files paths: [String], allowNonCT: Bool = false) throws -> DICOMVolume {
        guard let first = paths.first else { throw FedCTError(.failedPrecondition, "no DICOM files given") }
        let images = try paths.map { try DICOMFile(path: $0, readPixels: false) }
        if let other = images.first(where: { $0.seriesInstanceUID != images[0].seriesInstanceUID }) {
            throw FedCTError(.invalidData, "\(other.path): belongs to series \(other.seriesInstanceUID), not \(images[0].seriesInstanceUID) as \(first) does; read one series at a time")
        }
        return try assemble(images, allowNonCT: allowNonCT, skipped: [], context: first)
    }

    // MARK: Folder scan

    private static func files(in folder: String) throws -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw FedCTError(.notFound, "\(folder): no such folder; the manifest should name a folder holding one DICOM series")
        }
        let root = URL(fileURLWithPath: folder)
        guard let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey],
                                                          options: [.skipsHiddenFiles]) else {
            throw FedCTError(.io, "\(folder): cannot be listed (permissions?)")
        }
        var paths: [String] = []
        for case let url as URL in walker {
            guard (try? url.resourceValues(forKeys: [.isRegularFileKey]))?.isRegularFile == true,
                  url.lastPathComponent.uppercased() != "DICOMDIR" else { continue }
            paths.append(url.path)
        }
        guard !paths.isEmpty else {
            throw FedCTError(.invalidData, "\(folder): is empty; copy the DICOM series into it")
        }
        return paths.sorted()
    }

    private static func headers(of paths: [String]) throws -> (images: [DICOMFile], skipped: [String]) {
        var images: [DICOMFile] = []
        var skipped: [String] = []
        for path in paths {
            do {
                images.append(try DICOMFile(path: path, readPixels: false))
            } catch let error where DICOMFile.isNotAnImage(error) {
                skipped.append(path)
            }
        }
        return (images, skipped)
    }

    private static func summaries(of images: [DICOMFile]) -> [DICOMSeriesSummary] {
        Dictionary(grouping: images, by: \.seriesInstanceUID).map { uid, files in
            DICOMSeriesSummary(seriesInstanceUID: uid, modality: files[0].modality, fileCount: files.count,
                               firstPath: files.map(\.path).min() ?? "")
        }.sorted { $0.seriesInstanceUID < $1.seriesInstanceUID }
    }

    private static func describe(_ summaries: [DICOMSeriesSummary]) -> String {
        summaries.map { "\($0.seriesInstanceUID.isEmpty ? "(no SeriesInstanceUID)" : $0.seriesInstanceUID) (\($0.modality), \($0.fileCount) files, e.g. \($0.firstPath))" }
            .joined(separator: ", ")
    }

    // MARK: Assembly

    /// One frame of one file, placed along the slice normal.
    private struct Slice {
        var file: Int
        var frame: Int
        var position: SIMD3<Double>
        var distance: Double
        var label: String
    }

    private static func assemble(_ images: [DICOMFile], allowNonCT: Bool, skipped: [String], context: String) throws -> DICOMVolume {
        let images = images.sorted { $0.path < $1.path }
        let reference = images[0]
        if !allowNonCT, let other = images.first(where: { $0.modality.uppercased() != "CT" }) {
            let modality = other.modality.isEmpty ? "missing" : "'\(other.modality)'"
            throw FedCTError(.invalidData, "\(other.path): Modality is \(modality), not CT; FedCT trains on CT, so remove this series from the manifest (or allow non-CT input explicitly)")
        }
        guard let orientation = reference.orientation else {
            throw FedCTError(.invalidData, "\(reference.path): has no ImageOrientationPatient (0020,0037), so the slice direction is unknown; export the series with its geometry")
        }
        for image in images {
            if image.rows != reference.rows || image.columns != reference.columns {
                throw FedCTError(.invalidData, "\(image.path): is \(image.rows)×\(image.columns) but \(reference.path) is \(reference.rows)×\(reference.columns); one series must have one image size — re-export it")
            }
            if !close(image.pixelSpacing.row, reference.pixelSpacing.row) || !close(image.pixelSpacing.column, reference.pixelSpacing.column) {
                throw FedCTError(.invalidData, "\(image.path): PixelSpacing \(image.pixelSpacing.row)\\\(image.pixelSpacing.column) differs from \(reference.path)'s \(reference.pixelSpacing.row)\\\(reference.pixelSpacing.column); one series must have one pixel spacing — re-export it")
            }
            guard let other = image.orientation, closeVectors(other.row, orientation.row), closeVectors(other.column, orientation.column) else {
                throw FedCTError(.invalidData, "\(image.path): ImageOrientationPatient differs from \(reference.path)'s; FedCT reads only parallel slices — re-export or reformat the series")
            }
            if image.framePositions == nil {
                throw FedCTError(.invalidData, "\(image.path): has no ImagePositionPatient (0020,0032), so the slice cannot be placed; export the series with its geometry")
            }
        }

        let product = cross(orientation.row, orientation.column)
        guard dot(product, product) > 0.5 else {
            throw FedCTError(.invalidData, "\(reference.path): ImageOrientationPatient is not two perpendicular unit vectors; the file's geometry is damaged — re-export it")
        }
        let normal = product / dot(product, product).squareRoot()
        var slices: [Slice] = []
        for (index, image) in images.enumerated() {
            for (frame, position) in (image.framePositions ?? []).enumerated() {
                let label = image.frames > 1 ? "\(image.path) frame \(frame + 1)" : image.path
                slices.append(Slice(file: index, frame: frame, position: position, distance: dot(position, normal), label: label))
            }
        }
        slices.sort { ($0.distance, $0.label) < ($1.distance, $1.label) }
        let spacingZ = try checkSpacing(slices, fallback: reference.sliceThickness ?? 1)

        let width = reference.columns, height = reference.rows, plane = width * height
        var voxels = [Float](repeating: 0, count: plane * slices.count)
        var slots = [[Int]](repeating: [], count: images.count)
        for file in images.indices { slots[file] = [Int](repeating: 0, count: images[file].frames) }
        for (k, slice) in slices.enumerated() { slots[slice.file][slice.frame] = k }
        let slotsOfFile = slots, paths = images.map(\.path)
        var failures = [FedCTError?](repeating: nil, count: images.count)
        voxels.withUnsafeMutableBufferPointer { output in
            failures.withUnsafeMutableBufferPointer { failures in
                let voxelSlots = DisjointWrites(base: output.baseAddress!), failureSlots = DisjointWrites(base: failures.baseAddress!)
                DispatchQueue.concurrentPerform(iterations: paths.count) { index in
                    do {
                        let file = try DICOMFile(path: paths[index])
                        guard file.rows == height, file.columns == width, file.frames == slotsOfFile[index].count else {
                            throw FedCTError(.invalidData, "\(file.path): changed while the series was read; read it again")
                        }
                        let pixels = try file.huPixels()
                        for (frame, k) in slotsOfFile[index].enumerated() {
                            pixels.withUnsafeBufferPointer { source in
                                (voxelSlots.base + k * plane).update(from: source.baseAddress! + frame * plane, count: plane)
                            }
                        }
                    } catch {
                        (failureSlots.base + index).pointee = (error as? FedCTError) ?? FedCTError(.io, "\(paths[index]): \(error)")
                    }
                }
            }
        }
        if let failure = failures.compactMap({ $0 }).first { throw failure }

        let first = slices[0].position
        let step = slices.count > 1 ? (slices[slices.count - 1].position - first) / Double(slices.count - 1) : normal * spacingZ
        let columnAxis = orientation.row * reference.pixelSpacing.column
        let rowAxis = orientation.column * reference.pixelSpacing.row
        let lpsToRAS = SIMD3<Double>(-1, -1, 1)
        let (x, y, z, t) = (columnAxis * lpsToRAS, rowAxis * lpsToRAS, step * lpsToRAS, first * lpsToRAS)
        let affine = [x.x, y.x, z.x, t.x,
                      x.y, y.y, z.y, t.y,
                      x.z, y.z, z.z, t.z,
                      0, 0, 0, 1]
        let volume = Volume(width: width, height: height, depth: slices.count,
                            spacing: (reference.pixelSpacing.column, reference.pixelSpacing.row, spacingZ), voxels: voxels)
        return DICOMVolume(volume: volume, voxelToPatient: affine, seriesInstanceUID: reference.seriesInstanceUID,
                           modality: reference.modality, sliceThickness: reference.sliceThickness,
                           slicePaths: slices.map { images[$0.file].path }, skippedPaths: skipped)
    }

    /// The distance between slice planes; throws on duplicates, missing slices and uneven spacing.
    private static func checkSpacing(_ slices: [Slice], fallback: Double) throws -> Double {
        guard slices.count > 1 else { return fallback }
        let gaps = zip(slices, slices.dropFirst()).map { $1.distance - $0.distance }
        let sorted = gaps.sorted()
        let median = sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
        func place(_ slice: Slice) -> String {
            let p = slice.position
            return "\(slice.label) (ImagePositionPatient \(format(p.x))\\\(format(p.y))\\\(format(p.z)), \(format(slice.distance)) mm along the slice normal)"
        }
        for (index, gap) in gaps.enumerated() where gap < 1e-3 {
            throw FedCTError(.invalidData, "\(place(slices[index + 1])) is at the same position as \(place(slices[index])); the folder holds duplicate slices or two acquisitions under one SeriesInstanceUID — remove the extra files")
        }
        for (index, gap) in gaps.enumerated() where gap > missingSliceFactor * median {
            let missing = Int((gap / median).rounded()) - 1
            throw FedCTError(.invalidData, "slices missing between \(place(slices[index])) and \(place(slices[index + 1])): a gap of \(format(gap)) mm where the series' spacing is \(format(median)) mm (about \(missing) slice\(missing == 1 ? "" : "s") missing); copy the complete series again from the PACS")
        }
        for (index, gap) in gaps.enumerated() where abs(gap - median) > spacingTolerance * median {
            throw FedCTError(.invalidData, "inconsistent slice spacing: \(format(gap)) mm between \(place(slices[index])) and \(place(slices[index + 1])) where the series' median spacing is \(format(median)) mm (tolerance \(Int(spacingTolerance * 100)) %); FedCT needs evenly spaced slices — re-export the series with one spacing or resample it first")
        }
        return (slices[slices.count - 1].distance - slices[0].distance) / Double(slices.count - 1)
    }

    /// A buffer written from several threads at once, each at its own indices (a file's slices, its failure
    /// slot), and read only after all writers have finished; that is why it may be `@unchecked Sendable`.
    private struct DisjointWrites<Element>: @unchecked Sendable {
        let base: UnsafeMutablePointer<Element>
    }

    private static func close(_ a: Double, _ b: Double) -> Bool { abs(a - b) <= 1e-4 * max(abs(a), abs(b), 1) }
    private static func closeVectors(_ a: SIMD3<Double>, _ b: SIMD3<Double>) -> Bool { ((a - b) * (a - b)).sum() < 1e-8 }
    private static func cross(_ a: SIMD3<Double>, _ b: SIMD3<Double>) -> SIMD3<Double> {
        SIMD3(a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x)
    }
    private static func dot(_ a: SIMD3<Double>, _ b: SIMD3<Double>) -> Double { (a * b).sum() }
    private static func format(_ value: Double) -> String { String(format: "%.6g", value) }
}
