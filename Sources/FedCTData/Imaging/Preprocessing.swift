// Preprocessing: a job's one pipeline from a decoded CT scan to the network's input (reorient, resample, crop/pad, window, normalise).

/// Turns a CT scan in Hounsfield units into the network's input, in this order:
///
/// 1. reorientation of the voxel axes to `orientation` (permutation and flips only; nil keeps the stored order);
/// 2. trilinear resampling to `spacing` mm (nil keeps the source spacing), keeping the field of view's centre,
///    and centre crop or pad to `shape` (x, y, z) with `padHU`, computed together (`Volume.resampled`);
/// 3. HU clamped to [`windowLow`, `windowHigh`] and mapped linearly to [−1, 1];
/// 4. with `.zscore`, the volume standardised to mean 0 and standard deviation 1.
///
/// The output is x fastest, `shape[0] · shape[1] · shape[2]` values.
public struct Preprocessing: Sendable, Hashable {
    /// How window-scaled intensities are finally normalised.
    public enum Normalization: String, Sendable, Hashable, CaseIterable {
        /// The window maps to [−1, 1] and that is the input.
        case window
        /// After the window, each volume is shifted and scaled to mean 0, standard deviation 1.
        case zscore
    }

    public var orientation: AxisCodes?
    public var spacing: (x: Double, y: Double, z: Double)?
    public var windowLow: Float
    public var windowHigh: Float
    public var shape: [Int]
    public var normalization: Normalization
    public var padHU: Float

    public init(shape: [Int], orientation: AxisCodes? = AxisCodes("RAS"), spacing: (x: Double, y: Double, z: Double)? = nil,
                windowLow: Float = -1000, windowHigh: Float = 1000, normalization: Normalization = .window, padHU: Float = -1024) {
        precondition(shape.count == 3 && shape.allSatisfy { $0 > 0 }, "shape must be three positive sizes")
        precondition(windowHigh > windowLow, "the window must not be empty")
        self.orientation = orientation
        self.spacing = spacing
        self.windowLow = windowLow
        self.windowHigh = windowHigh
        self.shape = shape
        self.normalization = normalization
        self.padHU = padHU
    }

    /// A `size³` cube in RAS at the source spacing, windowed to [`windowLow`, `windowHigh`].
    public init(size: Int, windowLow: Float = -1000, windowHigh: Float = 1000) {
        self.init(shape: [size, size, size], windowLow: windowLow, windowHigh: windowHigh)
    }

    /// The whole pipeline on a decoded scan.
    public func apply(_ scan: ScanImage) -> [Float] {
        apply(orientation.map { scan.reoriented(to: $0) }?.volume ?? scan.volume)
    }

    /// Steps 2–4 on a volume whose axes are already in the wanted order.
    public func apply(_ volume: Volume) -> [Float] {
        var values = volume.resampled(toSpacing: spacing, shape: shape, padValue: padHU).voxels
        let scale = 2 / (windowHigh - windowLow)
        for index in values.indices { values[index] = (min(max(values[index], windowLow), windowHigh) - windowLow) * scale - 1 }
        if normalization == .zscore { Self.standardise(&values) }
        return values
    }

    /// Shifts and scales `values` to mean 0 and (population) standard deviation 1; a constant volume becomes all 0.
    static func standardise(_ values: inout [Float]) {
        let count = Double(values.count)
        let mean = values.reduce(0.0) { $0 + Double($1) } / count
        let variance = values.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / count
        let inverse = variance > 0 ? 1 / variance.squareRoot() : 0
        for index in values.indices { values[index] = Float((Double(values[index]) - mean) * inverse) }
    }

    /// Every parameter, in a fixed text form: two pipelines give the same text exactly when they compute the same
    /// input. Part of the cache key (`PreprocessingCache`), together with `version`.
    public var parameters: String {
        let spacingText = spacing.map { "\($0.x),\($0.y),\($0.z)" } ?? "source"
        return "orientation=\(orientation?.description ?? "none");spacing=\(spacingText);window=\(windowLow),\(windowHigh);"
            + "shape=\(shape.map(String.init).joined(separator: ","));normalization=\(normalization.rawValue);pad=\(padHU)"
    }

    /// Bumped whenever the pipeline's arithmetic changes, so cached inputs of an older version are never reused.
    public static let version = 1

    public static func == (lhs: Preprocessing, rhs: Preprocessing) -> Bool { lhs.parameters == rhs.parameters }
    public func hash(into hasher: inout Hasher) { hasher.combine(parameters) }
}
