// Preprocessing: the skeleton pipeline from a HU volume to the network's input cube (window, scale, crop/pad).

/// Turns a CT volume in Hounsfield units into a `size³` network input.
///
/// HU are clamped to [`windowLow`, `windowHigh`] and mapped linearly to [−1, 1]; the volume is
/// centre-cropped or padded (with −1, i.e. air) to `size` voxels per side.
public struct Preprocessing: Sendable, Hashable {
    public var size: Int
    public var windowLow: Float = -1000
    public var windowHigh: Float = 1000

    public init(size: Int, windowLow: Float = -1000, windowHigh: Float = 1000) {
        self.size = size
        self.windowLow = windowLow
        self.windowHigh = windowHigh
    }

    public func apply(_ volume: Volume) -> [Float] {
        let scale = 2 / (windowHigh - windowLow)
        var out = [Float](repeating: -1, count: size * size * size)
        // Offsets of the output cube inside the input volume (negative: padding).
        let ox = (volume.width - size) / 2, oy = (volume.height - size) / 2, oz = (volume.depth - size) / 2
        for z in 0..<size {
            let sz = z + oz
            guard sz >= 0 && sz < volume.depth else { continue }
            for y in 0..<size {
                let sy = y + oy
                guard sy >= 0 && sy < volume.height else { continue }
                let sourceRow = (sz * volume.height + sy) * volume.width
                let targetRow = (z * size + y) * size
                for x in 0..<size {
                    let sx = x + ox
                    guard sx >= 0 && sx < volume.width else { continue }
                    let hu = min(max(volume.voxels[sourceRow + sx], windowLow), windowHigh)
                    out[targetRow + x] = (hu - windowLow) * scale - 1
                }
            }
        }
        return out
    }
}
