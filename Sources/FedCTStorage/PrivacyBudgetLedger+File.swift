// PrivacyBudgetLedger+File: loads a site's privacy budget ledger from its JSON file and records spends there atomically.
public import FedCTCore
public import Foundation

extension PrivacyBudgetLedger {
    /// Loads the ledger at `url`; a missing file is an empty ledger (nothing spent yet), created on the first ``record(_:)``.
    public static func open(at url: URL) throws -> PrivacyBudgetLedger {
        guard FileManager.default.fileExists(atPath: url.path) else { return PrivacyBudgetLedger(emptyAt: url) }
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw FedCTError(.io, "cannot read the privacy budget ledger \(url.path): \(error.localizedDescription); give the site agent read and write access to it. Do not delete it: that would reset the site's privacy budget")
        }
        return try PrivacyBudgetLedger(contents: data, of: url)
    }

    /// Adds `spends` and writes the ledger file before returning (so that readers see the old or the new ledger, never
    /// a torn one); if writing fails, neither the file nor this value changes.
    public mutating func record(_ spends: [PrivacySpend]) throws {
        let (next, contents) = try adding(spends)
        do {
            try AtomicFile.write(contents, to: url)
        } catch let error as FedCTError {
            throw FedCTError(.io, "privacy budget ledger: \(error.message); it was left unchanged and nothing was recorded", cause: error)
        }
        self = next
    }
}
