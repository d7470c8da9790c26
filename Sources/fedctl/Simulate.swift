// fedctl simulate secagg: one secure-aggregation round with the real state machines and crypto in one process, timed.
import ArgumentParser
import FedCTCore
import FedCTData
import Foundation

struct Simulate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Simulate protocols in one process (no network).",
        subcommands: [SecureAggregationSimulation.self])
}

struct SecureAggregationSimulation: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "secagg",
        abstract: "Run one secure-aggregation round for N sites; print per-step timings, bytes per site and the error against the plain sum.")

    @Option(name: .long, help: "Number of sites.")
    var sites = 10

    @Option(name: .long, help: "Model parameters per update, e.g. 1000, 250k or 33M.")
    var params = "1M"

    @Option(name: .long, help: "How many sites drop out.")
    var dropouts = 0

    @Option(name: .long, help: "The step the dropping sites never perform: advertise, share, mask (they drop after sharing keys) or unmask.")
    var phase: String = "mask"

    @Option(name: .long, help: "Shamir threshold t (0: max(min-cohort, floor(n/2)+1)).")
    var threshold = 0

    @Option(name: .long, help: "Above this many sites, use SecAgg+'s sparse neighbour graph.")
    var sparseAbove = 50

    @Option(name: .long, help: "Neighbours per site in the sparse graph (even; 0 chooses it from the dropout and corruption rates).")
    var degree = 0

    @Option(name: .long, help: "L2 clip bound of each update.")
    var clipNorm = 100.0

    @Option(name: .long, help: "Largest example weight of a site.")
    var maxWeight: Int64 = 10_000

    @Option(name: .long, help: "Seed of the synthetic updates.")
    var seed: UInt64 = 1

    @Flag(name: .long, help: "Print the report as JSON.")
    var json = false

    func run() throws {
        guard let count = Self.parseCount(params), count >= 1 else { throw ValidationError("--params: '\(params)' is not a count like 1000, 250k or 33M") }
        guard let point = SecAggSimulation.DropPoint(rawValue: phase) else {
            throw ValidationError("--phase must be one of \(SecAggSimulation.DropPoint.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard sites >= 2, (0..<sites).contains(dropouts) else { throw ValidationError("--sites must be at least 2 and --dropouts below it") }
        var random = SeededGenerator(seed: seed)
        var inputs: [String: (update: [Float], weight: Int64)] = [:]
        let names = (1...sites).map { String(format: "site-%03d", $0) }
        for name in names {
            // Deltas of a typical local round: small, centred, with the scale varying by site.
            let scale = Float(1e-3) * Float(1 + random.next() % 4)
            let update = [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
                for index in 0..<count { buffer[index] = scale * (Float(random.next() >> 40) * 0x1p-24 - 0.5) }
                initialized = count
            }
            inputs[name] = (update, Int64(1 + random.next() % UInt64(maxWeight)))
        }
        let dropping = Dictionary(uniqueKeysWithValues: names.suffix(dropouts).map { ($0, point) })
        let parameters = SecAggParameters(threshold: threshold, minCohort: 2, stepTimeout: 60, sparseAbove: sparseAbove, degree: degree)
        let simulation = SecAggSimulation(settings: parameters, clipNorm: clipNorm, maxWeight: maxWeight)
        let report = try simulation.run(inputs: inputs, dropouts: dropping)
        json ? try printJSON(report) : printTable(report)
    }

    private func printTable(_ report: SecAggSimulation.Report) {
        let dropped = report.dropped.keys.sorted()
        let graph = report.degree >= report.sites - 1 ? "every site shares with every other" : "SecAgg+ graph, \(report.degree) neighbours per site"
        print("secure aggregation: \(report.sites) sites, \(report.coordinates) parameters, \(graph), threshold \(report.threshold), "
              + "\(dropped.count) dropped before '\(phase)' (\(dropped.prefix(8).joined(separator: ", "))\(dropped.count > 8 ? ", …" : ""))")
        print("\nper site (mean over the sites that did the step)")
        for step in report.siteSeconds { print("  " + step.step.padding(toLength: 34, withPad: " ", startingAt: 0) + Self.seconds(step.seconds)) }
        print("coordinator")
        for step in report.coordinatorSeconds { print("  " + step.step.padding(toLength: 34, withPad: " ", startingAt: 0) + Self.seconds(step.seconds)) }
        let secureCoordinator = report.coordinatorSeconds.reduce(0) { $0 + $1.seconds }
        print("  " + "plain weighted sum (baseline)".padding(toLength: 34, withPad: " ", startingAt: 0) + Self.seconds(report.plainAggregationSeconds)
              + String(format: "   secure / plain = %.2f×", secureCoordinator / max(report.plainAggregationSeconds, 1e-9)))
        print(String(format: "\nbytes per site      %.1f MB, float32 update %.1f MB: %.5f× the float32 size",
                     Double(report.bytesPerSite) / 1e6, Double(report.float32Bytes) / 1e6, Double(report.bytesPerSite) / Double(report.float32Bytes)))
        print(String(format: "mask generation     %.2f GB/s on one core (ChaCha20 keystream added into the update)", report.maskBytesPerSecond / 1e9))
        print(String(format: "sum exact           %@ (unmasked words equal the sum of the survivors' encodings)", report.sumIsExact ? "yes" : "NO"))
        print(String(format: "max |error|         %.3g against the plain weighted mean (bound n/(scale·Σw) = %.3g)", report.maxAbsoluteError, report.errorBound))
    }

    private func printJSON(_ report: SecAggSimulation.Report) throws {
        let object: [String: Any] = [
            "sites": report.sites, "parameters": report.coordinates, "threshold": report.threshold, "degree": report.degree,
            "dropped": report.dropped.keys.sorted(), "drop_phase": phase, "survivors": report.survivors,
            "site_seconds": Dictionary(uniqueKeysWithValues: report.siteSeconds.map { ($0.step, $0.seconds) }),
            "coordinator_seconds": Dictionary(uniqueKeysWithValues: report.coordinatorSeconds.map { ($0.step, $0.seconds) }),
            "plain_aggregation_seconds": report.plainAggregationSeconds,
            "bytes_per_site": report.bytesPerSite, "float32_bytes": report.float32Bytes,
            "mask_bytes_per_second": report.maskBytesPerSecond, "sum_exact": report.sumIsExact,
            "max_abs_error": report.maxAbsoluteError, "error_bound": report.errorBound,
        ]
        try JSONOutput.print(object)
    }

    static func seconds(_ value: Double) -> String { String(format: "%9.3f s", value) }

    /// 1000, 250k, 33M, 1.5G.
    static func parseCount(_ text: String) -> Int? {
        let multipliers: [Character: Double] = ["k": 1e3, "K": 1e3, "m": 1e6, "M": 1e6, "g": 1e9, "G": 1e9]
        if let last = text.last, let multiplier = multipliers[last], let value = Double(text.dropLast()) { return Int(value * multiplier) }
        return Int(text)
    }
}
