// TensorBatch: the named tensors a model's objective reads — inputs and targets, examples along the first dimension.
internal import CTorchBridge

/// One named tensor: float32 or int64 values, row-major, with its shape (the examples first, in a batch).
public struct NamedTensor: Sendable, Hashable {
    /// The element values.
    public enum Values: Sendable, Hashable {
        case float([Float])
        case int64([Int64])

        var count: Int {
            switch self {
            case .float(let values): values.count
            case .int64(let values): values.count
            }
        }
    }

    public var name: String
    public var shape: [Int]
    public var values: Values

    public init(name: String, shape: [Int], values: [Float]) {
        self.init(name: name, shape: shape, values: .float(values))
    }

    public init(name: String, shape: [Int], tokens: [Int64]) {
        self.init(name: name, shape: shape, values: .int64(tokens))
    }

    public init(name: String, shape: [Int], values: Values) {
        self.name = name
        self.shape = shape
        self.values = values
    }

    /// Checks the values fill the shape, naming the tensor.
    func validate() throws {
        let expected = shape.reduce(1, *)
        guard shape.allSatisfy({ $0 >= 0 }), values.count == expected else {
            throw TorchError("tensor '\(name)' of shape \(shape) needs \(expected) values, got \(values.count)")
        }
    }

    /// Calls `body` with the tensors as the bridge's C structs, valid only during the call.
    static func withBridged<R>(_ tensors: [NamedTensor], _ body: (UnsafePointer<fct_torch_tensor>?, Int32) throws -> R) throws -> R {
        for tensor in tensors { try tensor.validate() }
        var bridged: [fct_torch_tensor] = []
        bridged.reserveCapacity(tensors.count)
        func bridge(from index: Int) throws -> R {
            guard index < tensors.count else {
                return try bridged.withUnsafeBufferPointer { try body($0.baseAddress, Int32($0.count)) }
            }
            let tensor = tensors[index]
            return try tensor.name.withCString { name in
                try tensor.shape.map(Int64.init).withUnsafeBufferPointer { shape in
                    func append(_ data: UnsafeRawPointer?, _ dtype: fct_torch_dtype) throws -> R {
                        bridged.append(fct_torch_tensor(name: name, dtype: dtype, data: data, ndim: Int32(shape.count), shape: shape.baseAddress))
                        return try bridge(from: index + 1)
                    }
                    switch tensor.values {
                    case .float(let values): return try values.withUnsafeBufferPointer { try append(UnsafeRawPointer($0.baseAddress), FCT_TORCH_FLOAT32) }
                    case .int64(let values): return try values.withUnsafeBufferPointer { try append(UnsafeRawPointer($0.baseAddress), FCT_TORCH_INT64) }
                    }
                }
            }
        }
        return try bridge(from: 0)
    }
}

/// A batch: named tensors that share their first dimension, the examples.
public struct TensorBatch: Sendable, Hashable {
    public var tensors: [NamedTensor]

    public init(_ tensors: [NamedTensor]) { self.tensors = tensors }

    /// A batch without examples (a noise-only DP-SGD step).
    public static let empty = TensorBatch([])

    /// Examples in the batch: the first tensor's first dimension (0 when empty).
    public var examples: Int { tensors.first?.shape.first ?? 0 }

    /// The tensor `name`, if the batch has it.
    public subscript(name: String) -> NamedTensor? { tensors.first { $0.name == name } }

    /// Stacks per-example tensors into one batch: each name's per-example values are concatenated and its shape gains the
    /// examples as its first dimension. Every example must have the same names and shapes.
    public static func stacking(_ examples: [[NamedTensor]]) throws -> TensorBatch {
        guard let first = examples.first else { return .empty }
        return TensorBatch(try first.enumerated().map { position, prototype in
            var floats: [Float] = []
            var tokens: [Int64] = []
            for example in examples {
                guard position < example.count, example[position].name == prototype.name, example[position].shape == prototype.shape else {
                    throw TorchError("examples disagree on tensor '\(prototype.name)' (its name, position or shape \(prototype.shape))")
                }
                switch example[position].values {
                case .float(let values): floats.append(contentsOf: values)
                case .int64(let values): tokens.append(contentsOf: values)
                }
            }
            let shape = [examples.count] + prototype.shape
            switch prototype.values {
            case .float: return NamedTensor(name: prototype.name, shape: shape, values: floats)
            case .int64: return NamedTensor(name: prototype.name, shape: shape, tokens: tokens)
            }
        })
    }
}

/// What the bridge builds on the encoder for a pretraining objective: the objective's registered name in the bridge, its
/// settings by name (numbers; a vector setting has several), and the per-example shapes of the targets its batches carry
/// besides the `volumes` input.
public struct ObjectiveConfig: Sendable, Hashable, Codable {
    public var name: String
    public var settings: [String: [Double]]
    /// Per-example shape of each target tensor, by batch-tensor name (e.g. `time_at_risk`: [pieces, tasks]).
    public var targetShapes: [String: [Int]]
    /// Scans per example when the objective trains on studies: its batches carry `volumes` [n, studyScans, 1, D, H, W];
    /// nil: one scan per example, `volumes` [n, 1, D, H, W].
    public var studyScans: Int?
    /// Tokens per report when the objective reads the examples' reports: its batches carry `tokens` [n, reportTokens]
    /// (int64 ids of `ByteTokenizer`); nil: no text.
    public var reportTokens: Int?
    /// The report sections those tokens come from (headings, any case; `ReportText.selecting`); empty: the whole report.
    public var reportSections: [String]
    /// Adam's β₂ and ε for this objective's training (nil: 0.999 and 1e-8); contrastive language–image training uses
    /// 0.98 and 1e-6, as CLIP and HLIP do.
    public var adamBeta2: Double?
    public var adamEpsilon: Double?
    /// True when a training step's micro-batches share one loss through cached features (a contrastive loss over the
    /// whole step, `TorchModel.setFeatureCache`); false: each micro-batch is its own loss.
    public var cachesFeatures: Bool

    public init(name: String, settings: [String: [Double]] = [:], targetShapes: [String: [Int]] = [:], studyScans: Int? = nil, reportTokens: Int? = nil,
                reportSections: [String] = [], adamBeta2: Double? = nil, adamEpsilon: Double? = nil, cachesFeatures: Bool = false) {
        self.name = name
        self.settings = settings
        self.targetShapes = targetShapes
        self.studyScans = studyScans
        self.reportTokens = reportTokens
        self.reportSections = reportSections
        self.adamBeta2 = adamBeta2
        self.adamEpsilon = adamEpsilon
        self.cachesFeatures = cachesFeatures
    }
}
