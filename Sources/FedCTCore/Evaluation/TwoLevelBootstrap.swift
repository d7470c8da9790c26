// TwoLevelBootstrap: intervals that count training noise — resample training seeds, then held-out patients — with paired differences.

/// A statistic's values over training seeds and over the replicates of a ``TwoLevelBootstrap``, kept so that
/// statistics computed on the same plan can be combined replicate by replicate (paired differences, ratios, means).
public struct BootstrapSamples: Sendable, Equatable {
    /// The statistic of each seed's model on all patients (NaN where it is undefined).
    public var perSeed: [Double]
    /// The statistic on each replicate: the mean over the replicate's drawn seeds on its drawn patients (NaN where undefined).
    public var replicates: [Double]

    public init(perSeed: [Double], replicates: [Double]) {
        self.perSeed = perSeed
        self.replicates = replicates
    }

    /// The mean over seeds of the statistic on all patients; NaN when it is undefined for a seed.
    public var estimate: Double { perSeed.reduce(0, +) / Double(perSeed.count) }

    /// `self` combined with `other` seed by seed and replicate by replicate (both from the same plan), e.g. `-` for a
    /// paired difference.
    public func combined(with other: BootstrapSamples, _ operation: (Double, Double) -> Double) -> BootstrapSamples {
        BootstrapSamples(perSeed: zip(perSeed, other.perSeed).map(operation), replicates: zip(replicates, other.replicates).map(operation))
    }

    /// The element-wise mean of samples from the same plan (e.g. a gain averaged over tasks).
    public static func mean(_ samples: [BootstrapSamples]) -> BootstrapSamples {
        let count = Double(samples.count)
        return BootstrapSamples(perSeed: samples[0].perSeed.indices.map { s in samples.map { $0.perSeed[s] }.reduce(0, +) / count },
                                replicates: samples[0].replicates.indices.map { r in samples.map { $0.replicates[r] }.reduce(0, +) / count })
    }

    /// The estimate with the percentile interval of the replicates (linear interpolation, as numpy's `percentile`).
    ///
    /// - Throws: `FedCTError(.invalidData)` when the statistic is undefined on all patients for some seed, or on more
    ///   than half of the replicates.
    public func interval(level: Double = 0.95) throws -> BootstrapInterval {
        let estimate = estimate
        guard estimate.isFinite else {
            throw FedCTError(.invalidData, "undefined on all held-out patients for \(perSeed.filter { !$0.isFinite }.count) of \(perSeed.count) seeds")
        }
        let values = replicates.filter(\.isFinite).sorted()
        let failed = replicates.count - values.count
        guard !values.isEmpty, values.count * 2 >= replicates.count else {
            throw FedCTError(.invalidData, "undefined on \(failed) of \(replicates.count) bootstrap resamples (too few events or cases?); no interval")
        }
        return BootstrapInterval(estimate: estimate, lower: Bootstrap.quantile(values, (1 - level) / 2), upper: Bootstrap.quantile(values, (1 + level) / 2),
                                 level: level, replicates: values.count, failed: failed)
    }

    /// How the variance of the estimate splits between training seeds and held-out patients.
    ///
    /// seed = Σ_s (x_s − x̄)² / S², the variance of a mean of S seeds resampled (what the seed level of the bootstrap
    /// adds); total = the variance of the defined replicates; patient = max(0, total − seed).
    public var varianceComponents: (seed: Double, patient: Double, total: Double) {
        let seeds = Double(perSeed.count)
        let seed = perSeed.map { ($0 - estimate) * ($0 - estimate) }.reduce(0, +) / (seeds * seeds)
        let values = replicates.filter(\.isFinite)
        guard values.count > 1 else { return (seed, 0, seed) }
        let mean = values.reduce(0, +) / Double(values.count)
        let total = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count - 1)
        return (seed, max(0, total - seed), total)
    }
}

/// A two-level (hierarchical) bootstrap plan over S training seeds × N held-out patients (Davison & Hinkley 1997,
/// §3.8): each replicate draws S seeds with replacement, then N patients with replacement. Seeds and patients are
/// crossed — every seed's model scores the same patients — so one patient draw serves all the replicate's seeds.
///
/// The plan is drawn once and reused for every model and statistic, so statistics on it are paired: a difference of
/// two models' samples is the paired bootstrap of the difference. With one seed no seed is drawn and the patient draws
/// are exactly those of ``Bootstrap/percentileInterval(rows:replicates:level:generator:statistic:)`` with the same generator.
public struct TwoLevelBootstrap: Sendable {
    public let seeds: Int
    public let patients: Int
    /// Per replicate: the drawn seeds (with repeats) and the drawn patient indices.
    public let seedDraws: [[Int]]
    public let patientDraws: [[Int]]

    public init<G: RandomNumberGenerator>(seeds: Int, patients: Int, replicates: Int, generator: inout G) throws {
        guard seeds >= 1, patients >= 1, replicates >= 1 else {
            throw FedCTError(.invalidData, "a two-level bootstrap needs at least one seed, patient and replicate, got \(seeds), \(patients) and \(replicates)")
        }
        self.seeds = seeds
        self.patients = patients
        var seedDraws: [[Int]] = []
        var patientDraws: [[Int]] = []
        for _ in 0..<replicates {
            seedDraws.append(seeds == 1 ? [0] : (0..<seeds).map { _ in Int.random(in: 0..<seeds, using: &generator) })
            patientDraws.append((0..<patients).map { _ in Int.random(in: 0..<patients, using: &generator) })
        }
        self.seedDraws = seedDraws
        self.patientDraws = patientDraws
    }

    /// `statistic(seed, patients)` — the statistic of seed `seed`'s model on the patients at those indices (repeats
    /// allowed) — on all patients per seed and on every replicate; a throw counts as undefined (NaN).
    public func samples(_ statistic: (_ seed: Int, _ patients: [Int]) throws -> Double) -> BootstrapSamples {
        let all = Array(0..<patients)
        let perSeed = (0..<seeds).map { (try? statistic($0, all)) ?? .nan }
        let replicates = zip(seedDraws, patientDraws).map { drawn, patients -> Double in
            var values: [Int: Double] = [:]
            var sum = 0.0
            for seed in drawn {
                if values[seed] == nil { values[seed] = (try? statistic(seed, patients)) ?? .nan }
                sum += values[seed]!
            }
            return sum / Double(drawn.count)
        }
        return BootstrapSamples(perSeed: perSeed, replicates: replicates)
    }
}
