// JobSpec+File: reads the job a model was trained with — a job.yaml, or the coordinator's stored spec as JSON (with derived tasks).
import FedCTCore
public import FedCTProto
import Foundation
import SwiftProtobuf

extension Fedct_V1_JobSpec {
    /// Reads `path`: a job.yaml, or protobuf JSON of a job status (`fedctl job status JOB --json`) or of a bare job
    /// spec. A job that derives its tasks has them only in the coordinator's stored spec, so tools that need the
    /// task list (evaluation, export, the experiment) take the JSON; a spec still awaiting its setup stage is refused.
    public init(contentsOf path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw FedCTError(.io, "cannot read the job spec \(path)")
        }
        let text = String(decoding: data, as: UTF8.self)
        guard text.drop(while: \.isWhitespace).first == "{" else {
            self = try Fedct_V1_JobSpec(yaml: YAMLDocument(text: text, source: path))
            try checkDerived(source: path)
            return
        }
        var options = JSONDecodingOptions()
        options.ignoreUnknownFields = true
        do {
            // A job status holds the spec under "spec"; a bare spec has no such field.
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
            self = object?["spec"] != nil ? try Fedct_V1_JobStatus(jsonString: text, options: options).spec
                : try Fedct_V1_JobSpec(jsonString: text, options: options)
        } catch let error as JSONDecodingError {
            throw FedCTError(.invalidConfiguration, "\(path): not a job status or job spec in protobuf JSON (\(error)); write it with `fedctl job status JOB --json`")
        }
        try validate(source: path)
        try checkDerived(source: path)
    }

    private func checkDerived(source: String) throws {
        guard !tte.awaitsDerivation else {
            throw FedCTError(.invalidConfiguration, "\(source): the job derives its tasks (tte.derive_tasks) and this spec has none yet; use the coordinator's spec after the setup stage: `fedctl job status JOB --json > job.json`")
        }
    }
}
