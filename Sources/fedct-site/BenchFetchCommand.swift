// BenchFetchCommand: `fedct-site bench-fetch` (hidden) — times a site's FetchModel of one stored model through its own link, as Scripts/bench-transfer.sh's site path.
import ArgumentParser
import FedCTSite
import Foundation
import Logging

/// Downloads the model `--sha256` (`--bytes` long) `--repeats` times as the site agent does in every round — over the
/// link site.yaml describes, mTLS, chunks checked for their offsets, the hash checked, the call in the egress ledger —
/// and prints each download's seconds and their median. The process start is not in the figures.
struct BenchFetchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-fetch",
        abstract: "Times FetchModel of one stored model through the site's link (benchmark).",
        shouldDisplay: false)

    @OptionGroup var site: SiteConfigOption

    @Option(name: .long, help: "SHA-256 of the stored model (its blob's name).")
    var sha256: String

    @Option(name: .long, help: "The model's size in bytes.")
    var bytes: Int64

    @Option(name: .long, help: "Timed downloads.")
    var repeats = 3

    func run() async throws {
        guard repeats >= 1, bytes >= 0 else { throw ValidationError("--repeats must be at least 1 and --bytes at least 0") }
        let link = try CoordinatorLink(site: try SiteConfig(contentsOf: site.config), agentVersion: SiteAgent.version,
                                       logger: Logger(label: "fedct.site.bench-fetch"))
        var seconds: [Double] = []
        for _ in 0..<repeats {
            let start = ContinuousClock.now
            let blob = try await link.fetchModel(sha256: sha256, expectedBytes: bytes)
            let elapsed = start.duration(to: .now)
            guard blob.count == bytes else { throw ValidationError("the download has \(blob.count) bytes, not --bytes \(bytes)") }
            seconds.append(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18)
        }
        let sorted = seconds.sorted()
        let median = (sorted[(sorted.count - 1) / 2] + sorted[sorted.count / 2]) / 2
        print("seconds " + seconds.map { String(format: "%.4f", $0) }.joined(separator: " ") + String(format: " median %.4f", median))
    }
}
