// fedctl experiment tte: the experiment table — the job's encoder trained five ways, scored on every site's held-out examples; the options every experiment shares.
import ArgumentParser
import FedCTCore
import FedCTData
import FedCTExperiment
import FedCTProto
import FedCTStorage
import FedCTTraining
import Foundation

struct ExperimentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "experiment", abstract: "Run experiments on site data in this process.",
                                                    subcommands: [ExperimentTTE.self, ExperimentHLIP.self, ExperimentMEDFORM.self])
}

/// The options every experiment takes: the job, the sites, the seeds, the bootstrap and the outputs.
struct ExperimentOptions: ParsableArguments {
    @Option(name: .long, help: "The job.yaml, or `fedctl job status JOB --json` output (needed for a job that derives its tasks).") var jobSpec: String
    @Option(name: .long, help: "Site data folder (repeatable), as written by fedctl synth.") var data: [String]
    @Option(name: .long, help: "label=model.safetensors: a pre-trained model of the job spec's architecture to score too (repeatable).") var model: [String] = []
    @Option(name: .long, help: "Rounds (default: the job spec's).") var rounds: Int?
    @Option(name: .long, help: "Training seeds per arm (arms are paired by seed).") var seeds = 5
    @Option(name: .long, parsing: .upToNextOption, help: "The arms to train (random-init, local-only, fedavg, secure, centralised; default: all); checks needing a left-out arm read N/A.")
    var arms: [String] = ExperimentArmKind.allCases.map(\.rawValue)
    @Option(name: .long, help: "Write PREFIX.md, PREFIX.csv, PREFIX-curves.csv, PREFIX-forest.svg and PREFIX-curves.svg.") var out: String?
    @Option(name: .long, help: "Bootstrap resamples for the 95 % intervals.") var bootstrap = 1000
    @Option(name: .long, help: "Half-width the checks' paired differences aim for.") var target = 0.02
    @Option(name: .long, help: "Threads: sites train in parallel, one Torch thread each; the centralised arm uses them all.") var threads = ProcessInfo.processInfo.activeProcessorCount
    @Flag(name: .long, help: "Skip the learning curves' per-round scoring (the train losses are kept).") var noCurves = false
    @Flag(name: .long, help: "Print JSON (arms, rows, gains, differences, checks, curves, seconds) instead of the text table.") var json = false
    @Option(name: .long, help: "Keep each finished seed's trained models in DIR (under the experiment's fingerprint) and restore the seeds found there instead of training them: resume an interrupted run, or add seeds with a larger --seeds.")
    var checkpointDir: String?

    /// The job spec with --rounds applied, after checking the numeric options.
    func spec() throws -> Fedct_V1_JobSpec {
        var spec = try Fedct_V1_JobSpec(contentsOf: jobSpec)
        if let rounds {
            guard rounds >= 1 else { throw ValidationError("--rounds must be at least 1") }
            spec.rounds = Int32(rounds)
        }
        guard bootstrap >= 1 else { throw ValidationError("--bootstrap must be at least 1") }
        guard seeds >= 1 else { throw ValidationError("--seeds must be at least 1") }
        guard target > 0 else { throw ValidationError("--target must be positive") }
        return spec
    }

    /// The --data folders as sites, each loaded by `load`.
    func sites(_ load: (String) throws -> SiteDataset) throws -> [PretrainingExperiment.Site] {
        try data.map { PretrainingExperiment.Site(name: URL(fileURLWithPath: $0).lastPathComponent, dataset: try load($0)) }
    }

    /// The experiment with these options' settings.
    func configure(_ experiment: inout PretrainingExperiment) throws {
        experiment.seeds = seeds
        experiment.arms = Set(try arms.flatMap { $0.split(separator: ",") }.map { name in
            guard let arm = ExperimentArmKind(rawValue: String(name)) else {
                throw ValidationError("--arms: unknown arm '\(name)'; use \(ExperimentArmKind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return arm
        })
        experiment.bootstrapReplicates = bootstrap
        experiment.targetHalfWidth = target
        experiment.learningCurves = !noCurves
        experiment.threads = threads
        experiment.checkpointFolder = checkpointDir.map { URL(fileURLWithPath: $0) }
        experiment.pretrained = try model.map { entry in
            let parts = entry.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw ValidationError("--model takes label=path (got '\(entry)')") }
            return (parts[0], try Self.readModel(parts[1]))
        }
        experiment.progress = { FileHandle.standardError.write(Data(("experiment: " + $0 + "\n").utf8)) }
    }

    /// A model file's state.
    static func readModel(_ path: String) throws -> ModelState {
        guard let bytes = FileManager.default.contents(atPath: path) else { throw FedCTError(.io, "\(path): cannot read the model file") }
        return try SafeTensors.decode([UInt8](bytes), source: path)
    }

    /// Writes the --out files, then prints the table as JSON or text: `title` first, then the pooled summary, the gains,
    /// the checks and the precision lines.
    func report(_ table: ExperimentTable, title: String) throws {
        if let out {
            try FileManager.default.createDirectory(at: URL(fileURLWithPath: out).deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(table.markdown.utf8).write(to: URL(fileURLWithPath: out + ".md"))
            try Data(table.csv.utf8).write(to: URL(fileURLWithPath: out + ".csv"))
            try Data(table.curvesCSV.utf8).write(to: URL(fileURLWithPath: out + "-curves.csv"))
            try Data(ExperimentPlots.forest(table).utf8).write(to: URL(fileURLWithPath: out + "-forest.svg"))
            try Data(ExperimentPlots.learningCurves(table).utf8).write(to: URL(fileURLWithPath: out + "-curves.svg"))
        }
        if json { return try printJSON(table) }
        print(title)
        print(TextTable.render(header: table.summaryHeader, rows: table.summaryCells(cohort: "pooled")))
        print("Pooled held-out examples (every site's: --out PREFIX.md); means over seeds with 95 % two-level bootstrap intervals (\(bootstrap) resamples of seeds, then patients); IBS: lower is better.")
        print()
        print(TextTable.render(header: ExperimentTable.gainHeader, rows: table.gainCells))
        print()
        for check in table.checks { print("\(check.verdict): \(check.statement) — \(check.detail)") }
        for line in table.differenceLines { print("precision: \(line)") }
        print(String(format: "wall time %.0f s (", table.seconds) + table.phaseLine + ")"
            + (out.map { "; wrote \($0).md, .csv, -curves.csv, -forest.svg, -curves.svg" } ?? ""))
    }
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

    @OptionGroup var options: ExperimentOptions
    @Option(name: .long, help: "ground_truth.csv of the synthetic data, for the oracle row.") var groundTruth: String?

    func run() throws {
        let spec = try options.spec()
        let sites = try options.sites {
            try SiteDataset.load(directory: $0, labeler: spec.labeler, preprocessing: spec.preprocessingPipeline, alsoTracking: BinaryOutcome.trackedCodes)
        }
        var experiment = PretrainingExperiment(spec: spec, sites: sites)
        try options.configure(&experiment)
        experiment.groundTruth = try groundTruth.map(SyntheticGroundTruth.init(path:))
        let table = try experiment.run()
        let heldout = sites.map(\.dataset.heldout.count).reduce(0, +)
        try options.report(table, title: "Experiment table: \(sites.count) sites, \(heldout) held-out patients, \(options.seeds) seed(s), \(spec.rounds) rounds × \(spec.training.localEpochs) local epochs; probes on frozen embeddings fit on all train scans")
    }
}

extension ExperimentOptions {
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
