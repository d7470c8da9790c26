// fedctl experiment tte: the experiment table — the job's encoder trained five ways, scored on every site's held-out patients.
import ArgumentParser
import FedCTCore
import FedCTData
import FedCTProto
import FedCTTraining
import Foundation

struct ExperimentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "experiment", abstract: "Run experiments on site data in this process.",
                                                    subcommands: [ExperimentTTE.self])
}

struct ExperimentTTE: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tte",
        abstract: "Random init, local-only, federated (FedAvg, secure), centralised TTE pretraining and the oracle, scored by a Cox probe.",
        discussion: """
            Trains the job spec's encoder in this process: local-only at each --data site, federated (FedAvg, and \
            through the secure-aggregation encoding with the spec's DP), and centralised on the pooled train scans, \
            for the spec's rounds × local epochs. Every model is scored by the same Cox probe on frozen embeddings, fit \
            on all sites' train scans: Harrell's C, Uno's C, integrated Brier score and one-year AUROC with 95 % \
            bootstrap intervals, on the pooled held-out scans and the smallest site's. Progress goes to stderr. See \
            Docs/coordinator-guide.md, "The experiment table".
            """)

    @Option(name: .long, help: "The job.yaml, or `fedctl job status JOB --json` output (needed for a job that derives its tasks).") var jobSpec: String
    @Option(name: .long, help: "Site data folder (repeatable), as written by fedctl synth.") var data: [String]
    @Option(name: .long, help: "ground_truth.csv of the synthetic data, for the oracle row.") var groundTruth: String?
    @Option(name: .long, help: "label=model.safetensors: a pre-trained model to score too (repeatable).") var model: [String] = []
    @Option(name: .long, help: "Rounds (default: the job spec's).") var rounds: Int?
    @Option(name: .long, help: "Outcome code to score (repeatable; default DEATH). The checks use the first.") var task: [String] = []
    @Option(name: .long, help: "Write PREFIX.md and PREFIX.csv.") var out: String?
    @Option(name: .long, help: "Bootstrap resamples for the 95 % intervals.") var bootstrap = 1000
    @Option(name: .long, help: "Threads: sites train in parallel, one Torch thread each; the centralised arm uses them all.") var threads = ProcessInfo.processInfo.activeProcessorCount
    @Flag(name: .long, help: "Print JSON (arms, rows, checks, seconds) instead of the text table.") var json = false

    func run() throws {
        var spec = try Fedct_V1_JobSpec(contentsOf: jobSpec)
        if let rounds {
            guard rounds >= 1 else { throw ValidationError("--rounds must be at least 1") }
            spec.rounds = Int32(rounds)
        }
        guard bootstrap >= 1 else { throw ValidationError("--bootstrap must be at least 1") }
        let tasks = task.isEmpty ? ["DEATH"] : task
        let sites = try data.map { folder in
            TTEExperiment.Site(name: URL(fileURLWithPath: folder).lastPathComponent,
                               dataset: try SiteDataset.load(directory: folder, labeler: spec.labeler, preprocessing: spec.preprocessingPipeline,
                                                             alsoTracking: Set(tasks)))
        }
        var experiment = TTEExperiment(spec: spec, sites: sites)
        experiment.groundTruth = try groundTruth.map(SyntheticGroundTruth.init(path:))
        experiment.tasks = tasks
        experiment.bootstrapReplicates = bootstrap
        experiment.threads = threads
        experiment.pretrained = try model.map { entry in
            let parts = entry.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw ValidationError("--model takes label=path (got '\(entry)')") }
            guard let bytes = FileManager.default.contents(atPath: parts[1]) else { throw FedCTError(.io, "\(parts[1]): cannot read the model file") }
            return (parts[0], try SafeTensors.decode([UInt8](bytes), source: parts[1]))
        }
        experiment.progress = { FileHandle.standardError.write(Data(("experiment: " + $0 + "\n").utf8)) }
        let table = try experiment.run()
        if let out {
            try Data(table.markdown.utf8).write(to: URL(fileURLWithPath: out + ".md"))
            try Data(table.csv.utf8).write(to: URL(fileURLWithPath: out + ".csv"))
        }
        if json { return try printJSON(table) }
        print("Experiment table: \(sites.count) sites, \(spec.rounds) rounds × \(spec.training.localEpochs) local epochs; Cox probe on frozen embeddings fit on all train scans")
        print(TextTable.render(header: table.summaryHeader, rows: table.summaryCells))
        print("Estimates with 95 % bootstrap intervals (\(bootstrap) resamples of held-out patients); IBS: lower is better.")
        print()
        for check in table.checks { print("\(check.verdict): \(check.statement) — \(check.detail)") }
        print(String(format: "wall time %.0f s", table.seconds) + (out.map { "; wrote \($0).md and \($0).csv" } ?? ""))
    }

    private func printJSON(_ table: ExperimentTable) throws {
        try JSONOutput.print([
            "seconds": table.seconds,
            "arms": table.arms.map { ["label": $0.label, "training_seconds": $0.trainingSeconds] as [String: Any] },
            "rows": table.rows.map { row -> [String: Any] in
                var object: [String: Any] = ["arm": row.arm, "cohort": row.cohort, "task": row.task, "metric": row.metric.rawValue,
                                             "n": row.patients, "events": row.events]
                if let interval = row.interval {
                    object["estimate"] = interval.estimate
                    object["lower"] = interval.lower
                    object["upper"] = interval.upper
                }
                if let note = row.note { object["note"] = note }
                return object
            },
            "checks": table.checks.map { ["statement": $0.statement, "detail": $0.detail, "verdict": $0.verdict] },
        ])
    }
}
