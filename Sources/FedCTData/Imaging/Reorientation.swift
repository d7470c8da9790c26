// Reorientation: permutes and flips a scan's voxel axes to canonical axis codes ("RAS", "LPS"), as nibabel's as_closest_canonical.
import FedCTCore

/// The patient directions the three voxel axes (i, j, k) point to, as nibabel names them: three letters, one from
/// each of R/L, A/P and S/I (e.g. "RAS", "LPS").
public struct AxisCodes: Sendable, Hashable, CustomStringConvertible {
    /// For each voxel axis, the RAS+ patient axis it runs along (0 = R, 1 = A, 2 = S) and whether it runs the
    /// positive way (towards R, A or S).
    public let axes: [(patientAxis: Int, positive: Bool)]

    private static let letters: [(positive: Character, negative: Character)] = [("R", "L"), ("A", "P"), ("S", "I")]

    /// Parses three letters; nil unless each of the pairs R/L, A/P, S/I appears exactly once.
    public init?(_ code: String) {
        let parsed = code.uppercased().compactMap { letter in
            Self.letters.indices.first { Self.letters[$0].positive == letter || Self.letters[$0].negative == letter }
                .map { (patientAxis: $0, positive: Self.letters[$0].positive == letter) }
        }
        guard parsed.count == 3, code.count == 3, Set(parsed.map(\.patientAxis)).count == 3 else { return nil }
        axes = parsed
    }

    /// The codes of a voxel-to-RAS+ affine (row-major 4×4): each voxel axis is given the patient axis it runs most
    /// along, the largest remaining direction cosine first, so an oblique scan still gets three distinct axes.
    public init(affine: [Double]) {
        let cosines = (0..<3).map { column -> [Double] in
            let direction = (0..<3).map { affine[$0 * 4 + column] }
            let length = direction.map { $0 * $0 }.reduce(0, +).squareRoot()
            return length > 0 ? direction.map { $0 / length } : [0, 0, 0]
        }
        var free = (columns: Set(0..<3), rows: Set(0..<3))
        var assigned = [(patientAxis: Int, positive: Bool)](repeating: (0, true), count: 3)
        for _ in 0..<3 {
            var best = (column: 0, row: 0, size: -1.0)
            for column in free.columns { for row in free.rows where abs(cosines[column][row]) > best.size { best = (column, row, abs(cosines[column][row])) } }
            assigned[best.column] = (best.row, cosines[best.column][best.row] >= 0)
            free.columns.remove(best.column)
            free.rows.remove(best.row)
        }
        axes = assigned
    }

    public var description: String {
        String(axes.map { $0.positive ? Self.letters[$0.patientAxis].positive : Self.letters[$0.patientAxis].negative })
    }

    public static func == (lhs: AxisCodes, rhs: AxisCodes) -> Bool { lhs.description == rhs.description }
    public func hash(into hasher: inout Hasher) { hasher.combine(description) }
}

extension ScanImage {
    /// The scan with its voxel axes permuted and flipped to point along `target` (see `Volume.reoriented`).
    public func reoriented(to target: AxisCodes) -> ScanImage {
        var result = self
        (result.volume, result.voxelToPatient) = volume.reoriented(affine: voxelToPatient, to: target)
        return result
    }
}

extension Volume {
    /// The volume with its voxel axes permuted and flipped so they point along `target` (no interpolation: every
    /// voxel keeps its value), its spacing permuted, and `affine` (voxel to RAS+ mm, row-major 4×4) updated so each
    /// voxel stays at the same place in the patient. An oblique volume goes to the closest such orientation, as
    /// nibabel's `as_closest_canonical` does for "RAS".
    public func reoriented(affine: [Double], to target: AxisCodes) -> (volume: Volume, affine: [Double]) {
        let source = AxisCodes(affine: affine)
        guard source != target else { return (self, affine) }
        let sizes = [width, height, depth]
        let spacings = [spacing.x, spacing.y, spacing.z]
        let strides = [1, width, width * height]
        // For each output axis: the source axis it reads and whether it reads it backwards.
        let plan = target.axes.map { wanted -> (axis: Int, flipped: Bool) in
            let axis = source.axes.firstIndex { $0.patientAxis == wanted.patientAxis }!
            return (axis, source.axes[axis].positive != wanted.positive)
        }
        let outSizes = plan.map { sizes[$0.axis] }
        // Source voxel index of output voxel (0, 0, 0) and the source step of one output step along each axis.
        let start = plan.reduce(0) { $0 + ($1.flipped ? (sizes[$1.axis] - 1) * strides[$1.axis] : 0) }
        let steps = plan.map { $0.flipped ? -strides[$0.axis] : strides[$0.axis] }
        var reordered = [Float](repeating: 0, count: voxels.count)
        voxels.withUnsafeBufferPointer { input in
            reordered.withUnsafeMutableBufferPointer { output in
                var written = 0
                for k in 0..<outSizes[2] {
                    for j in 0..<outSizes[1] {
                        var index = start + k * steps[2] + j * steps[1]
                        for _ in 0..<outSizes[0] {
                            output[written] = input[index]
                            written += 1
                            index += steps[0]
                        }
                    }
                }
            }
        }
        // Source voxel v = M·u + t for output voxel u; the new affine is the old one times [M t; 0 1].
        var mapping = [Double](repeating: 0, count: 16)
        mapping[15] = 1
        for (output, entry) in plan.enumerated() {
            mapping[entry.axis * 4 + output] = entry.flipped ? -1 : 1
            mapping[entry.axis * 4 + 3] = entry.flipped ? Double(sizes[entry.axis] - 1) : 0
        }
        var updated = [Double](repeating: 0, count: 16)
        for row in 0..<4 { for column in 0..<4 { updated[row * 4 + column] = (0..<4).reduce(0) { $0 + affine[row * 4 + $1] * mapping[$1 * 4 + column] } } }
        let volume = Volume(width: outSizes[0], height: outSizes[1], depth: outSizes[2],
                            spacing: (spacings[plan[0].axis], spacings[plan[1].axis], spacings[plan[2].axis]), voxels: reordered)
        return (volume, updated)
    }
}
