// BenchWorkersCommand: `fedct-site bench-workers` (hidden) — a site epoch alone and with N data-parallel worker processes, as a ratio.
import ArgumentParser
import FedCTCore
import FedCTData
import FedCTObservability
import FedCTProto
import FedCTSite
import Foundation
import Logging

/// Writes a synthetic site (`--patients` patients, `--size`³ volumes) and a site.yaml with `workers: --workers` and
/// `threads: --threads` into a temporary folder, then times one local epoch of a default-encoder time-to-event job alone
/// and through the workers (`SiteWorkerBenchmark`), and prints every run, the medians and their ratio. Used by
/// `Scripts/bench-workers.sh`.
struct BenchWorkersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-workers",
        abstract: "Times a site's local epoch alone and with --workers data-parallel processes on this machine (benchmark).",
        shouldDisplay: false)

    @Option(name: .long, help: "Processes of the data-parallel side, the agent's own included.")
    var workers = 2

    @Option(name: .long, help: "libtorch threads of every process.")
    var threads = 1

    @Option(name: .long, help: "Synthetic patients (one scan each) at the site.")
    var patients = 24

    @Option(name: .long, help: "Edge of the cubic input volume, in voxels.")
    var size = 32

    @Option(name: .long, help: "Timed runs of each side.")
    var runs = 3

    func run() throws {
        ProcessLogging.bootstrap(level: .warning)
        let folder = FileManager.default.temporaryDirectory.appending(path: "fedct-bench-workers-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try SyntheticConsortium(patientsPerSite: [patients], volumeSize: size, seed: 7).write(to: folder.appending(path: "data"))
        let path = folder.appending(path: "site.yaml").path
        try "data: {dir: data/site-1}\nthreads: \(threads)\nworkers: \(workers)\nstate_dir: state\n".write(toFile: path, atomically: true, encoding: .utf8)
        let config = try SiteConfig(contentsOf: path, forWorker: true)
        var spec = Fedct_V1_JobSpec.defaults
        spec.name = "bench-workers"
        spec.rounds = 1
        spec.training.localEpochs = 1
        spec.training.volumeSize = Int32(size)
        let figures = try SiteWorkerBenchmark.run(config: config, spec: spec, runs: runs,
                                                  executable: URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath(),
                                                  logger: Logger(label: "fedct.bench-workers"))
        func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
        func list(_ values: [Double]) -> String { values.map { String(format: "%.2f", $0) }.joined(separator: " ") }
        print("site epoch: \(patients) scans at \(size)³, batch \(spec.training.batchSize), encoder \(spec.encoder.architecture)-\(spec.encoder.depth) width \(spec.encoder.width), \(threads) thread(s) per process")
        print("  1 process:    runs \(list(figures.alone)) s, median \(String(format: "%.2f", median(figures.alone))) s")
        print("  \(workers) processes:  runs \(list(figures.parallel)) s, median \(String(format: "%.2f", median(figures.parallel))) s")
        print(String(format: "  speed-up (1 process / %d processes): %.2f", workers, median(figures.alone) / median(figures.parallel)))
    }
}
