// PlainAggregator: FedAvg's weighted sum of site updates, accumulated one contribution at a time in O(model) memory.

/// Sums site updates weighted by their example counts and returns their weighted mean.
///
/// This is the unmasked aggregation seam: the coordinator feeds it each verified update as a
/// sequence of coordinate chunks, so memory stays one accumulator of the model's size however many
/// sites contribute. Secure aggregation replaces this type behind the same calls.
public struct PlainAggregator: Sendable {
    public let coordinateCount: Int
    public private(set) var contributors: [String] = []
    public private(set) var totalWeight: Int64 = 0
    private var sum: [Double]
    private var open: (site: String, weight: Int64, filled: Int)?

    public init(coordinateCount: Int) {
        self.coordinateCount = coordinateCount
        self.sum = [Double](repeating: 0, count: coordinateCount)
    }

    /// Starts the contribution of `site`, whose update averages over `weight` examples.
    public mutating func begin(site: String, weight: Int64) throws {
        guard open == nil else {
            throw FedCTError(.failedPrecondition, "aggregator: \(site) started before \(open!.site)'s contribution ended")
        }
        guard weight > 0 else {
            throw FedCTError(.invalidData, "update from \(site) has example count \(weight); it must be positive")
        }
        guard !contributors.contains(site) else {
            throw FedCTError(.protocolViolation, "\(site) already contributed to this round")
        }
        open = (site, weight, 0)
    }

    /// Adds the next coordinates of the open contribution.
    public mutating func add(_ coordinates: UnsafeBufferPointer<Float>) throws {
        guard let current = open else { throw FedCTError(.failedPrecondition, "aggregator: coordinates with no open contribution") }
        guard current.filled + coordinates.count <= coordinateCount else {
            throw FedCTError(.integrity, "update from \(current.site) has more than the model's \(coordinateCount) coordinates")
        }
        let weight = Double(current.weight)
        sum.withUnsafeMutableBufferPointer { target in
            for (index, value) in coordinates.enumerated() {
                target[current.filled + index] += weight * Double(value)
            }
        }
        open!.filled += coordinates.count
    }

    /// Ends the open contribution; it must have exactly `coordinateCount` coordinates.
    public mutating func end() throws {
        guard let current = open else { throw FedCTError(.failedPrecondition, "aggregator: end with no open contribution") }
        guard current.filled == coordinateCount else {
            throw FedCTError(.integrity, "update from \(current.site) has \(current.filled) coordinates; the model has \(coordinateCount)")
        }
        contributors.append(current.site)
        totalWeight += current.weight
        open = nil
    }

    /// The example-weighted mean of the contributions so far.
    public func weightedMean() throws -> [Float] {
        guard totalWeight > 0, open == nil else {
            throw FedCTError(.failedPrecondition, "aggregator: no complete contribution to average")
        }
        let scale = 1.0 / Double(totalWeight)
        return sum.map { Float($0 * scale) }
    }
}
