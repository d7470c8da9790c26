// SecAggGraph: who shares keys and masks with whom — everyone (Bonawitz et al.) or a sparse random Harary graph (SecAgg+).
import Crypto
import Foundation

/// The secure-aggregation parameters a job fixes; the coordinator and every site derive the same
/// graph and threshold from them and the key holders, so a coordinator cannot weaken them unseen.
public struct SecAggParameters: Sendable, Equatable {
    /// Requested threshold for the complete graph; 0 means max(minCohort, ⌊n/2⌋ + 1).
    public var threshold: Int
    public var minCohort: Int
    /// Seconds the advertise, share and unmask steps wait for slow sites (coordinator only).
    public var stepTimeout: Double
    /// Above this many key holders, sites share with a sparse neighbour graph instead of with everyone.
    public var sparseAbove: Int
    /// Neighbours per site in the sparse graph (even); 0 chooses it from the rates below.
    public var degree: Int
    /// The dropout and corrupt-site fractions the sparse graph must tolerate (failure probability ≤ 2^-40).
    public var maxDropoutFraction: Double
    public var maxCorruptFraction: Double

    public init(threshold: Int = 0, minCohort: Int = 2, stepTimeout: Double = 120, sparseAbove: Int = 50, degree: Int = 0,
                maxDropoutFraction: Double = 0.1, maxCorruptFraction: Double = 0.05) {
        self.threshold = threshold
        self.minCohort = minCohort
        self.stepTimeout = stepTimeout
        self.sparseAbove = sparseAbove
        self.degree = degree
        self.maxDropoutFraction = maxDropoutFraction
        self.maxCorruptFraction = maxCorruptFraction
    }
}

/// The neighbour graph of one session over its key holders U1, with the Shamir threshold t.
///
/// Complete (every site shares with every other) up to `sparseAbove` sites; beyond, a Harary graph
/// H(n, k) over a pseudorandom ordering of the sites (Bell et al., CCS 2020): each site is joined to
/// the k/2 nearest on either side of a ring. The ordering's seed is the hash of all signed key
/// advertisements, which every site checks, so the coordinator cannot place sites at will. Each
/// site's secrets are shared among its neighbourhood (itself and its k neighbours) with t a majority
/// of it, so no two disjoint sets of neighbours can each rebuild one of a site's two secrets.
public struct SecAggGraph: Sendable, Equatable {
    public let members: [String]
    public let degree: Int
    public let threshold: Int
    private let adjacency: [String: Set<String>]

    public var isComplete: Bool { degree >= members.count - 1 }

    /// The graph the parameters give for the key holders `members` whose advertisements hash to `seed`.
    public init(members: [String], parameters: SecAggParameters, seed: [UInt8]) throws {
        let sorted = members.sorted()
        let n = sorted.count
        self.members = sorted
        let chosen: (degree: Int, threshold: Int)?
        if n <= parameters.sparseAbove || n <= 3 {
            chosen = nil
        } else if parameters.degree > 0 {
            guard parameters.degree % 2 == 0 else {
                throw FedCTError(.invalidConfiguration, "secure aggregation: graph_degree must be even (got \(parameters.degree))")
            }
            chosen = parameters.degree >= n - 1 ? nil : (parameters.degree, (parameters.degree + 1) / 2 + 1)
        } else {
            chosen = Self.sparseDegree(sites: n, dropout: parameters.maxDropoutFraction, corrupt: parameters.maxCorruptFraction)
        }
        guard let chosen else {
            degree = n - 1
            threshold = max(parameters.threshold, parameters.minCohort, n / 2 + 1)
            adjacency = Dictionary(uniqueKeysWithValues: sorted.map { ($0, Set(sorted).subtracting([$0])) })
            return
        }
        degree = chosen.degree
        threshold = max(chosen.threshold, parameters.minCohort)
        let ring = try Self.shuffled(sorted, seed: seed)
        var adjacency: [String: Set<String>] = [:]
        for (position, site) in ring.enumerated() {
            var neighbours = Set<String>()
            for step in 1...(chosen.degree / 2) {
                neighbours.insert(ring[(position + step) % n])
                neighbours.insert(ring[(position - step + n) % n])
            }
            adjacency[site] = neighbours
        }
        self.adjacency = adjacency
    }

    /// The sites `site` shares keys and masks with (not itself).
    public func neighbours(of site: String) -> Set<String> { adjacency[site] ?? [] }

    /// Whether `nodes` induce a connected subgraph: only then does unmasking reveal nothing but their total.
    public func isConnected(_ nodes: Set<String>) -> Bool {
        guard let start = nodes.first else { return true }
        var seen: Set<String> = [start]
        var frontier = [start]
        while let node = frontier.popLast() {
            for next in neighbours(of: node) where nodes.contains(next) && seen.insert(next).inserted { frontier.append(next) }
        }
        return seen.count == nodes.count
    }

    /// The seed of the sparse graph's ordering: SHA-256 of every signed advertisement's bytes, in member order.
    public static func seed(advertisements: [[UInt8]]) -> [UInt8] {
        var hasher = SHA256()
        for bytes in advertisements { hasher.update(data: SecAggContext.encode([bytes])) }
        return Array(hasher.finalize())
    }

    /// The smallest even degree k < n − 1 whose neighbourhoods (k + 1 sites, threshold a majority) fail
    /// with probability at most 2^-40 summed over all sites: fewer than t survive dropouts at rate δ, or
    /// t of a site's neighbours are corrupt at rate γ. Nil when only the complete graph qualifies.
    static func sparseDegree(sites n: Int, dropout: Double, corrupt: Double) -> (degree: Int, threshold: Int)? {
        let budget = -40 * log(2.0) - log(Double(n))
        for k in stride(from: 4, to: n - 1, by: 2) {
            let t = (k + 1) / 2 + 1
            let tooFewSurvive = logBinomialCDF(below: t, trials: k + 1, probability: 1 - dropout)
            let tooManyCorrupt = logBinomialCDF(atLeast: t, trials: k, probability: corrupt)
            if logAdd(tooFewSurvive, tooManyCorrupt) <= budget { return (k, t) }
        }
        return nil
    }

    /// log P(Bin(m, p) < t).
    static func logBinomialCDF(below t: Int, trials m: Int, probability p: Double) -> Double {
        (0..<max(0, min(t, m + 1))).map { logBinomialPMF($0, trials: m, probability: p) }.reduce(-Double.infinity, logAdd)
    }

    /// log P(Bin(m, p) ≥ t).
    static func logBinomialCDF(atLeast t: Int, trials m: Int, probability p: Double) -> Double {
        guard t <= m else { return -.infinity }
        return (max(0, t)...m).map { logBinomialPMF($0, trials: m, probability: p) }.reduce(-Double.infinity, logAdd)
    }

    static func logBinomialPMF(_ i: Int, trials m: Int, probability p: Double) -> Double {
        if p <= 0 { return i == 0 ? 0 : -.infinity }
        if p >= 1 { return i == m ? 0 : -.infinity }
        return lgamma(Double(m + 1)) - lgamma(Double(i + 1)) - lgamma(Double(m - i + 1)) + Double(i) * log(p) + Double(m - i) * log1p(-p)
    }

    static func logAdd(_ a: Double, _ b: Double) -> Double {
        let high = max(a, b), low = min(a, b)
        return high == -.infinity ? high : high + log1p(exp(low - high))
    }

    /// A Fisher–Yates shuffle driven by the ChaCha20 keystream of `seed`.
    static func shuffled(_ members: [String], seed: [UInt8]) throws -> [String] {
        var words = [UInt32](repeating: 0, count: 2 * members.count)
        try words.withUnsafeMutableBufferPointer { try MaskExpansion(key: SymmetricKey(data: seed)).apply(.add, to: $0) }
        var ring = members
        for index in stride(from: ring.count - 1, to: 0, by: -1) {
            let draw = UInt64(words[2 * index]) << 32 | UInt64(words[2 * index + 1])
            ring.swapAt(index, Int(draw % UInt64(index + 1)))
        }
        return ring
    }
}
