// Resampling: trilinear resampling of a volume to a target spacing, optionally centre-cropped/padded to a shape in the same pass.

/// The sampling plan of one axis: for each output voxel, the two neighbouring source voxels and the weight of the
/// upper one, or padding. Computed once per axis, so the voxel loops only read tables.
struct ResamplingAxis {
    /// Lower source index per output voxel; −1 marks padding.
    var lower: [Int]
    var upper: [Int]
    var weight: [Float]
    /// Which source voxels some output voxel reads (passes skip the rest).
    var used: [Bool]

    /// Output voxel `o` is voxel `o + (resampled − outputCount) / 2` of the grid that covers the source's field of
    /// view at `targetSpacing` with `resampled = round(sourceCount · sourceSpacing / targetSpacing)` voxels, whose
    /// centre is the source grid's centre. Its source coordinate is clamped to the outermost voxel centres.
    init(sourceCount: Int, sourceSpacing: Double, targetSpacing: Double, outputCount: Int?) {
        let ratio = targetSpacing / sourceSpacing
        let resampled = max(1, Int((Double(sourceCount) / ratio).rounded()))
        let count = outputCount ?? resampled
        let offset = (resampled - count) / 2
        let sourceCentre = Double(sourceCount - 1) / 2, resampledCentre = Double(resampled - 1) / 2
        lower = [Int](repeating: -1, count: count)
        upper = [Int](repeating: -1, count: count)
        weight = [Float](repeating: 0, count: count)
        used = [Bool](repeating: false, count: sourceCount)
        for output in 0..<count {
            let index = output + offset
            guard index >= 0 && index < resampled else { continue }
            let position = min(max(sourceCentre + (Double(index) - resampledCentre) * ratio, 0), Double(sourceCount - 1))
            let below = Int(position.rounded(.down))
            lower[output] = below
            upper[output] = min(below + 1, sourceCount - 1)
            weight[output] = Float(position - Double(below))
            used[lower[output]] = true
            used[upper[output]] = true
        }
    }

    var count: Int { lower.count }
}

extension Volume {
    /// The volume trilinearly resampled to `spacing` (mm; nil keeps each axis' spacing, which copies voxels exactly),
    /// keeping the field of view's centre, then centre-cropped or padded with `padValue` to `shape` (x, y, z; nil
    /// keeps the resampled grid). Only voxels inside `shape` are computed: three separable passes (x, then y, then z)
    /// over precomputed index and weight tables.
    public func resampled(toSpacing spacing: (x: Double, y: Double, z: Double)?, shape: [Int]? = nil, padValue: Float = 0) -> Volume {
        let target = spacing ?? self.spacing
        let x = ResamplingAxis(sourceCount: width, sourceSpacing: self.spacing.x, targetSpacing: target.x, outputCount: shape?[0])
        let y = ResamplingAxis(sourceCount: height, sourceSpacing: self.spacing.y, targetSpacing: target.y, outputCount: shape?[1])
        let z = ResamplingAxis(sourceCount: depth, sourceSpacing: self.spacing.z, targetSpacing: target.z, outputCount: shape?[2])
        // Pass 1, along x: source rows (z, y) that a later pass reads → [depth][height][x.count].
        var alongX = [Float](repeating: padValue, count: depth * height * x.count)
        voxels.withUnsafeBufferPointer { source in
            alongX.withUnsafeMutableBufferPointer { output in
                for k in 0..<depth where z.used[k] {
                    for j in 0..<height where y.used[j] {
                        let row = (k * height + j) * width, target = (k * height + j) * x.count
                        for i in 0..<x.count where x.lower[i] >= 0 {
                            let low = source[row + x.lower[i]], high = source[row + x.upper[i]]
                            output[target + i] = low + (high - low) * x.weight[i]
                        }
                    }
                }
            }
        }
        // Pass 2, along y → [depth][y.count][x.count].
        let rowLength = x.count
        var alongY = [Float](repeating: padValue, count: depth * y.count * rowLength)
        Self.blendRows(alongX, into: &alongY, axis: y, blocks: depth, sourceRowsPerBlock: height, rowLength: rowLength, usedBlocks: z.used)
        // Pass 3, along z → [z.count][y.count][x.count].
        let planeLength = y.count * rowLength
        var alongZ = [Float](repeating: padValue, count: z.count * planeLength)
        Self.blendRows(alongY, into: &alongZ, axis: z, blocks: 1, sourceRowsPerBlock: depth, rowLength: planeLength, usedBlocks: [true])
        return Volume(width: x.count, height: y.count, depth: z.count, spacing: target, voxels: alongZ)
    }

    /// Blends whole rows of `rowLength` values: in each of `blocks` blocks of `sourceRowsPerBlock` rows, output row
    /// `o` = lower row + (upper row − lower row) · weight; padded output rows keep the value they were filled with.
    private static func blendRows(_ source: [Float], into output: inout [Float], axis: ResamplingAxis, blocks: Int,
                                  sourceRowsPerBlock: Int, rowLength: Int, usedBlocks: [Bool]) {
        source.withUnsafeBufferPointer { input in
            output.withUnsafeMutableBufferPointer { output in
                for block in 0..<blocks where usedBlocks[block] {
                    for row in 0..<axis.count where axis.lower[row] >= 0 {
                        let low = (block * sourceRowsPerBlock + axis.lower[row]) * rowLength
                        let high = (block * sourceRowsPerBlock + axis.upper[row]) * rowLength
                        let target = (block * axis.count + row) * rowLength
                        let weight = axis.weight[row]
                        for index in 0..<rowLength {
                            let a = input[low + index]
                            output[target + index] = a + (input[high + index] - a) * weight
                        }
                    }
                }
            }
        }
    }
}
