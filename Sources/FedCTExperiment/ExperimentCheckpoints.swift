// ExperimentCheckpoints: each finished seed's trained models kept on disk, so an experiment resumes or grows by seeds.
import Crypto
public import FedCTCore
import FedCTData
import FedCTProto
import Foundation

/// A folder of finished seeds. When seed index s of an experiment has trained all its arms, every arm's model is written
/// (safetensors) with its training seconds and learning-curve points; a run over the same folder restores the seeds it
/// finds instead of training them again — after an interruption, or with a larger seed count to add seeds to a finished
/// run — and scores the restored models exactly as freshly trained ones.
///
/// Seeds are kept under the experiment's fingerprint, `<folder>/<fingerprint>/seed-<s>.json` beside the models it names:
/// the SHA-256 of what determines the trained models — the job spec (with the first stage's and the trained companions'),
/// the arms, and every site's name and train examples (IDs, preprocessed inputs, targets, reports, follow-up). Another
/// spec, arm set or data lands in another subfolder, so nothing trained otherwise is mixed in. Scoring (tasks,
/// bootstrap, ground truth, held-out examples) is not part of it: restored models are scored afresh. A seed's record is
/// written last and atomically, after its models, so a seed is either complete on disk or absent.
public struct ExperimentCheckpoints: Sendable {
    /// This experiment's subfolder: `<folder>/<fingerprint>`.
    public let folder: URL
    public let fingerprint: String

    /// One arm of a finished seed: its label (an encoder of another objective is found by its label and scored with its
    /// own spec), trained model and training seconds.
    public struct Arm: Sendable {
        public var label: String
        public var model: ModelState
        public var seconds: Double
    }

    /// A finished seed: its arms in the order they were scored, and its learning-curve points.
    public struct Seed: Sendable {
        public var arms: [Arm]
        public var curves: [ExperimentCurvePoint]
    }

    /// The JSON record of a seed (`seed-<s>.json`).
    struct Record: Codable {
        struct ArmEntry: Codable {
            var label: String
            var seconds: Double
            var file: String
            var sha256: String
        }
        var format: Int
        var fingerprint: String
        var seedIndex: Int
        var specSeed: UInt64
        var description: String
        var arms: [ArmEntry]
        var curves: [ExperimentCurvePoint]
    }

    static let format = 1

    public init(folder root: URL, fingerprint: String) {
        self.fingerprint = fingerprint
        folder = root.appending(path: fingerprint)
    }

    func recordURL(seed index: Int) -> URL { folder.appending(path: "seed-\(index).json") }

    /// The model file of arm number `position` of seed `index`: `seed-<s>.<position>.<label>.safetensors`, the label's
    /// characters outside letters, digits, `.`, `-` and `_` replaced by `_`.
    static func modelFileName(seed index: Int, position: Int, label: String) -> String {
        let safe = String(label.unicodeScalars.map { scalar in
            CharacterSet.alphanumerics.contains(scalar) && scalar.isASCII || ".-_".unicodeScalars.contains(scalar) ? Character(scalar) : "_"
        })
        return "seed-\(index).\(position).\(safe).safetensors"
    }

    /// Seed `index`, if it finished under this fingerprint (nil: train it). Throws, naming the file and what to do, when a
    /// record or a model it names is unreadable, damaged or of another seed.
    public func load(seed index: Int) throws -> Seed? {
        let url = recordURL(seed: index)
        guard let data = FileManager.default.contents(atPath: url.path) else { return nil }
        let remedy = "delete it to train seed \(index + 1) again"
        let record: Record
        do {
            record = try Self.decoder.decode(Record.self, from: data)
        } catch {
            throw FedCTError(.integrity, "\(url.path): not a readable seed record (\(error)); \(remedy)")
        }
        guard record.format == Self.format, record.fingerprint == fingerprint, record.seedIndex == index else {
            throw FedCTError(.integrity, "\(url.path): a record of format \(record.format), seed index \(record.seedIndex), fingerprint \(record.fingerprint), where format \(Self.format), seed index \(index), fingerprint \(fingerprint) was expected; \(remedy)")
        }
        let arms = try record.arms.map { entry in
            let file = folder.appending(path: entry.file)
            guard entry.file == URL(fileURLWithPath: entry.file).lastPathComponent, let bytes = FileManager.default.contents(atPath: file.path) else {
                throw FedCTError(.integrity, "\(file.path): the model of \(entry.label) that \(url.lastPathComponent) names is missing; \(remedy) (and its record)")
            }
            guard SHA256.hex(bytes) == entry.sha256 else {
                throw FedCTError(.integrity, "\(file.path): its SHA-256 is not the one \(url.lastPathComponent) recorded (the file changed or is damaged); delete \(url.path) to train seed \(index + 1) again")
            }
            return Arm(label: entry.label, model: try SafeTensors.decode([UInt8](bytes), source: file.path), seconds: entry.seconds)
        }
        return Seed(arms: arms, curves: record.curves)
    }

    /// Writes seed `index`: its models first, then its record (atomically), which makes the seed count as finished.
    /// `description` says in words what the experiment is (the record's first field a reader sees).
    public func save(seed index: Int, specSeed: UInt64, description: String, _ seed: Seed) throws {
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            var entries: [Record.ArmEntry] = []
            for (position, arm) in seed.arms.enumerated() {
                let name = Self.modelFileName(seed: index, position: position, label: arm.label)
                let bytes = SafeTensors.encode(arm.model)
                try Data(bytes).write(to: folder.appending(path: name), options: .atomic)
                entries.append(.init(label: arm.label, seconds: arm.seconds, file: name, sha256: SHA256.hex(bytes)))
            }
            let record = Record(format: Self.format, fingerprint: fingerprint, seedIndex: index, specSeed: specSeed,
                                description: description, arms: entries, curves: seed.curves)
            try Self.encoder.encode(record).write(to: recordURL(seed: index), options: .atomic)
        } catch {
            throw FedCTError(.io, "\(folder.path): cannot write seed \(index + 1)'s checkpoint (\(error)); free space or choose another --checkpoint-dir")
        }
    }

    static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return encoder
    }

    static var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return decoder
    }
}

extension PretrainingExperiment {
    /// The SHA-256 (hex) of what determines the arms' trained models (see ``ExperimentCheckpoints``).
    public func trainingFingerprint() throws -> String {
        var hasher = SHA256()
        func addBytes(_ bytes: [UInt8]) {
            withUnsafeBytes(of: UInt64(bytes.count).littleEndian) { hasher.update(bufferPointer: $0) }
            hasher.update(data: bytes)
        }
        func addText(_ text: String) { addBytes(Array(text.utf8)) }
        func addFloats(_ values: [Float]) {
            withUnsafeBytes(of: UInt64(values.count).littleEndian) { hasher.update(bufferPointer: $0) }
            values.withUnsafeBytes { hasher.update(bufferPointer: $0) }
        }
        func addSpec(_ spec: Fedct_V1_JobSpec?) throws {
            let bytes: [UInt8] = try spec?.serializedBytes() ?? []
            addBytes(bytes)
        }
        addText("fedct experiment checkpoints \(ExperimentCheckpoints.format)")
        try addSpec(spec)
        try addSpec(firstStage)
        for companion in companions where companion.model == nil {
            addText(companion.label)
            try addSpec(companion.spec)
        }
        addText(arms.map(\.rawValue).sorted().joined(separator: ","))
        for site in sites {
            addText(site.name)
            addText("\(site.dataset.train.count)")
            for example in site.dataset.train {
                addText(example.scanID)
                addText(example.subjectID)
                addText("\(example.inputs.count)")
                for input in example.inputs { addFloats(input) }
                for key in example.targets.keys.sorted() {
                    addText(key)
                    addFloats(example.targets[key]!)
                }
                addText(example.report ?? "")
                addText(example.firstEventDays.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.bitPattern)" }.joined(separator: ","))
                addText("\(example.followUpDays.bitPattern)")
            }
        }
        return hasher.finalize().hex
    }

    /// The record's description: job name, objective, rounds, arms and sites.
    var checkpointDescription: String {
        let objective = spec.objective.isEmpty ? "tte" : spec.objective
        let stages = firstStage.map { "stage 1 \($0.rounds) rounds × \($0.training.localEpochs) epochs, then " } ?? ""
        return "\(spec.name) (\(objective)): \(stages)\(spec.rounds) rounds × \(spec.training.localEpochs) epochs; arms "
            + arms.map(\.rawValue).sorted().joined(separator: ", ") + companions.map { "; companion \($0.label)" }.joined()
            + "; sites " + sites.map { "\($0.name) (\($0.dataset.train.count) train)" }.joined(separator: ", ")
    }
}
