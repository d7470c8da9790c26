// LogisticRegression: an L2-penalised logistic-regression probe fitted by Newton's method on standardised features.
import Foundation

/// Per-feature centring and scaling (population standard deviation; constant features keep scale 1),
/// as scikit-learn's `StandardScaler`.
public struct FeatureStandardization: Sendable {
    public let means: [Double]
    public let scales: [Double]

    /// Learns the means and scales of `features` (one row per subject, all rows as wide as the first).
    public init(features: [[Double]]) {
        let n = Double(features.count)
        let d = features.first?.count ?? 0
        var means = [Double](repeating: 0, count: d)
        var variances = [Double](repeating: 0, count: d)
        for row in features { for k in 0..<d { means[k] += row[k] / n } }
        for row in features { for k in 0..<d { variances[k] += (row[k] - means[k]) * (row[k] - means[k]) / n } }
        self.means = means
        self.scales = variances.map { $0 > 1e-12 ? $0.squareRoot() : 1 }
    }

    /// `row` centred and scaled.
    public func apply(_ row: [Double]) -> [Double] {
        means.indices.map { (row[$0] - means[$0]) / scales[$0] }
    }
}

/// A logistic model on standardised features, the probe FedCT fits on frozen embeddings for binary outcomes.
///
/// Minimises Σᵢ logloss(yᵢ, σ(b + β·xᵢ)) + (l2 / 2)·‖β‖² over the standardised features xᵢ, the intercept b
/// unpenalised: scikit-learn's `LogisticRegression(C = 1 / l2)` after `StandardScaler`.
public struct LogisticRegression: Sendable {
    public let intercept: Double
    /// Coefficients of the standardised features.
    public let coefficients: [Double]
    public let standardization: FeatureStandardization

    /// Fits by Newton–Raphson with step halving on the penalised negative log-likelihood.
    ///
    /// The penalty keeps the coefficients finite on linearly separable data.
    /// - Throws: `FedCTError(.invalidData)` when the inputs are empty, ragged or non-finite, or hold one class only.
    public static func fit(features: [[Double]], labels: [Bool], l2: Double = 1.0, iterations: Int = 100) throws -> LogisticRegression {
        let n = features.count
        guard n > 1, labels.count == n else {
            throw FedCTError(.invalidData, "logistic fit needs at least two subjects and one label per subject (got \(n) rows, \(labels.count) labels)")
        }
        let d = features[0].count
        guard features.allSatisfy({ $0.count == d && $0.allSatisfy(\.isFinite) }) else {
            throw FedCTError(.invalidData, "logistic fit: every feature row must have \(d) finite values")
        }
        let positives = labels.filter { $0 }.count
        guard positives > 0, positives < n else {
            throw FedCTError(.invalidData, "logistic fit needs both classes: \(positives) of \(n) labels are positive")
        }
        guard l2 > 0, l2.isFinite else { throw FedCTError(.invalidConfiguration, "logistic fit: the L2 penalty must be positive (got \(l2))") }
        let standardization = FeatureStandardization(features: features)
        // Column 0 is the intercept.
        let x = features.map { [1] + standardization.apply($0) }
        let y = labels.map { $0 ? 1.0 : 0.0 }
        func objective(_ w: [Double]) -> Double {
            var loss = 0.0
            for i in 0..<n {
                let z = dot(w, x[i])
                // log(1 + e^z) − y·z, computed without overflow.
                loss += max(z, 0) + log1p(exp(-abs(z))) - y[i] * z
            }
            return loss + 0.5 * l2 * w.dropFirst().reduce(0) { $0 + $1 * $1 }
        }
        let rate = Double(positives) / Double(n)
        var w = [log(rate / (1 - rate))] + [Double](repeating: 0, count: d)
        var current = objective(w)
        for _ in 0..<iterations {
            var gradient = [0] + w.dropFirst().map { l2 * $0 }
            var hessian = (0...d).map { k in (0...d).map { $0 == k && k > 0 ? l2 : 0 } }
            for i in 0..<n {
                let p = 1 / (1 + exp(-dot(w, x[i])))
                let weight = max(p * (1 - p), 1e-12)
                for a in 0...d {
                    gradient[a] += (p - y[i]) * x[i][a]
                    for b in 0...a { hessian[a][b] += weight * x[i][a] * x[i][b] }
                }
            }
            for a in 0...d { for b in 0..<a { hessian[b][a] = hessian[a][b] } }
            let step: [Double]
            do {
                step = try CoxRegression.solveSymmetricPositiveDefinite(hessian, gradient)
            } catch {
                throw FedCTError(.invalidData, "logistic fit: the Hessian is not positive definite (\(n) subjects, \(d) features); increase the L2 penalty")
            }
            var scale = 1.0
            var next = zip(w, step).map { $0 - $1 }
            var value = objective(next)
            while value > current && scale > 1e-10 {
                scale /= 2
                next = zip(w, step).map { $0 - scale * $1 }
                value = objective(next)
            }
            w = next
            current = value
            if step.reduce(0, { max($0, abs($1)) }) * scale < 1e-10 { break }
        }
        return LogisticRegression(intercept: w[0], coefficients: Array(w.dropFirst()), standardization: standardization)
    }

    /// The log-odds b + β·x of one subject's raw features.
    public func logit(_ row: [Double]) -> Double {
        intercept + dot(coefficients, standardization.apply(row))
    }

    /// The predicted probability of the positive class.
    public func probability(_ row: [Double]) -> Double {
        1 / (1 + exp(-logit(row)))
    }
}

private func dot(_ a: [Double], _ b: [Double]) -> Double {
    var sum = 0.0
    for k in a.indices { sum += a[k] * b[k] }
    return sum
}
