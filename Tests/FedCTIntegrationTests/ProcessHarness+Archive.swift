// ProcessHarness+Archive: what a site's signed egress ledger archived of an upload (header and payload), found through its entries.
import FedCTAudit
import FedCTCore
import FedCTProto
import Foundation

/// A site's archived upload of one round: the update header as sent and the payload (masked words or float32 delta).
struct ArchivedUpload {
    var header: Fedct_V1_UpdateHeader
    var payload: Data

    /// The last upload intent for `jobID` and `round` in the ledger of `stateDirectory` (archive_updates on).
    init(stateDirectory: URL, jobID: String, round: Int) throws {
        let text = try String(contentsOf: stateDirectory.appending(path: "egress.jsonl"), encoding: .utf8)
        let entries = try text.split(separator: "\n").map { try EgressLedgerChain.unseal(Array($0.utf8)).entry }
        guard let entry = entries.last(where: {
            $0.type == .intent && EgressEntry.updateKinds.contains($0.kind ?? "") && $0.jobID == jobID && $0.round == round
        }), let headerPath = entry.headerArchive, let payloadPath = entry.archive else {
            throw HarnessError("\(stateDirectory.path): no archived upload for \(jobID) round \(round)")
        }
        header = try Fedct_V1_UpdateHeader(serializedBytes: Data(contentsOf: stateDirectory.appending(path: headerPath)))
        payload = try Data(contentsOf: stateDirectory.appending(path: payloadPath))
    }
}

/// How far a securely aggregated round's stored model is from the initial model plus the weighted mean of the sites'
/// clipped local updates (each site's `local.f32` and `local.json`, archived beside its ledger with archive_updates on).
struct SecureMeanCheck {
    /// The largest deviation beyond float rounding, and the fixed-point quantisation bound it must stay within.
    var worst: Double
    var bound: Double
    /// The sites' example weights, summed.
    var totalWeight: Double

    init(root: URL, jobID: String, round: Int, sites: [String], before: ModelState, after: ModelState, encoding: FixedPointEncoding) throws {
        var weighted = [Double](repeating: 0, count: before.values.count)
        var total = 0.0
        for name in sites {
            let stem = root.appending(path: "state-\(name)/egress-archive/\(jobID)-round-\(round)")
            var stream = Float32Stream()
            var delta: [Float] = []
            stream.feed([UInt8](try Data(contentsOf: stem.appendingPathExtension("local.f32")))) { delta.append(contentsOf: $0) }
            let local = try JSONSerialization.jsonObject(with: Data(contentsOf: stem.appendingPathExtension("local.json"))) as? [String: Any]
            guard let weight = local?["example_weight"] as? Int else { throw HarnessError("\(stem.path).local.json: no example_weight") }
            let factor = encoding.clipFactor(delta).factor
            for index in delta.indices { weighted[index] += Double(weight) * factor * Double(delta[index]) }
            total += Double(weight)
        }
        totalWeight = total
        bound = 2 / (encoding.scale * total)
        worst = 0
        for index in weighted.indices {
            let expected = Double(before.values[index]) + weighted[index] / total
            worst = max(worst, abs(Double(after.values[index]) - expected) - 1e-6 * max(1, abs(expected)))
        }
    }
}
