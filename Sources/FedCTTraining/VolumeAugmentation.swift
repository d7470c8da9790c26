// VolumeAugmentation: seeded random flips, axial 90° rotations and intensity jitter of training volumes.
public import FedCTData

/// Random 3D augmentation of one training volume laid out [depth z][height y][width x] (x fastest): each axis flipped
/// with `flipProbability`, a rotation by 1–3 quarter turns in the axial (x, y) plane with `rotate90Probability`,
/// then v ↦ v·(1 + N(0, intensityScaleStd)) + N(0, intensityShiftStd). Evaluation inputs are never augmented.
public struct VolumeAugmentation: Sendable, Hashable, Codable {
    public var flipProbability: Double
    public var rotate90Probability: Double
    public var intensityScaleStd: Double
    public var intensityShiftStd: Double

    public init(flipProbability: Double = 0, rotate90Probability: Double = 0, intensityScaleStd: Double = 0, intensityShiftStd: Double = 0) {
        self.flipProbability = flipProbability
        self.rotate90Probability = rotate90Probability
        self.intensityScaleStd = intensityScaleStd
        self.intensityShiftStd = intensityShiftStd
    }

    /// Whether every probability and standard deviation is 0 (volumes pass through untouched).
    public var isIdentity: Bool { flipProbability == 0 && rotate90Probability == 0 && intensityScaleStd == 0 && intensityShiftStd == 0 }

    /// The transform drawn for one volume.
    public struct Draw: Sendable, Hashable {
        /// Flip the z, y and x axes.
        public var flipZ = false, flipY = false, flipX = false
        /// Counter-clockwise quarter turns in the (x, y) plane, 0–3 (as `torch.rot90(v, k, dims=(-2, -1))`).
        public var quarterTurns = 0
        public var scale: Float = 1
        public var shift: Float = 0

        public init(flipZ: Bool = false, flipY: Bool = false, flipX: Bool = false, quarterTurns: Int = 0, scale: Float = 1, shift: Float = 0) {
            self.flipZ = flipZ
            self.flipY = flipY
            self.flipX = flipX
            self.quarterTurns = quarterTurns
            self.scale = scale
            self.shift = shift
        }
    }

    /// Draws one volume's transform. Always takes the same number of values from `random` (7), so each volume's draw
    /// depends only on its position in the stream. A non-square axial plane gets 2 turns instead of 1 or 3.
    public func draw(squarePlane: Bool, using random: inout SeededGenerator) -> Draw {
        var draw = Draw()
        draw.flipZ = random.uniform() < flipProbability
        draw.flipY = random.uniform() < flipProbability
        draw.flipX = random.uniform() < flipProbability
        let rotate = random.uniform() < rotate90Probability
        let turns = 1 + min(2, Int(random.uniform() * 3))
        if rotate { draw.quarterTurns = squarePlane ? turns : 2 }
        draw.scale = Float(1 + intensityScaleStd * random.normal())
        draw.shift = Float(intensityShiftStd * random.normal())
        return draw
    }

    /// `volume` ([depth][height][width]) with `draw` applied: flips, then the rotation, then the intensity jitter.
    public static func apply(_ draw: Draw, to volume: [Float], depth: Int, height: Int, width: Int) -> [Float] {
        precondition(volume.count == depth * height * width, "volume has \(volume.count) voxels, not \(depth)×\(height)×\(width)")
        precondition(draw.quarterTurns % 2 == 0 || height == width, "an odd number of quarter turns needs a square axial plane")
        let turns = ((draw.quarterTurns % 4) + 4) % 4
        var out = [Float](repeating: 0, count: volume.count)
        // Output voxel (z, y, x) reads source (sz, sy, sx): the inverse of the rotation, then of the flips.
        for z in 0..<depth {
            let sz = draw.flipZ ? depth - 1 - z : z
            for y in 0..<height {
                for x in 0..<width {
                    // rot90 counter-clockwise k times: out[y][x] = in[x][W-1-y] (k=1), in[H-1-y][W-1-x] (k=2), in[H-1-x][y] (k=3).
                    var (ry, rx) = (y, x)
                    switch turns {
                    case 1: (ry, rx) = (x, width - 1 - y)
                    case 2: (ry, rx) = (height - 1 - y, width - 1 - x)
                    case 3: (ry, rx) = (height - 1 - x, y)
                    default: break
                    }
                    let sy = draw.flipY ? height - 1 - ry : ry
                    let sx = draw.flipX ? width - 1 - rx : rx
                    out[(z * height + y) * width + x] = volume[(sz * height + sy) * width + sx] * draw.scale + draw.shift
                }
            }
        }
        return out
    }
}
