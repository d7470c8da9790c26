// FixedPointEncoding: clips a site's update and encodes it as words mod 2^32 whose sum over n sites cannot overflow.
import Crypto
import Foundation

/// Encodes a weighted, clipped update as integers modulo 2^32 so that masked sums decode exactly.
///
/// Word 0 is the site's example weight w (an integer); word i ≥ 1 is round(scale · w · Δᵢ) with
/// stochastic rounding (unbiased), where Δ is the update clipped to L2 norm `clipNorm`. With n sites
/// and weights at most `maxWeight`, every partial sum stays below 2^31 in magnitude when
/// scale = (2^31 − 1) / (n · maxWeight · coordinateBound), so two's complement decodes it exactly.
/// The decoded weighted mean differs from the exact one by less than n / (scale · Σw) per coordinate.
///
/// With `carriesLoss`, one more word follows: round(lossScale · w · L) with L the site's mean training loss clamped to
/// ±`lossBound`, so the sum reveals only the weighted mean loss Σ wᵢLᵢ / Σ wᵢ (to within n / (2 · lossScale · Σw)).
public struct FixedPointEncoding: Sendable, Equatable {
    /// The largest training loss magnitude the loss word carries; larger losses are clamped to it.
    public static let lossBound = 100.0
    public let clipNorm: Double
    public let maxWeight: Int64
    public let sites: Int
    /// Standard deviation of the Gaussian noise each site adds per coordinate (0: none).
    public let noiseStandardDeviation: Double
    /// |w · (clipped Δᵢ + noise)| never exceeds maxWeight · coordinateBound (noise is clamped at 8 σ).
    public let coordinateBound: Double
    public let scale: Double
    /// Whether the words end with the site's weighted training loss (jobs without differential privacy).
    public let carriesLoss: Bool
    /// Fixed-point scale of the loss word: n sites' weighted losses of at most `lossBound` stay below 2^31.
    public var lossScale: Double { Self.range / (Double(sites) * Double(maxWeight) * Self.lossBound) }

    static let range = Double(Int32.max)

    public init(clipNorm: Double, maxWeight: Int64, sites: Int, noiseStandardDeviation: Double = 0, carriesLoss: Bool = false) throws {
        guard clipNorm > 0, clipNorm.isFinite else { throw FedCTError(.invalidConfiguration, "secure aggregation: clip_norm must be positive (got \(clipNorm))") }
        guard maxWeight >= 1 else { throw FedCTError(.invalidConfiguration, "secure aggregation: max_examples_per_site must be at least 1") }
        guard sites >= 1, Double(sites) * Double(maxWeight) < Self.range else {
            throw FedCTError(.invalidConfiguration, "secure aggregation: \(sites) sites × max_examples_per_site \(maxWeight) exceed the 2^31 range of the weight sum; lower max_examples_per_site")
        }
        guard noiseStandardDeviation >= 0, noiseStandardDeviation.isFinite else {
            throw FedCTError(.invalidConfiguration, "secure aggregation: noise standard deviation must be finite and not negative")
        }
        self.clipNorm = clipNorm
        self.maxWeight = maxWeight
        self.sites = sites
        self.noiseStandardDeviation = noiseStandardDeviation
        self.carriesLoss = carriesLoss
        self.coordinateBound = clipNorm + 8 * noiseStandardDeviation
        self.scale = Self.range / (Double(sites) * Double(maxWeight) * coordinateBound)
    }

    /// The L2 norm of `update` and the factor min(1, clipNorm / norm) that clips it.
    public func clipFactor(_ update: [Float]) -> (norm: Double, factor: Double) {
        let norm = update.withUnsafeBufferPointer { buffer in
            var sum = 0.0
            for value in buffer { sum += Double(value) * Double(value) }
            return sum.squareRoot()
        }
        return (norm, norm > clipNorm ? clipNorm / norm : 1)
    }

    /// The number of words that encode a `coordinates`-long update.
    public func wordCount(coordinates: Int) -> Int { coordinates + (carriesLoss ? 2 : 1) }

    /// Words 0…d of the encoding of `update` with example weight `weight` (and word d + 1, the weighted `loss`, when the
    /// encoding carries the loss). Randomness (rounding and noise) comes from a ChaCha20 stream under `randomKey`, a
    /// fresh key per encoding.
    public func encode(_ update: [Float], weight: Int64, loss: Double? = nil, randomKey: SymmetricKey = SymmetricKey(size: .bits256)) throws -> [UInt32] {
        guard (1...maxWeight).contains(weight) else {
            throw FedCTError(.invalidData, "example weight \(weight) is outside 1…\(maxWeight) (secure_aggregation.max_examples_per_site)")
        }
        guard carriesLoss == (loss != nil) else {
            throw FedCTError(.failedPrecondition, carriesLoss ? "this round sums the training loss; none was given" : "this round does not sum the training loss (a job with differential privacy); it is not encoded")
        }
        if let loss, !loss.isFinite { throw FedCTError(.invalidData, "the training loss is \(loss); nothing was encoded") }
        guard update.allSatisfy(\.isFinite) else { throw FedCTError(.invalidData, "the update has non-finite values; nothing was encoded") }
        let factor = clipFactor(update).factor
        let count = update.count
        // Two uniform words per coordinate: one for rounding, one more (Box–Muller pairs) for noise.
        let randomPerCoordinate = noiseStandardDeviation > 0 ? 2 : 1
        var random = [UInt32](repeating: 0, count: count * randomPerCoordinate)
        try random.withUnsafeMutableBufferPointer { try MaskExpansion(key: randomKey).apply(.add, to: $0) }
        var words = [UInt32](repeating: 0, count: wordCount(coordinates: count))
        words[0] = UInt32(weight)
        if let loss {
            let clamped = min(Self.lossBound, max(-Self.lossBound, loss))
            words[count + 1] = UInt32(truncatingIfNeeded: Int64((lossScale * Double(weight) * clamped).rounded()))
        }
        let scaledWeight = scale * Double(weight)
        let noiseBound = 8 * noiseStandardDeviation
        update.withUnsafeBufferPointer { values in
            random.withUnsafeBufferPointer { uniform in
                words.withUnsafeMutableBufferPointer { out in
                    for index in 0..<count {
                        var value = Double(values[index]) * factor
                        if randomPerCoordinate == 2 {
                            value += min(noiseBound, max(-noiseBound, noiseStandardDeviation * Self.gaussian(uniform[2 * index], uniform[2 * index + 1])))
                        }
                        let scaled = value * scaledWeight
                        let floor = scaled.rounded(.down)
                        let up = Double(uniform[randomPerCoordinate * index]) * 0x1p-32 < scaled - floor
                        out[index + 1] = UInt32(truncatingIfNeeded: Int64(floor) + (up ? 1 : 0))
                    }
                }
            }
        }
        return words
    }

    /// The summed weight, the weighted mean Σ wᵢΔᵢ / Σ wᵢ and (when the encoding carries it) the weighted mean loss
    /// Σ wᵢLᵢ / Σ wᵢ, from the unmasked sum of encodings.
    public func decode(sum words: [UInt32]) throws -> (weight: Int64, mean: [Float], loss: Double?) {
        guard let first = words.first, let last = words.last else { throw FedCTError(.invalidData, "decode: empty sum") }
        let (weight, loss) = try weightAndLoss(weightWord: first, lossWord: last)
        let coordinates = 1..<max(1, words.count - (carriesLoss ? 1 : 0))
        let mean = [Float](unsafeUninitializedCapacity: coordinates.count) { buffer, count in
            words.withUnsafeBufferPointer { self.mean(of: UnsafeBufferPointer(rebasing: $0[coordinates]), weight: weight, into: buffer) }
            count = coordinates.count
        }
        return (weight, mean, loss)
    }

    /// The summed weight (word 0 of the unmasked sum) and, when the encoding carries it, the weighted mean loss (its
    /// last word).
    public func weightAndLoss(weightWord: UInt32, lossWord: UInt32) throws -> (weight: Int64, loss: Double?) {
        let weight = Int64(Int32(bitPattern: weightWord))
        guard weight >= 1 else {
            throw FedCTError(.integrity, "the unmasked weight sum is \(weight); the masks did not cancel (a share or an input was wrong)")
        }
        return (weight, carriesLoss ? Double(Int32(bitPattern: lossWord)) / (lossScale * Double(weight)) : nil)
    }

    /// The weighted mean of some coordinates from their words of the unmasked sum, given the summed weight.
    public func mean(of coordinates: UnsafeBufferPointer<UInt32>, weight: Int64, into mean: UnsafeMutableBufferPointer<Float>) {
        let inverse = 1 / (scale * Double(weight))
        for index in coordinates.indices { mean[index] = Float(Double(Int32(bitPattern: coordinates[index])) * inverse) }
    }

    /// A standard normal draw from two uniform words (Box–Muller).
    static func gaussian(_ a: UInt32, _ b: UInt32) -> Double {
        let u1 = (Double(a) + 0.5) * 0x1p-32
        let u2 = Double(b) * 0x1p-32
        return (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
    }
}
