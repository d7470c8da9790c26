// EgressLedgerVerifier+Folder: verifies the ledger files as a site keeps them (or as a reviewer copied them) in one folder.
import FedCTCore
import FedCTStorage
import Foundation

extension EgressLedgerVerifier {
    /// Verifies `egress.jsonl`, `egress.head`, `egress-archive/` and `privacy-budget.json` in `folder` (a site's
    /// `state_dir` or a copy of those files). Throws only when the ledger itself cannot be read.
    public func verify(folder: URL) throws -> EgressLedgerAudit {
        let ledgerURL = folder.appending(path: EgressLedgerFile.ledgerName)
        guard let ledger = try? Data(contentsOf: ledgerURL) else {
            throw FedCTError(.notFound, "\(ledgerURL.path) cannot be read: pass the site's state_dir (or a copy of its egress.jsonl, egress.head, egress-archive/ and privacy-budget.json)")
        }
        let head = try? Data(contentsOf: folder.appending(path: EgressLedgerFile.headName))
        let budgetURL = folder.appending(path: "privacy-budget.json")
        var budget: [PrivacySpend]?
        if FileManager.default.fileExists(atPath: budgetURL.path) {
            do {
                budget = try PrivacyBudgetLedger.open(at: budgetURL).entries
            } catch let error as FedCTError {
                var audit = EgressLedgerAudit()
                audit.failure = LedgerProblem(seq: 0, line: nil, message: error.message)
                return audit
            }
        }
        return verify(ledger: [UInt8](ledger), head: head.map { [UInt8]($0) }, budget: budget) { relative in
            guard !relative.contains(".."), !relative.hasPrefix("/") else { return nil }
            return (try? Data(contentsOf: folder.appending(path: relative))).map { [UInt8]($0) }
        }
    }
}
