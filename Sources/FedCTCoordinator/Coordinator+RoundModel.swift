// Coordinator+RoundModel: a round's new global model computed and stored range by range of coordinates, in memory of
// one range (beyond a secure round's masked sum and FedAdam/FedYogi's moments).
import FedCTCore
import Foundation

extension Coordinator {
    /// Coordinates per range: 1 MiB of float32.
    static let roundModelPartValues = 1 << 18

    /// Computes a round's mean update (the spooled plain updates' weighted mean Σ nᵢΔᵢ / Σ nᵢ, or the unmasked sum's),
    /// refuses non-finite results, applies the job's strategy (FedAvg adds the mean; FedAdam/FedYogi step a server
    /// optimiser) and stores the new model and optimiser state as blobs.
    ///
    /// The base model is read, updated and written range by range, each range's mean computed from the spools (plain)
    /// or unmasked from the masked sum (secure) as it is needed, so no whole-model copy is made. Nothing is stored when
    /// any range fails: the new blob is named by its hash only once every range was written and the base model's
    /// bytes were checked against its hash.
    static func roundModel(_ request: RoundModelRequest, jobID: String, blobs: any ModelBlobs) throws -> StoredRoundModel {
        let round = request.round
        let base = try blobs.reader(request.baseModelSHA256)
        let count = base.header.valueCount
        var parts: any MeanUpdateParts =
            switch request.input {
            case .plain(let updates): try SpooledMeanParts(updates: updates, coordinateCount: count)
            case .masked(let sum, let recovery, let encoding):
                try UnmaskedMeanParts(sum: sum, recovery: recovery, encoding: encoding, coordinateCount: count)
            }
        let strategy = try ServerStrategy(spec: request.spec.strategy, source: "job \(jobID)")
        var optimizerState = try request.optimizerStateSHA256.map { try readOptimizerState($0, blobs: blobs) }
        try strategy.prepare(&optimizerState, coordinateCount: count)

        let writer = try blobs.writer()
        try writer.write(SafeTensors.encodedHeader(layout: base.header.layout, metadata: ["job": request.spec.name, "round": "\(round)"]))
        var model = [Float](repeating: 0, count: min(roundModelPartValues, count))
        var mean = model
        var offset = 0
        while offset < count {
            let length = min(roundModelPartValues, count - offset)
            try model.withUnsafeMutableBufferPointer { modelBuffer in
                let modelPart = UnsafeMutableBufferPointer(rebasing: modelBuffer[..<length])
                try base.read(into: modelPart)
                try mean.withUnsafeMutableBufferPointer { meanBuffer in
                    let meanPart = UnsafeMutableBufferPointer(rebasing: meanBuffer[..<length])
                    try parts.next(into: meanPart)
                    if let bad = meanPart.firstIndex(where: { !$0.isFinite }) {
                        throw FedCTError(.invalidData, "the aggregated update of round \(round) has non-finite values (coordinate \(offset + bad)); the round is not committed")
                    }
                    try strategy.apply(meanUpdate: UnsafeBufferPointer(meanPart), to: modelPart, at: offset, state: &optimizerState)
                }
                try writer.write(UnsafeBufferPointer(modelPart))
            }
            offset += length
        }
        try parts.finish()
        try base.finish()
        let sha = try writer.finish()
        let optimizerSHA = try optimizerState.map { try writeOptimizerState($0, blobs: blobs) }
        return StoredRoundModel(modelSHA256: sha, optimizerStateSHA256: optimizerSHA, exampleCount: parts.weight, meanTrainLoss: parts.loss)
    }

    /// FedAdam/FedYogi's moments from their blob.
    private static func readOptimizerState(_ sha256: String, blobs: any ModelBlobs) throws -> ServerOptimizerState {
        let reader = try blobs.reader(sha256)
        let count = try ServerOptimizerState.coordinateCount(of: reader.header.layout)
        var state = ServerOptimizerState(firstMoment: [Float](repeating: 0, count: count), secondMoment: [Float](repeating: 0, count: count))
        try state.firstMoment.withUnsafeMutableBufferPointer { try reader.read(into: $0) }
        try state.secondMoment.withUnsafeMutableBufferPointer { try reader.read(into: $0) }
        try reader.finish()
        return state
    }

    /// Stores FedAdam/FedYogi's moments as a blob and returns its hash.
    private static func writeOptimizerState(_ state: ServerOptimizerState, blobs: any ModelBlobs) throws -> String {
        let writer = try blobs.writer()
        try writer.write(SafeTensors.encodedHeader(layout: ServerOptimizerState.layout(coordinateCount: state.firstMoment.count),
                                                   metadata: ServerOptimizerState.metadata))
        try state.firstMoment.withUnsafeBufferPointer { try writer.write($0) }
        try state.secondMoment.withUnsafeBufferPointer { try writer.write($0) }
        return try writer.finish()
    }
}

/// Where a round's mean update comes from, one range of coordinates after another.
protocol MeanUpdateParts {
    /// Σ nᵢ over the round's contributors.
    var weight: Int64 { get }
    /// The weighted mean training loss when the input carries it (secure rounds without DP).
    var loss: Double? { get }
    /// The mean update of the next `mean.count` coordinates.
    mutating func next(into mean: UnsafeMutableBufferPointer<Float>) throws
    /// Checks that every coordinate was taken and nothing is left.
    func finish() throws
}

/// A plain round's spooled float32 updates read side by side: each range's example-weighted mean in float64.
struct SpooledMeanParts: MeanUpdateParts {
    private let updates: [JobRun.SpooledUpdate]
    private let handles: [FileHandle]
    let weight: Int64
    var loss: Double? { nil }

    init(updates: [JobRun.SpooledUpdate], coordinateCount: Int) throws {
        var aggregator = PlainAggregator(coordinateCount: 0)
        for update in updates {
            try aggregator.begin(site: update.site, weight: update.exampleCount)
            try aggregator.end()
            let bytes = (try? FileManager.default.attributesOfItem(atPath: update.path)[.size] as? Int) ?? nil
            guard let bytes else { throw FedCTError(.notFound, "the spooled update of \(update.site) (\(update.path)) is missing") }
            guard bytes == coordinateCount * 4 else {
                throw FedCTError(.integrity, "update from \(update.site) has \(bytes / 4) coordinates; the model has \(coordinateCount)")
            }
        }
        self.updates = updates
        handles = try updates.map { try FileHandle(forReadingFrom: URL(fileURLWithPath: $0.path)) }
        weight = aggregator.totalWeight
    }

    mutating func next(into mean: UnsafeMutableBufferPointer<Float>) throws {
        var aggregator = PlainAggregator(coordinateCount: mean.count)
        for (update, handle) in zip(updates, handles) {
            try aggregator.begin(site: update.site, weight: update.exampleCount)
            guard let data = try handle.read(upToCount: mean.count * 4), data.count == mean.count * 4 else {
                throw FedCTError(.integrity, "the spooled update of \(update.site) (\(update.path)) ended early")
            }
            var decoder = Float32Stream()
            try decoder.feed(data) { try aggregator.add($0) }
            try aggregator.end()
        }
        let part = try aggregator.weightedMean()
        for index in mean.indices { mean[index] = part[index] }
    }

    func finish() throws {
        for handle in handles { try? handle.close() }
    }
}

/// A secure round's masked sum unmasked range by range (word 0 is the weight, a last word the loss when carried).
struct UnmaskedMeanParts: MeanUpdateParts {
    private let sum: MaskedSum
    private let recovery: SecAggServerRound.Recovery
    private let encoding: FixedPointEncoding
    private let coordinateCount: Int
    private var nextWord = 1
    let weight: Int64
    let loss: Double?

    init(sum: MaskedSum, recovery: SecAggServerRound.Recovery, encoding: FixedPointEncoding, coordinateCount: Int) throws {
        let extra = encoding.carriesLoss ? 2 : 1
        guard sum.wordCount == coordinateCount + extra else {
            throw FedCTError(.integrity, "the unmasked sum has \(sum.wordCount - extra) coordinates; the model has \(coordinateCount)")
        }
        let weightWord = try sum.unmasked(0..<1, with: recovery)[0]
        let lossWord = try sum.unmasked((sum.wordCount - 1)..<sum.wordCount, with: recovery)[0]
        (weight, loss) = try encoding.weightAndLoss(weightWord: weightWord, lossWord: lossWord)
        self.sum = sum
        self.recovery = recovery
        self.encoding = encoding
        self.coordinateCount = coordinateCount
    }

    mutating func next(into mean: UnsafeMutableBufferPointer<Float>) throws {
        let words = try sum.unmasked(nextWord..<(nextWord + mean.count), with: recovery)
        words.withUnsafeBufferPointer { encoding.mean(of: $0, weight: weight, into: mean) }
        nextWord += mean.count
    }

    func finish() throws {
        guard nextWord == coordinateCount + 1 else {
            throw FedCTError(.failedPrecondition, "\(nextWord - 1) of the sum's \(coordinateCount) coordinates were decoded")
        }
    }
}
