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
        abstract: "Random init, local-only, federated (FedAvg, secure), centralised TTE pretraining and the oracle, over seeds, on the paper's tasks.",
        discussion: """
            Trains the job spec's encoder in this process, once per seed: local-only at each --data site, federated \
            (FedAvg, and through the secure-aggregation encoding with the spec's DP), and centralised on the pooled train \
            scans, for the spec's rounds × local epochs. Every model is scored by the same probes on frozen embeddings, \
            fit on all sites' train scans: the eight binary tasks (mortality and readmission at 30/182/365 days, PE and \
            PH within 365 days) by AUROC of a logistic probe, and the time-to-event tasks (DEATH, PE, PH, READMISSION) \
            by Harrell's C, Uno's C, time-dependent AUC and integrated Brier score of a Cox probe, on the pooled \
            held-out scans and each site's, with 95 % two-level bootstrap intervals (seeds, then patients). Prints the \
            relative gains over random init, the three checks and their precision. Progress goes to stderr. See \
            Docs/coordinator-guide.md, "The experiment table".
            """)

    @Option(name: .long, help: "The job.yaml, or `fedctl job status JOB --json` output (needed for a job that derives its tasks).") var jobSpec: String
    @Option(name: .long, help: "Site data folder (repeatable), as written by fedctl synth.") var data: [String]
    @Option(name: .long, help: "ground_truth.csv of the synthetic data, for the oracle row.") var groundTruth: String?
    @Option(name: .long, help: "label=model.safetensors: a pre-trained model to score too (repeatable).") var model: [String] = []
    @Option(name: .long, help: "Rounds (default: the job spec's).") var rounds: Int?
    @Option(name: .long, help: "Training seeds per arm (arms are paired by seed).") var seeds = 5
    @Option(name: .long, help: "Write PREFIX.md, PREFIX.csv, PREFIX-curves.csv, PREFIX-forest.svg and PREFIX-curves.svg.") var out: String?
    @Option(name: .long, help: "Bootstrap resamples for the 95 % intervals.") var bootstrap = 1000
    @Option(name: .long, help: "Half-width the checks' paired differences aim for.") var target = 0.02
    @Option(name: .long, help: "Threads: sites train in parallel, one Torch thread each; the centralised arm uses them all.") var threads = ProcessInfo.processInfo.activeProcessorCount
    @Flag(name: .long, help: "Skip the learning curves' per-round scoring (the train losses are kept).") var noCurves = false
    @Flag(name: .long, help: "Print JSON (arms, rows, gains, differences, checks, curves, seconds) instead of the text table.") var json = false

    func run() throws {
        var spec = try Fedct_V1_JobSpec(contentsOf: jobSpec)
        if let rounds {
            guard rounds >= 1 else { throw ValidationError("--rounds must be at least 1") }
            spec.rounds = Int32(rounds)
        }
        guard bootstrap >= 1 else { throw ValidationError("--bootstrap must be at least 1") }
        guard seeds >= 1 else { throw ValidationError("--seeds must be at least 1") }
        guard target > 0 else { throw ValidationError("--target must be positive") }
        let sites = try data.map { folder in
            TTEExperiment.Site(name: URL(fileURLWithPath: folder).lastPathComponent,
                               dataset: try SiteDataset.load(directory: folder, labeler: spec.labeler, preprocessing: spec.preprocessingPipeline,
                                                             alsoTracking: BinaryOutcome.trackedCodes))
        }
        var experiment = TTEExperiment(spec: spec, sites: sites)
        experiment.groundTruth = try groundTruth.map(SyntheticGroundTruth.init(path:))
        experiment.seeds = seeds
        experiment.bootstrapReplicates = bootstrap
        experiment.targetHalfWidth = target
        experiment.learningCurves = !noCurves
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
            try FileManager.default.createDirectory(at: URL(fileURLWithPath: out).deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(table.markdown.utf8).write(to: URL(fileURLWithPath: out + ".md"))
            try Data(table.csv.utf8).write(to: URL(fileURLWithPath: out + ".csv"))
            try Data(table.curvesCSV.utf8).write(to: URL(fileURLWithPath: out + "-curves.csv"))
            try Data(ExperimentPlots.forest(table).utf8).write(to: URL(fileURLWithPath: out + "-forest.svg"))
            try Data(ExperimentPlots.learningCurves(table).utf8).write(to: URL(fileURLWithPath: out + "-curves.svg"))
        }
        if json { return try printJSON(table) }
        let heldout = sites.map(\.dataset.heldout.count).reduce(0, +)
        print("Experiment table: \(sites.count) sites, \(heldout) held-out patients, \(seeds) seed(s), \(spec.rounds) rounds × \(spec.training.localEpochs) local epochs; probes on frozen embeddings fit on all train scans")
        print(TextTable.render(header: table.summaryHeader, rows: table.summaryCells(cohort: "pooled")))
        print("Pooled held-out patients (every site's: --out PREFIX.md); means over seeds with 95 % two-level bootstrap intervals (\(bootstrap) resamples of seeds, then patients); IBS: lower is better.")
        print()
        print(TextTable.render(header: ExperimentTable.gainHeader, rows: table.gainCells))
        print()
        for check in table.checks { print("\(check.verdict): \(check.statement) — \(check.detail)") }
        for line in table.differenceLines { print("precision: \(line)") }
        print(String(format: "wall time %.0f s (", table.seconds) + table.phaseLine + ")"
            + (out.map { "; wrote \($0).md, .csv, -curves.csv, -forest.svg, -curves.svg" } ?? ""))
    }

    private func printJSON(_ table: ExperimentTable) throws {
        func interval(_ value: BootstrapInterval?, into object: inout [String: Any]) {
            guard let value else { return }
            object["estimate"] = value.estimate
            object["lower"] = value.lower
            object["upper"] = value.upper
        }
        try JSONOutput.print([
            "seconds": table.seconds,
            "seeds": table.seeds,
            "phases": Dictionary(table.phases.map { ($0.name, $0.seconds) }, uniquingKeysWith: { first, _ in first }),
            "arms": table.arms.map { ["label": $0.label, "training_seconds": $0.trainingSeconds] as [String: Any] },
            "rows": table.rows.map { row -> [String: Any] in
                var object: [String: Any] = ["arm": row.arm, "cohort": row.cohort, "task": row.task, "metric": row.metric.rawValue,
                                             "n": row.patients, "events": row.events]
                interval(row.interval, into: &object)
                if let note = row.note { object["note"] = note }
                return object
            },
            "gains": table.gains.map { gain -> [String: Any] in
                var object: [String: Any] = ["arm": gain.arm, "task": gain.task, "metric": gain.metric.rawValue]
                interval(gain.interval, into: &object)
                if let note = gain.note { object["note"] = note }
                return object
            },
            "differences": table.differences.map { difference -> [String: Any] in
                var object: [String: Any] = ["name": difference.name, "cohort": difference.cohort, "task": difference.task, "metric": difference.metric.rawValue]
                interval(difference.interval, into: &object)
                if let precision = difference.precision {
                    object["half_width"] = precision.halfWidth
                    object["seed_variance"] = precision.seedVariance
                    object["patient_variance"] = precision.patientVariance
                    if let seeds = precision.seedsNeeded { object["seeds_needed"] = seeds }
                    if let patients = precision.patientsNeeded { object["patients_needed"] = patients }
                }
                return object
            },
            "checks": table.checks.map { ["statement": $0.statement, "detail": $0.detail, "verdict": $0.verdict] },
            "curves": table.curves.map { point -> [String: Any] in
                var object: [String: Any] = ["arm": point.arm, "seed": point.seed, "round": point.round, "train_loss": point.trainLoss]
                if let c = point.pooledHarrellC { object["pooled_harrell_c"] = c }
                return object
            },
        ])
    }
}
