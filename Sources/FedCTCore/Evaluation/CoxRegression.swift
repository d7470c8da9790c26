// CoxRegression: an L2-penalised Cox proportional-hazards probe fitted by Newton's method (Breslow ties).
import Foundation

/// A Cox proportional-hazards model on standardised features, the probe FedCT fits on frozen embeddings.
public struct CoxRegression: Sendable {
    public let coefficients: [Double]
    public let means: [Double]
    public let scales: [Double]

    /// Fits by Newton–Raphson on the penalised negative log partial likelihood.
    ///
    /// - Parameters:
    ///   - features: one row per subject.
    ///   - l2: ridge penalty on the coefficients of the standardised features.
    public static func fit(features: [[Double]], time: [Double], event: [Bool], l2: Double = 1.0, iterations: Int = 50) throws -> CoxRegression {
        let n = features.count
        guard n > 1, time.count == n, event.count == n else {
            throw FedCTError(.invalidData, "Cox fit needs at least two subjects and one time and event per subject")
        }
        guard event.contains(true) else { throw FedCTError(.invalidData, "Cox fit needs at least one event; all \(n) subjects are censored") }
        let d = features[0].count
        var means = [Double](repeating: 0, count: d)
        var scales = [Double](repeating: 0, count: d)
        for row in features { for k in 0..<d { means[k] += row[k] / Double(n) } }
        for row in features { for k in 0..<d { scales[k] += (row[k] - means[k]) * (row[k] - means[k]) / Double(n) } }
        scales = scales.map { $0 > 1e-12 ? $0.squareRoot() : 1 }
        let x = features.map { row in (0..<d).map { (row[$0] - means[$0]) / scales[$0] } }
        // Subjects by descending time: each risk set is a prefix (ties grouped for Breslow).
        let order = time.indices.sorted { time[$0] > time[$1] }

        var beta = [Double](repeating: 0, count: d)
        for _ in 0..<iterations {
            var gradient = beta.map { l2 * $0 }
            var hessian = (0..<d).map { k in (0..<d).map { $0 == k ? l2 : 0 } }
            var s0 = 0.0
            var s1 = [Double](repeating: 0, count: d)
            var s2 = [[Double]](repeating: [Double](repeating: 0, count: d), count: d)
            var position = 0
            while position < n {
                // Add the whole tie group to the risk set before scoring its events.
                var end = position
                while end < n && time[order[end]] == time[order[position]] { end += 1 }
                for index in order[position..<end] {
                    let row = x[index]
                    let w = exp(min(zip(row, beta).reduce(0) { $0 + $1.0 * $1.1 }, 50))
                    s0 += w
                    for a in 0..<d {
                        s1[a] += w * row[a]
                        for b in 0...a { s2[a][b] += w * row[a] * row[b] }
                    }
                }
                for index in order[position..<end] where event[index] {
                    for a in 0..<d {
                        let mean = s1[a] / s0
                        gradient[a] -= x[index][a] - mean
                        for b in 0...a { hessian[a][b] += s2[a][b] / s0 - mean * s1[b] / s0 }
                    }
                }
                position = end
            }
            for a in 0..<d { for b in 0..<a { hessian[b][a] = hessian[a][b] } }
            let step = try solveSymmetricPositiveDefinite(hessian, gradient)
            beta = zip(beta, step).map { $0 - $1 }
            if step.reduce(0, { max($0, abs($1)) }) < 1e-8 { break }
        }
        return CoxRegression(coefficients: beta, means: means, scales: scales)
    }

    /// The linear risk score (log relative hazard) of one subject.
    public func risk(_ row: [Double]) -> Double {
        var score = 0.0
        for k in coefficients.indices { score += coefficients[k] * (row[k] - means[k]) / scales[k] }
        return score
    }

    /// Solves A x = b for symmetric positive-definite A by Cholesky factorisation.
    static func solveSymmetricPositiveDefinite(_ a: [[Double]], _ b: [Double]) throws -> [Double] {
        let d = b.count
        var l = [[Double]](repeating: [Double](repeating: 0, count: d), count: d)
        for i in 0..<d {
            for j in 0...i {
                var sum = a[i][j]
                for k in 0..<j { sum -= l[i][k] * l[j][k] }
                if i == j {
                    guard sum > 0 else { throw FedCTError(.invalidData, "Cox fit: the Hessian is not positive definite; increase the L2 penalty") }
                    l[i][i] = sum.squareRoot()
                } else {
                    l[i][j] = sum / l[j][j]
                }
            }
        }
        var y = [Double](repeating: 0, count: d)
        for i in 0..<d {
            var sum = b[i]
            for k in 0..<i { sum -= l[i][k] * y[k] }
            y[i] = sum / l[i][i]
        }
        var x = [Double](repeating: 0, count: d)
        for i in stride(from: d - 1, through: 0, by: -1) {
            var sum = y[i]
            for k in (i + 1)..<d { sum -= l[k][i] * x[k] }
            x[i] = sum / l[i][i]
        }
        return x
    }
}
