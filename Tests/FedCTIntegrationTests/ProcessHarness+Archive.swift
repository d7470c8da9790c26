// ProcessHarness+Archive: what a site's signed egress ledger archived of an upload (header and payload), found through its entries.
import FedCTAudit
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
