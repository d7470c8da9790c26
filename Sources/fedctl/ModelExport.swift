// fedctl model export / init: a fetched model with MONAI's names (strict=True loading); a job spec's initial model offline.
import ArgumentParser
import Crypto
import FedCTCore
import FedCTProto
import FedCTStorage
import FedCTTorch
import FedCTTraining
import Foundation

extension ModelCommand {
    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a fetched model (fedctl model fetch) for PyTorch users: an encoder with MONAI's names (head.proj as MONAI's classifier, the rest of the head left out), an HLIP model's image tower with timm's ViT names, or a MEDFORM model's slice encoder with torchvision's ResNet names.")
        @Option(name: .long, help: "The model file fedctl model fetch wrote (.safetensors).") var model: String
        @Option(name: .long, help: "Output format (safetensors).") var format = "safetensors"
        @Option(name: .long, help: "Output file.") var out: String
        @Flag(name: .long, help: "Print JSON (model, path, tensors, classifier, outputs, bytes).") var json = false

        func run() throws {
            guard format == "safetensors" else { throw ValidationError("--format must be safetensors (got '\(format)')") }
            let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: model)))
            let state = try SafeTensors.decode(bytes, source: model)
            let towers = [
                (TimmExport.applies(to:), TimmExport.state(_:), "HLIP image tower", "timm's ViT names"),
                (TorchvisionExport.applies(to:), TorchvisionExport.state(_:), "MEDFORM slice encoder", "torchvision's ResNet names"),
            ]
            for (applies, export, what, names) in towers where applies(state.layout) {
                let exported = try export(state)
                let encoded = SafeTensors.encode(exported)
                try Data(encoded).write(to: URL(fileURLWithPath: out), options: .atomic)
                if json {
                    return try JSONOutput.print(["model": model, "path": out, "tensors": exported.layout.count, "format": exported.metadata["format"] ?? "", "bytes": encoded.count])
                }
                return print("\(model) → \(out): \(what), \(exported.layout.count) tensors with \(names) (\(encoded.count) bytes)")
            }
            let exported = try MONAIExport.state(state)
            let encoded = SafeTensors.encode(exported)
            try Data(encoded).write(to: URL(fileURLWithPath: out), options: .atomic)
            let outputs = exported.metadata["monai_classifier_outputs"] ?? "?"
            if json {
                try JSONOutput.print(["model": model, "path": out, "tensors": exported.layout.count, "classifier": MONAIExport.classifier(for: exported.layout),
                                      "classifier_outputs": Int(outputs) ?? -1, "bytes": encoded.count])
                return
            }
            print("\(model) → \(out): \(exported.layout.count) tensors, MONAI classifier \(MONAIExport.classifier(for: exported.layout)) with \(outputs) outputs (\(encoded.count) bytes)")
        }
    }
}

extension ModelCommand {
    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the initial model a job spec starts from (the coordinator builds the same from the job's seed), as safetensors.")
        @Option(name: .long, help: "The job.yaml, or `fedctl job status JOB --json` output (needed for a job that derives its tasks).") var jobSpec: String
        @Option(name: .long, help: "Output file (.safetensors).") var out: String
        @Option(name: .long, help: "The stored model the job starts from (MEDFORM stage 2: its stage-1 model, from fedctl model fetch).") var startingModel: String?
        @Flag(name: .long, help: "Print JSON (architecture, path, tensors, parameters, model_sha256, bytes).") var json = false

        func run() throws {
            let spec = try Fedct_V1_JobSpec(contentsOf: jobSpec)
            let objective = try PretrainingObjectives.of(spec, source: jobSpec)
            let model = try objective.initialModel(for: spec) { sha in
                let field = objective.startingModels(for: spec).first { $0.sha256 == sha }?.field ?? "objective"
                guard let startingModel else {
                    throw FedCTError(.invalidConfiguration, "\(jobSpec): field '\(field)' names model \(sha); pass that file with --starting-model (fedctl model fetch --job <the job that made it> --out FILE)")
                }
                let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: startingModel)))
                guard SHA256.hex(bytes) == sha else {
                    throw FedCTError(.invalidConfiguration, "\(startingModel) has SHA-256 \(SHA256.hex(bytes)), but field '\(field)' of \(jobSpec) names \(sha)")
                }
                return bytes
            }
            let encoded = SafeTensors.encode(try model.state())
            try Data(encoded).write(to: URL(fileURLWithPath: out), options: .atomic)
            if json {
                try JSONOutput.print(["architecture": spec.encoder.architecture, "path": out, "tensors": model.tensors.count,
                                      "parameters": model.parameterCount, "model_sha256": SHA256.hex(encoded), "bytes": encoded.count])
                return
            }
            print("\(spec.encoder.architecture) initial model (\(model.tensors.count) tensors, \(model.parameterCount) floats) → \(out)")
        }
    }
}
