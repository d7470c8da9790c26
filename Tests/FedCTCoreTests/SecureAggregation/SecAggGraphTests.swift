// SecAggGraphTests: the complete and SecAgg+ sparse neighbour graphs, their degree choice, and exact sums over them.
@testable import FedCTCore
import XCTest

final class SecAggGraphTests: XCTestCase {
    let names = (1...120).map { String(format: "site-%03d", $0) }

    func testSmallFederationsShareWithEveryone() throws {
        let graph = try SecAggGraph(members: Array(names.prefix(7)), parameters: SecAggParameters(), seed: [UInt8](repeating: 1, count: 32))
        XCTAssertTrue(graph.isComplete)
        XCTAssertEqual(graph.threshold, 4, "⌊7/2⌋ + 1")
        XCTAssertEqual(graph.neighbours(of: "site-003").count, 6)
    }

    func testSparseGraphIsRegularSymmetricSeededAndConnected() throws {
        let parameters = SecAggParameters(sparseAbove: 50)
        let graph = try SecAggGraph(members: names, parameters: parameters, seed: [UInt8](repeating: 1, count: 32))
        XCTAssertFalse(graph.isComplete)
        XCTAssertEqual(graph.degree % 2, 0)
        XCTAssertEqual(graph.threshold, graph.degree / 2 + 1, "a majority of the neighbourhood")
        for site in names {
            XCTAssertEqual(graph.neighbours(of: site).count, graph.degree, site)
            XCTAssertFalse(graph.neighbours(of: site).contains(site))
            for neighbour in graph.neighbours(of: site) { XCTAssertTrue(graph.neighbours(of: neighbour).contains(site), "\(site)–\(neighbour)") }
        }
        XCTAssertTrue(graph.isConnected(Set(names)))
        let again = try SecAggGraph(members: names.reversed(), parameters: parameters, seed: [UInt8](repeating: 1, count: 32))
        XCTAssertEqual(again, graph, "every party derives the same graph from the same advertisements")
        let other = try SecAggGraph(members: names, parameters: parameters, seed: [UInt8](repeating: 2, count: 32))
        XCTAssertNotEqual(other.neighbours(of: "site-001"), graph.neighbours(of: "site-001"))
        // A survivor set cut off from the rest is detected (the ring broken in two places by removing whole neighbourhoods).
        let isolated = "site-001"
        let cut = Set(names).subtracting(graph.neighbours(of: isolated))
        XCTAssertFalse(graph.isConnected(cut))
    }

    func testDegreeGrowsSlowlyWithTheFederationAndMeetsTheFailureBound() throws {
        let small = try XCTUnwrap(SecAggGraph.sparseDegree(sites: 100, dropout: 0.1, corrupt: 0.05))
        let large = try XCTUnwrap(SecAggGraph.sparseDegree(sites: 10_000, dropout: 0.1, corrupt: 0.05))
        XCTAssertLessThan(small.degree, 99)
        XCTAssertLessThanOrEqual(small.degree, large.degree)
        XCTAssertLessThan(large.degree, 200, "logarithmic, not linear, in n")
        // The chosen degree meets 2^-40 over all sites; two less does not.
        func failure(_ k: Int, _ n: Int) -> Double {
            let t = k / 2 + 1
            return SecAggGraph.logAdd(SecAggGraph.logBinomialCDF(below: t, trials: k + 1, probability: 0.9),
                                      SecAggGraph.logBinomialCDF(atLeast: t, trials: k, probability: 0.05)) + log(Double(n))
        }
        XCTAssertLessThanOrEqual(failure(large.degree, 10_000), -40 * log(2.0))
        XCTAssertGreaterThan(failure(large.degree - 2, 10_000), -40 * log(2.0))
        XCTAssertNil(SecAggGraph.sparseDegree(sites: 20, dropout: 0.4, corrupt: 0.3), "only the complete graph is safe enough")
        XCTAssertEqual(SecAggGraph.logBinomialCDF(below: 2, trials: 3, probability: 0.5), log(0.5), accuracy: 1e-12)
    }

    func testSumIsExactOverTheSparseGraphWithDropouts() throws {
        let parameters = SecAggParameters(minCohort: 2, stepTimeout: 10, sparseAbove: 20, degree: 8)
        let simulation = SecAggSimulation(settings: parameters, clipNorm: 10, maxWeight: 100)
        let inputs = Dictionary(uniqueKeysWithValues: names.prefix(40).map { ($0, ((0..<9).map { _ in Float.random(in: -0.1...0.1) }, Int64.random(in: 1...100))) })
        let dropouts: [String: SecAggSimulation.DropPoint] = ["site-003": .mask, "site-017": .mask, "site-030": .share, "site-011": .advertise]
        let report = try simulation.run(inputs: inputs, dropouts: dropouts)
        XCTAssertEqual(report.threshold, 5)
        XCTAssertTrue(report.sumIsExact)
        XCTAssertEqual(report.survivors.count, 36)
        XCTAssertLessThan(report.bytesPerSite, 9 * 4 + 4 + 8 * 200 + 4000, "shares go to 8 neighbours, not 39 sites")
    }
}
