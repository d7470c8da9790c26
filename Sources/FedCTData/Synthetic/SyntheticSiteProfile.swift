// SyntheticSiteProfile: how synthetic sites differ — scanner (noise, HU offset, slice thickness) and population mix.

/// One synthetic site's scanner and population. Sites cycle through five profiles.
public struct SyntheticSiteProfile: Sendable {
    public var scanner: ScannerProfile
    /// Added to the population's mean age of 65.
    public var ageShift: Double
    /// Probability that a patient is male.
    public var maleFraction: Double
    /// Probability that a patient has smoked (pack-years drawn from 10 to 50).
    public var smokerFraction: Double
    /// Base probability of a pleural effusion (higher with a large heart).
    public var effusionPrevalence: Double

    /// The profile of site `index` (0-based).
    public static func site(_ index: Int) -> SyntheticSiteProfile {
        let noise = [12.0, 22.0, 30.0, 16.0, 26.0]
        let offset = [0.0, 15.0, -12.0, 8.0, -5.0]
        let thickness = [1.25, 2.5, 2.0, 1.0, 3.0]
        let profile = index % 5
        return SyntheticSiteProfile(
            scanner: ScannerProfile(noiseHU: noise[profile], offsetHU: offset[profile], sliceThickness: thickness[profile], pixelSpacing: 0.75),
            ageShift: Double(index % 3) * 4 - 4,
            maleFraction: [0.5, 0.6, 0.45, 0.55, 0.5][profile],
            smokerFraction: [0.35, 0.55, 0.45, 0.3, 0.5][profile],
            effusionPrevalence: [0.15, 0.25, 0.2, 0.12, 0.3][profile])
    }
}
