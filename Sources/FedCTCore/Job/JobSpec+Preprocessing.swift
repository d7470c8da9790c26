// JobSpec+Preprocessing: the job's `preprocessing:` section (orientation, spacing, window, shape, normalisation, padding) and its checks.
public import FedCTProto

extension Fedct_V1_PreprocessingSpec {
    /// The orientations a job may ask for.
    public static let orientations = ["RAS", "LPS", "none"]
    /// The normalisations a job may ask for.
    public static let normalizations = ["window", "zscore"]
}

extension Fedct_V1_JobSpec {
    /// Reads the `preprocessing:` section (`applyingDefaults()` then fills the keys the file leaves out).
    public mutating func parsePreprocessing(_ section: YAMLDocument) throws {
        try section.rejectUnknownKeys(["orientation", "spacing_mm", "window_low_hu", "window_high_hu", "shape", "normalization", "pad_hu"])
        if let value = try section.string("orientation") { preprocessing.orientation = value }
        if let value = try section.doubles("spacing_mm") { preprocessing.spacingMm = value }
        if let value = try section.double("window_low_hu") { preprocessing.windowLowHu = value }
        if let value = try section.double("window_high_hu") { preprocessing.windowHighHu = value }
        if let value = try section.doubles("shape") {
            guard value.allSatisfy({ $0 == $0.rounded() && abs($0) < 1e6 }) else { throw section.error("shape", "must be three whole numbers (x, y, z voxels)") }
            preprocessing.shape = value.map { Int32($0) }
        }
        if let value = try section.string("normalization") { preprocessing.normalization = value }
        if let value = try section.double("pad_hu") { preprocessing.padHu = value }
    }

    /// Checks the preprocessing section; `fail` builds the error naming the field.
    func validatePreprocessing(_ fail: (String, String) -> FedCTError) throws {
        let spec = preprocessing
        guard Fedct_V1_PreprocessingSpec.orientations.contains(spec.orientation) else {
            throw fail("preprocessing.orientation", "must be RAS, LPS or none (got '\(spec.orientation)')")
        }
        guard spec.spacingMm.isEmpty || (spec.spacingMm.count == 3 && spec.spacingMm.allSatisfy { $0 > 0 && $0.isFinite }) else {
            throw fail("preprocessing.spacing_mm", "must be 3 positive numbers (x, y, z mm) or left out to keep each scan's spacing (got \(spec.spacingMm))")
        }
        guard spec.windowLowHu.isFinite, spec.windowHighHu.isFinite, spec.windowLowHu < spec.windowHighHu else {
            throw fail("preprocessing.window_high_hu", "must be above window_low_hu (got \(spec.windowLowHu)..\(spec.windowHighHu))")
        }
        let cube = Array(repeating: training.volumeSize, count: 3)
        guard spec.shape.isEmpty || spec.shape == cube else {
            throw fail("preprocessing.shape", "must be [\(training.volumeSize), \(training.volumeSize), \(training.volumeSize)] (the trainer takes cubes of training.volume_size) or left out (got \(spec.shape))")
        }
        guard Fedct_V1_PreprocessingSpec.normalizations.contains(spec.normalization) else {
            throw fail("preprocessing.normalization", "must be window or zscore (got '\(spec.normalization)')")
        }
        guard spec.padHu.isFinite else { throw fail("preprocessing.pad_hu", "must be a number") }
    }

    /// The input shape (x, y, z) the job's preprocessing produces: `preprocessing.shape`, else a cube of `training.volume_size`.
    public var inputShape: [Int] {
        preprocessing.shape.isEmpty ? Array(repeating: Int(training.volumeSize), count: 3) : preprocessing.shape.map(Int.init)
    }
}
