// Bootstrap: percentile confidence intervals for any metric by resampling rows with replacement.

/// A metric's value on all rows and its percentile bootstrap interval.
public struct BootstrapInterval: Sendable, Equatable {
    /// The metric on the original rows.
    public var estimate: Double
    /// The lower and upper percentiles of the resampled values ((1 − level)/2 and (1 + level)/2).
    public var lower: Double
    public var upper: Double
    /// The nominal coverage, e.g. 0.95.
    public var level: Double
    /// Resamples on which the metric was defined, and those on which it threw (for instance a resample
    /// with no event) and were left out.
    public var replicates: Int
    public var failed: Int
}

/// The percentile bootstrap (Efron & Tibshirani 1993, ch. 13).
public enum Bootstrap {
    /// Computes `statistic` on all `rows` and on `replicates` resamples of them (row indices drawn
    /// uniformly with replacement from `generator`, so a seeded generator gives reproducible intervals);
    /// the interval is the (1 ± level)/2 quantiles of the resampled values, linearly interpolated as
    /// numpy's `percentile`.
    ///
    /// - Parameter statistic: the metric on a list of row indices (with repeats).
    /// - Throws: the statistic's error on the original rows; `FedCTError(.invalidData)` when fewer than
    ///   half of the resamples give a value.
    public static func percentileInterval<G: RandomNumberGenerator>(
        rows: Int, replicates: Int = 1000, level: Double = 0.95, generator: inout G, statistic: ([Int]) throws -> Double
    ) throws -> BootstrapInterval {
        guard replicates > 0, level > 0, level < 1 else {
            throw FedCTError(.invalidData, "a bootstrap needs at least one replicate and a level in (0, 1), got \(replicates) and \(level)")
        }
        let estimate = try statistic(Array(0..<rows))
        var values: [Double] = []
        values.reserveCapacity(replicates)
        var indices = [Int](repeating: 0, count: rows)
        for _ in 0..<replicates {
            for k in 0..<rows { indices[k] = Int.random(in: 0..<rows, using: &generator) }
            if let value = try? statistic(indices) { values.append(value) }
        }
        let failed = replicates - values.count
        guard values.count * 2 >= replicates else {
            throw FedCTError(.invalidData, "the metric is undefined on \(failed) of \(replicates) bootstrap resamples of \(rows) rows (too few events or cases?); no interval")
        }
        values.sort()
        return BootstrapInterval(estimate: estimate, lower: quantile(values, (1 - level) / 2), upper: quantile(values, (1 + level) / 2),
                                 level: level, replicates: values.count, failed: failed)
    }

    /// The p-quantile of sorted values with linear interpolation between order statistics.
    static func quantile(_ sorted: [Double], _ p: Double) -> Double {
        let position = p * Double(sorted.count - 1)
        let below = Int(position.rounded(.down))
        let above = min(below + 1, sorted.count - 1)
        return sorted[below] + (position - Double(below)) * (sorted[above] - sorted[below])
    }
}
