// ServerStrategy: how the coordinator turns the sites' weighted mean update into the next global model.
public import FedCTProto

/// The server's moments for FedAdam and FedYogi, one value per model coordinate.
public struct ServerOptimizerState: Sendable, Equatable {
    public var firstMoment: [Float]
    public var secondMoment: [Float]

    public init(firstMoment: [Float], secondMoment: [Float]) {
        self.firstMoment = firstMoment
        self.secondMoment = secondMoment
    }

    /// As a model state (tensors `m` and `v`), to be stored as a blob beside the round's model.
    public func modelState() throws -> ModelState {
        try ModelState(layout: Self.layout(coordinateCount: firstMoment.count), values: firstMoment + secondMoment, metadata: Self.metadata)
    }

    public init(modelState state: ModelState) throws {
        let count = try Self.coordinateCount(of: state.layout)
        self.init(firstMoment: Array(state.values[..<count]), secondMoment: Array(state.values[count...]))
    }

    /// The blob layout of the moments of a model of `coordinateCount` coordinates: `m`, then `v`.
    public static func layout(coordinateCount: Int) -> [TensorLayout] {
        [TensorLayout(name: "m", shape: [coordinateCount]), TensorLayout(name: "v", shape: [coordinateCount])]
    }

    /// The metadata of a moments blob.
    public static let metadata = ["kind": "server-optimizer"]

    /// The model's coordinate count from a moments blob's layout, which must be `m` and `v` of equal size.
    public static func coordinateCount(of layout: [TensorLayout]) throws -> Int {
        guard layout.map(\.name) == ["m", "v"], layout[0].count == layout[1].count else {
            throw FedCTError(.invalidData, "server optimiser state blob must hold tensors m and v of equal size")
        }
        return layout[0].count
    }
}

/// FedAvg, FedProx, FedBN, FedAdam or FedYogi.
///
/// On the server all act on the aggregate only (the example-weighted mean of the sites' updates), so they
/// work unchanged under secure aggregation. FedAvg, FedProx and FedBN add the mean update (FedProx changes
/// the sites' loss, FedBN keeps normalisation layers at the sites, whose updates for them are zero).
/// FedAdam and FedYogi (Reddi et al., "Adaptive Federated Optimization", ICLR 2021) treat it as a
/// pseudo-gradient Δ: m ← β₁m + (1−β₁)Δ; Adam: v ← β₂v + (1−β₂)Δ²; Yogi: v ← v − (1−β₂)Δ²·sign(v − Δ²);
/// then x ← x + η·m / (√v + τ), with v starting at τ².
public struct ServerStrategy: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable { case fedavg, fedprox, fedbn, fedadam, fedyogi }

    public var kind: Kind
    public var learningRate: Double
    public var beta1: Double
    public var beta2: Double
    public var tau: Double
    /// FedProx's μ (0 for every other strategy).
    public var proximalMu: Double

    /// The defaults of a job's `strategy:` numbers.
    public static let defaultLearningRate = 0.01, defaultBeta1 = 0.9, defaultBeta2 = 0.99, defaultTau = 1e-3, defaultProximalMu = 0.01

    /// The strategy a job asks for. A number the spec does not hold (no field presence: a spec stored before the fields
    /// were `optional`, which wrote a default as 0) takes its default (η 0.01, β₁ 0.9, β₂ 0.99, τ 0.001, μ 0.01).
    public init(spec: Fedct_V1_StrategySpec, source: String = "job") throws {
        func fail(_ field: String, _ problem: String) -> FedCTError {
            FedCTError(.invalidConfiguration, "\(source): field 'strategy.\(field)' \(problem)")
        }
        func value(_ present: Bool, _ value: Double, _ fallback: Double) -> Double { present ? value : fallback }
        guard let kind = Kind(rawValue: spec.name.isEmpty ? "fedavg" : spec.name) else {
            throw fail("name", "'\(spec.name)' is not a strategy (\(Kind.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        self.kind = kind
        learningRate = value(spec.hasServerLearningRate, spec.serverLearningRate, Self.defaultLearningRate)
        beta1 = value(spec.hasBeta1, spec.beta1, Self.defaultBeta1)
        beta2 = value(spec.hasBeta2, spec.beta2, Self.defaultBeta2)
        tau = value(spec.hasTau, spec.tau, Self.defaultTau)
        proximalMu = kind == .fedprox ? value(spec.hasProximalMu, spec.proximalMu, Self.defaultProximalMu) : 0
        guard learningRate > 0, learningRate.isFinite else { throw fail("server_learning_rate", "must be a positive number") }
        guard (0..<1).contains(beta1) else { throw fail("beta1", "must be in [0, 1)") }
        guard (0..<1).contains(beta2) else { throw fail("beta2", "must be in [0, 1)") }
        guard tau > 0, tau.isFinite else { throw fail("tau", "must be a positive number") }
        guard spec.proximalMu >= 0, spec.proximalMu.isFinite else { throw fail("proximal_mu", "must not be negative") }
    }

    /// The next global model from `model` and the sites' weighted mean update; advances `state`
    /// (nil before the first adaptive round; always nil for FedAvg).
    public func apply(meanUpdate: [Float], to model: [Float], state: inout ServerOptimizerState?) throws -> [Float] {
        guard meanUpdate.count == model.count else {
            throw FedCTError(.integrity, "the mean update has \(meanUpdate.count) coordinates; the model has \(model.count)")
        }
        var next = model
        try prepare(&state, coordinateCount: model.count)
        try meanUpdate.withUnsafeBufferPointer { update in
            try next.withUnsafeMutableBufferPointer { try apply(meanUpdate: update, to: $0, at: 0, state: &state) }
        }
        return next
    }

    /// Makes `state` ready for a model of `coordinateCount` coordinates: FedAdam/FedYogi's first round starts the
    /// moments (m = 0, v = τ²); a stored state must fit the model. Nothing for the other strategies.
    public func prepare(_ state: inout ServerOptimizerState?, coordinateCount: Int) throws {
        guard kind == .fedadam || kind == .fedyogi else { return }
        let moments = state ?? ServerOptimizerState(firstMoment: [Float](repeating: 0, count: coordinateCount),
                                                     secondMoment: [Float](repeating: Float(tau * tau), count: coordinateCount))
        guard moments.firstMoment.count == coordinateCount, moments.secondMoment.count == coordinateCount else {
            throw FedCTError(.integrity, "the server optimiser state does not fit the model (\(moments.firstMoment.count) vs \(coordinateCount) coordinates)")
        }
        state = moments
    }

    /// Steps coordinates [offset, offset + model.count) of the global model in place with their part of the mean
    /// update, so a model is updated part by part; FedAdam/FedYogi need `state` made ready by `prepare` first.
    public func apply(meanUpdate: UnsafeBufferPointer<Float>, to model: UnsafeMutableBufferPointer<Float>, at offset: Int,
                      state: inout ServerOptimizerState?) throws {
        guard meanUpdate.count == model.count else {
            throw FedCTError(.integrity, "the mean update has \(meanUpdate.count) coordinates here; the model has \(model.count)")
        }
        guard kind == .fedadam || kind == .fedyogi else {
            for index in model.indices { model[index] += meanUpdate[index] }
            return
        }
        guard var moments = state, offset >= 0, offset + model.count <= moments.firstMoment.count else {
            throw FedCTError(.failedPrecondition, "the server optimiser state was not prepared for coordinates from \(offset)")
        }
        state = nil  // moments is now the only reference, so the moments change in place
        for index in model.indices {
            let delta = Double(meanUpdate[index])
            let m = beta1 * Double(moments.firstMoment[offset + index]) + (1 - beta1) * delta
            let previous = Double(moments.secondMoment[offset + index])
            let squared = delta * delta
            let v: Double =
                switch kind {
                case .fedadam: beta2 * previous + (1 - beta2) * squared
                case .fedyogi: previous - (1 - beta2) * squared * Self.sign(previous - squared)
                case .fedavg, .fedprox, .fedbn: previous
                }
            moments.firstMoment[offset + index] = Float(m)
            moments.secondMoment[offset + index] = Float(v)
            model[index] = Float(Double(model[index]) + learningRate * m / (v.squareRoot() + tau))
        }
        state = moments
    }

    private static func sign(_ value: Double) -> Double { value > 0 ? 1 : value < 0 ? -1 : 0 }
}
