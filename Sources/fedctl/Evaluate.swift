// fedctl evaluate: scores encoders by a Cox probe on frozen embeddings over sites' data (held-out C-index).
import ArgumentParser
import FedCTCore
import FedCTData
import FedCTProto
import FedCTStorage
import FedCTTorch
import FedCTTraining
import Foundation

struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fit a Cox probe on each model's embeddings of the train scans; report Harrell's C on the held-out scans.")

    @Option(name: .long, help: "The job.yaml, or `fedctl job status JOB --json` output (needed for a job that derives its tasks).") var jobSpec: String
    @Option(name: .long, help: "label=model.safetensors (repeatable).") var model: [String]
    @Option(name: .long, help: "Site data folder (repeatable); train and held-out scans are pooled across them.") var data: [String]
    @Option(name: .long, help: "Outcome code to score.") var task = "DEATH"
    @Option(name: .long, help: "Torch threads.") var threads = ProcessInfo.processInfo.activeProcessorCount
    @Flag(name: .long, help: "Print JSON (task, and per model: label, probe and head C-index, train and held-out counts).") var json = false

    func run() throws {
        Torch.setThreadCount(threads)
        let spec = try Fedct_V1_JobSpec(contentsOf: jobSpec)
        var train: [SiteExample] = []
        var heldout: [SiteExample] = []
        for folder in data {
            let dataset = try SiteDataset.load(directory: folder, labeler: spec.labeler, preprocessing: spec.preprocessingPipeline)
            train += dataset.train
            heldout += dataset.heldout
        }
        let trainer = LocalTrainer(epochs: 1, batchSize: Int(spec.training.batchSize), learningRate: spec.training.learningRate,
                                   weightDecay: spec.training.weightDecay, volumeSize: Int(spec.training.volumeSize))
        var results: [(label: String, result: ProbeResult)] = []
        for entry in model {
            let parts = entry.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw ValidationError("--model takes label=path (got '\(entry)')") }
            guard let data = FileManager.default.contents(atPath: parts[1]) else { throw FedCTError(.io, "\(parts[1]): cannot read the model file") }
            let network = try TorchModel(spec: spec)
            try network.load(try SafeTensors.decode([UInt8](data), source: parts[1]), source: parts[1])
            let result = try ProbeEvaluation.evaluate(model: network, trainer: trainer, labeler: spec.labeler, train: train, heldout: heldout, task: task)
            results.append((parts[0], result))
        }
        if json {
            return try JSONOutput.print(["task": task, "models": results.map {
                ["label": $0.label, "probe_c_index": $0.result.cIndex, "head_c_index": $0.result.headCIndex, "train_subjects": $0.result.trainSubjects,
                 "heldout_subjects": $0.result.heldoutSubjects, "heldout_events": $0.result.heldoutEvents] as [String: Any]
            }])
        }
        let rows = results.map {
            [$0.label, String(format: "%.3f", $0.result.cIndex), String(format: "%.3f", $0.result.headCIndex),
             "\($0.result.trainSubjects)", "\($0.result.heldoutSubjects)", "\($0.result.heldoutEvents)"]
        }
        print("Held-out Harrell's C for \(task): Cox probe on frozen embeddings (fit on the train scans), and the model's own TTE head")
        print(TextTable.render(header: ["encoder", "probe C-index", "head C-index", "train", "held-out", "held-out events"], rows: rows))
    }
}
