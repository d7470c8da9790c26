// EgressLedgerVerifier: the offline check of a site's egress ledger — chain, signatures, receipts, spends, policy, masking.
import Crypto
public import FedCTCore
public import FedCTIdentity
import FedCTProto
import Foundation

/// The first thing wrong with a ledger, naming the entry (its sequence number where readable) and the line.
public struct LedgerProblem: Error, Sendable, Equatable, CustomStringConvertible {
    /// The sequence number of the bad entry (the expected one when the entry is unreadable or missing).
    public var seq: Int
    /// The line of `egress.jsonl` (1-based), or nil when the problem is outside it.
    public var line: Int?
    public var message: String

    public var description: String { "entry \(seq)\(line.map { " (line \($0))" } ?? ""): \(message)" }
}

/// Something a reviewer should see that does not make the ledger invalid (a missing receipt, a call cut short).
public struct LedgerWarning: Sendable, Equatable, CustomStringConvertible {
    public var seq: Int
    public var message: String
    public var description: String { "entry \(seq): \(message)" }
}

/// What `fedctl audit verify` found: the entries read (up to the first problem), the problem, and warnings.
public struct EgressLedgerAudit: Sendable {
    /// The site whose certificate signs the ledger.
    public var site: String?
    public var entries: [EgressEntry] = []
    public var failure: LedgerProblem?
    public var warnings: [LedgerWarning] = []
    /// Intents whose receipt verified.
    public var receiptsVerified = 0
    /// χ² results of the archived masked payloads, by intent.
    public var uniformity: [Int: ByteUniformity] = [:]

    /// Whether the ledger verified.
    public var isValid: Bool { failure == nil }
}

/// Verifies a ledger. Reads nothing itself: the caller passes the file contents and a reader for archived payloads.
public struct EgressLedgerVerifier: Sendable {
    let authority: SigningCertificateVerifier

    /// A verifier trusting the consortium CA `authority`.
    public init(authority: SigningCertificateVerifier) {
        self.authority = authority
    }

    /// Verifies `ledger` (the bytes of `egress.jsonl`) against `head` (the bytes of `egress.head`, the last line the site
    /// wrote), `budget` (the spends in `privacy-budget.json`, nil when there is none) and the archived payloads `archive`
    /// returns by relative path. Stops at the first problem.
    public func verify(ledger: [UInt8], head: [UInt8]?, budget: [PrivacySpend]?, archive: (String) -> [UInt8]?) -> EgressLedgerAudit {
        var audit = EgressLedgerAudit()
        var state = State()
        var lines = ledger.split(separator: 0x0A, omittingEmptySubsequences: false)
        let torn = ledger.last != 0x0A && !ledger.isEmpty
        if lines.last?.isEmpty == true { lines.removeLast() }
        for (index, line) in lines.enumerated() {
            let lineNumber = index + 1
            if torn && index == lines.count - 1 {
                audit.failure = LedgerProblem(seq: state.chain.nextSeq, line: lineNumber, message: "the last line is incomplete (truncated mid-entry)")
                return audit
            }
            do {
                let sealed = try EgressLedgerChain.unseal(line)
                try check(sealed, state: &state, audit: &audit, archive: archive)
                audit.entries.append(sealed.entry)
            } catch let error as FedCTError {
                audit.failure = LedgerProblem(seq: state.chain.nextSeq, line: lineNumber, message: error.message)
                return audit
            } catch {
                audit.failure = LedgerProblem(seq: state.chain.nextSeq, line: lineNumber, message: "\(error)")
                return audit
            }
        }
        switch checkHead(head, state: state, lines: lines.count) {
        case .failure(let problem):
            audit.failure = problem
            return audit
        case .warning(let message):
            audit.warnings.append(LedgerWarning(seq: state.chain.nextSeq - 1, message: message))
        case .fine:
            break
        }
        if let problem = checkBudget(budget, spends: state.spends) {
            audit.failure = problem
            return audit
        }
        for (seq, intent) in state.intents.sorted(by: { $0.key < $1.key }) {
            if state.outcomes[seq] == nil {
                audit.warnings.append(LedgerWarning(seq: seq, message: "\(intent.kind ?? "?") has no outcome: the agent stopped during the call (it may or may not have left)"))
            } else if state.outcomes[seq] == "sent" && state.receipts[seq] == nil {
                audit.warnings.append(LedgerWarning(seq: seq, message: "\(intent.kind ?? "?") was sent but no coordinator receipt is recorded"))
            }
        }
        return audit
    }

    /// What the walk through the chain has seen so far.
    private struct State {
        var chain = EgressLedgerChain()
        var key: P256.Signing.PublicKey?
        var site: String?
        var policy: [String: String] = [:]
        var intents: [Int: EgressEntry] = [:]
        var outcomes: [Int: String] = [:]
        var receipts: [Int: Bool] = [:]
        var declined: [String: Int] = [:]
        var spends: [(seq: Int, spend: PrivacySpend)] = []
    }

    private func fail(_ message: String) -> FedCTError { FedCTError(.integrity, message) }

    private func check(_ sealed: SealedEntry, state: inout State, audit: inout EgressLedgerAudit, archive: (String) -> [UInt8]?) throws {
        let entry = sealed.entry
        let expected = state.chain.nextSeq
        guard entry.seq == expected else {
            throw fail(entry.seq < expected
                ? "has sequence number \(entry.seq) where \(expected) was expected: an earlier entry was replayed or the entries were reordered"
                : "has sequence number \(entry.seq) where \(expected) was expected: entries \(expected)…\(entry.seq - 1) were deleted")
        }
        guard SHA256.hex(sealed.body) == sealed.hash else {
            throw fail("its content does not match its hash (the entry was altered)")
        }
        guard entry.prev == state.chain.head else {
            throw fail("its previous-entry hash does not match entry \(expected - 1): the chain is broken (an entry was replaced, reordered or inserted)")
        }
        guard let date = entry.date else { throw fail("its time '\(entry.time)' is not ISO 8601") }
        if entry.type == .certificate {
            guard let pem = entry.certificate else { throw fail("a certificate entry without a certificate") }
            do {
                let (identity, key) = try authority.signingKey(certificatePEM: pem, role: .site, at: date, what: "the certificate in this entry")
                if let site = state.site, site != identity.name {
                    throw fail("the certificate changes the site from \(site) to \(identity.name)")
                }
                state.site = identity.name
                audit.site = identity.name
                state.key = key
            } catch let error as IdentityError {
                throw fail(error.message)
            }
        }
        guard let key = state.key else { throw fail("comes before any certificate entry: nothing to check its signature against") }
        guard SigningCertificateVerifier.isValid(signature: sealed.signature, of: sealed.body, by: key) else {
            throw fail("its signature is not the site certificate key's (the entry was forged or altered)")
        }
        try checkContent(entry, state: &state, audit: &audit, archive: archive)
        state.chain = EgressLedgerChain(after: sealed)
    }

    private func checkContent(_ entry: EgressEntry, state: inout State, audit: inout EgressLedgerAudit, archive: (String) -> [UInt8]?) throws {
        switch entry.type {
        case .open:
            state.policy = entry.policy ?? [:]
        case .certificate:
            break
        case .intent:
            guard let kind = entry.kind, entry.method != nil, let bytes = entry.bytes, bytes >= 0, let hash = entry.sha256, SHA256.isHexDigest(hash) else {
                throw fail("an intent without kind, method, bytes or sha256")
            }
            if EgressEntry.plainKinds.contains(kind) && state.policy["require_secure_aggregation"] == "true" {
                throw fail("sends '\(kind)' in the clear although the policy in force requires secure aggregation")
            }
            if let job = entry.jobID, let declined = state.declined[job], kind != "decline" {
                throw fail("sends '\(kind)' for job \(job), which the site declined in entry \(declined)")
            }
            if let path = entry.archive { try checkArchive(path, of: entry, kind: kind, audit: &audit, archive: archive) }
            if kind == "masked-update", let path = entry.headerArchive { try checkMaskedHeader(path, of: entry, audit: &audit, archive: archive) }
            state.intents[entry.seq] = entry
        case .outcome:
            guard let of = entry.of, state.intents[of] != nil else { throw fail("an outcome of entry \(entry.of.map(String.init) ?? "?"), which is not an intent") }
            guard state.outcomes[of] == nil else { throw fail("a second outcome of entry \(of) (replayed)") }
            guard let status = entry.status, ["sent", "failed"].contains(status) else { throw fail("an outcome whose status is neither sent nor failed") }
            state.outcomes[of] = status
        case .receipt:
            guard let of = entry.of, let intent = state.intents[of] else { throw fail("a receipt for entry \(entry.of.map(String.init) ?? "?"), which is not an intent") }
            guard state.receipts[of] == nil else { throw fail("a second receipt for entry \(of) (replayed)") }
            if let warning = entry.warning {
                audit.warnings.append(LedgerWarning(seq: entry.seq, message: "receipt for entry \(of) (\(intent.kind ?? "?")): \(warning)"))
                state.receipts[of] = false
                return
            }
            var signed = Fedct_V1_SignedReceipt()
            guard let body = entry.receipt.flatMap({ Data(base64Encoded: $0) }), let signature = entry.receiptSignature.flatMap({ Data(base64Encoded: $0) }),
                  let certificate = entry.coordinatorCertificate else {
                throw fail("a receipt entry without receipt, signature or certificate")
            }
            signed.receipt = body
            signed.signature = signature
            signed.certificatePem = certificate
            do {
                _ = try Receipts.check(signed, for: intent, site: state.site ?? "", verifier: authority)
            } catch let error as IdentityError {
                throw fail("the receipt for entry \(of) does not verify: \(error.message)")
            }
            state.receipts[of] = true
            audit.receiptsVerified += 1
        case .spend:
            guard let spend = entry.spend else { throw fail("a spend entry without a spend") }
            state.spends.append((entry.seq, spend))
        case .decline:
            guard let job = entry.jobID, entry.reason != nil else { throw fail("a decline without job or reason") }
            state.declined[job] = entry.seq
        }
    }

    private func checkArchive(_ path: String, of entry: EgressEntry, kind: String, audit: inout EgressLedgerAudit, archive: (String) -> [UInt8]?) throws {
        guard let bytes = archive(path) else { throw fail("its archived copy \(path) is missing") }
        let isPayload = EgressEntry.updateKinds.contains(kind)
        let expected = isPayload ? entry.payloadSHA256 : entry.sha256
        guard SHA256.hex(bytes) == expected else { throw fail("its archived copy \(path) is not what the entry's hash says was sent") }
        var masked: [UInt8]?
        if kind == "masked-update" { masked = bytes }
        if kind == "setup-masked", let submission = try? Fedct_V1_SetupSubmission(serializedBytes: bytes) { masked = Array(submission.maskedWords) }
        if let masked, let test = ByteUniformity(masked) {
            audit.uniformity[entry.seq] = test
            guard test.looksUniform else {
                throw fail(String(format: "its masked payload's bytes are not uniform (χ² = %.1f over %d bytes > %.1f, the 10⁻⁶ threshold): it does not look masked",
                                  test.statistic, test.count, ByteUniformity.threshold))
            }
        }
    }

    /// A masked update's archived header must be the one sent; a training loss or step count in it (sent in the clear by
    /// agents from before the loss moved into the secure sum) is a warning.
    private func checkMaskedHeader(_ path: String, of entry: EgressEntry, audit: inout EgressLedgerAudit, archive: (String) -> [UInt8]?) throws {
        guard let bytes = archive(path), SHA256.hex(bytes) == entry.headerSHA256 else {
            throw fail("its archived header \(path) is missing or not what the entry's header hash says was sent")
        }
        guard let header = try? Fedct_V1_UpdateHeader(serializedBytes: bytes) else { throw fail("its archived header \(path) is not an UpdateHeader") }
        if header.meanTrainLoss != 0 || header.localSteps != 0 {
            audit.warnings.append(LedgerWarning(seq: entry.seq, message: String(format: "the masked update's header sends the mean training loss (%.4g) and local steps (%d) in the clear; upgrade the site agent (the loss belongs inside the secure sum)",
                                                                                 header.meanTrainLoss, header.localSteps)))
        }
    }

    private enum HeadCheck {
        case fine
        case warning(String)
        case failure(LedgerProblem)
    }

    /// The head is rewritten in place without fsync, so a missing or torn head is only a warning (truncation cannot be
    /// checked); a signed head naming an entry the ledger lacks is a truncated ledger.
    private func checkHead(_ head: [UInt8]?, state: State, lines: Int) -> HeadCheck {
        guard let head, !head.isEmpty else { return .warning("no egress.head: whether the ledger was truncated cannot be checked") }
        let text = head.last == 0x0A ? Array(head.dropLast()) : head
        guard let sealed = try? EgressLedgerChain.unseal(text), let key = state.key,
              SigningCertificateVerifier.isValid(signature: sealed.signature, of: sealed.body, by: key) else {
            return .warning("egress.head is not an entry signed by the site's key (torn by a crash?): whether the ledger was truncated cannot be checked")
        }
        if sealed.entry.seq >= state.chain.nextSeq {
            return .failure(LedgerProblem(seq: state.chain.nextSeq, line: lines + 1,
                                          message: "is missing: the site recorded entries up to \(sealed.entry.seq) (egress.head) but the ledger ends at \(state.chain.nextSeq - 1) — it was truncated"))
        }
        return .fine
    }

    private func checkBudget(_ budget: [PrivacySpend]?, spends: [(seq: Int, spend: PrivacySpend)]) -> LedgerProblem? {
        let recorded = budget ?? []
        for (index, item) in spends.enumerated() {
            guard index < recorded.count, recorded[index] == item.spend else {
                return LedgerProblem(seq: item.seq, line: nil, message: "its privacy spend (job \(item.spend.jobID), round \(item.spend.round)) is not entry \(index + 1) of privacy-budget.json: a spend was removed or changed there")
            }
        }
        if recorded.count > spends.count {
            let extra = recorded[spends.count]
            return LedgerProblem(seq: spends.last.map { $0.seq } ?? 0, line: nil,
                                 message: "privacy-budget.json has a spend (job \(extra.jobID), round \(extra.round)) that no ledger spend entry records: a spend entry was removed")
        }
        return nil
    }
}
