// SeriesAcquisition: how one series of a synthetic CT study is acquired — contrast, reconstruction kernel, slice thickness, field of view.

/// The acquisition and reconstruction of one series of a synthetic study. A study's first series is always `standard`
/// (what a single-series consortium holds); further series vary as real studies do: a contrast-enhanced series (brighter
/// blood in the heart and aorta), a sharp lung-kernel reconstruction (more noise), a thick smooth soft-tissue
/// reconstruction (less noise, thicker slices), a different field of view, and now and then an uncurated low-resolution
/// localizer-like series.
public struct SeriesAcquisition: Sendable, Hashable {
    /// The kinds of series a synthetic study may hold, with the words its DICOM series description would carry.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        case standard, contrast, lungKernel = "lung_kernel", softTissue = "soft_tissue", localizer
    }

    public var kind: Kind
    /// HU of blood in the heart chambers and (5 HU less) the aorta: 45 plain, about 250–330 after contrast.
    public var bloodHU: Double
    /// Scale of the scanner's noise (a sharp kernel raises it, a smooth one lowers it).
    public var noiseScale: Double
    /// Scale of the scanner's slice thickness.
    public var sliceThicknessScale: Double
    /// Field of view relative to the standard one (> 1: wider, so the anatomy fills less of the volume).
    public var fieldOfView: Double
    /// Edge of the cells whose voxels share one value (1: full resolution; a localizer-like series is coarse).
    public var blockSize: Int

    /// The plain series every study has: non-contrast, standard kernel, the scanner's thickness and field of view.
    public static let standard = SeriesAcquisition(kind: .standard, bloodHU: 45, noiseScale: 1, sliceThicknessScale: 1, fieldOfView: 1, blockSize: 1)

    /// A further series of `kind`, its free parameters drawn from `random`.
    public static func draw(_ kind: Kind, random: inout SeededGenerator) -> SeriesAcquisition {
        var series = SeriesAcquisition.standard
        series.kind = kind
        series.fieldOfView = 0.9 + 0.25 * random.uniform()
        switch kind {
        case .standard: series.fieldOfView = 1
        case .contrast: series.bloodHU = 250 + 80 * random.uniform()
        case .lungKernel: series.noiseScale = 1.8
        case .softTissue:
            series.noiseScale = 0.5
            series.sliceThicknessScale = 2.5
        case .localizer:
            series.noiseScale = 0.3
            series.sliceThicknessScale = 4
            series.blockSize = 4
        }
        return series
    }

    /// The series of one study: the standard series, then up to `maxSeries` − 1 more drawn from `random` (about one in
    /// ten a localizer-like series, the rest contrast, lung-kernel or soft-tissue reconstructions).
    public static func study(maxSeries: Int, random: inout SeededGenerator) -> [SeriesAcquisition] {
        let count = 1 + Int(random.uniform() * Double(max(1, maxSeries)))
        return [.standard] + (1..<max(1, count)).map { _ in
            let kind: Kind = random.uniform() < 0.1 ? .localizer : [.contrast, .lungKernel, .softTissue][Int(random.uniform() * 3)]
            return draw(kind, random: &random)
        }
    }
}
