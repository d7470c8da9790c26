// VoxelStatistics: min, max, mean and standard deviation of a volume's values, for inspecting scans as decoded.

/// Summary statistics of a volume's voxels (HU for CT), accumulated in double precision.
public struct VoxelStatistics: Sendable, Equatable {
    public var minimum: Double
    public var maximum: Double
    public var mean: Double
    /// Population standard deviation (divided by the voxel count).
    public var standardDeviation: Double
    public var count: Int

    /// The statistics of `voxels`; NaN values are left out (and all-NaN or empty input gives NaN statistics, count 0).
    public init(_ voxels: [Float]) {
        var minimum = Double.infinity, maximum = -Double.infinity, sum = 0.0, count = 0
        for value in voxels where !value.isNaN {
            let v = Double(value)
            minimum = Swift.min(minimum, v)
            maximum = Swift.max(maximum, v)
            sum += v
            count += 1
        }
        guard count > 0 else {
            self.init(minimum: .nan, maximum: .nan, mean: .nan, standardDeviation: .nan, count: 0)
            return
        }
        let mean = sum / Double(count)
        // Second pass on deviations: no cancellation for CT's large offsets (air at −1000 HU).
        var squares = 0.0
        for value in voxels where !value.isNaN { squares += (Double(value) - mean) * (Double(value) - mean) }
        self.init(minimum: minimum, maximum: maximum, mean: mean, standardDeviation: (squares / Double(count)).squareRoot(), count: count)
    }

    private init(minimum: Double, maximum: Double, mean: Double, standardDeviation: Double, count: Int) {
        self.minimum = minimum
        self.maximum = maximum
        self.mean = mean
        self.standardDeviation = standardDeviation
        self.count = count
    }
}
