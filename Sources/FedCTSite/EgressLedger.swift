// EgressLedger: the site's signed, hash-chained record of every call it makes — an intent before the call, its outcome and receipt after.
import Crypto
import FedCTAudit
public import FedCTCore
import FedCTIdentity
public import FedCTProto
import FedCTProtocol
import FedCTStorage
import Foundation
import Logging

/// The fields of an `intent` entry that summaries need (the status page's totals): one outbound call as recorded.
/// Entries of the other types do not decode as one.
public struct EgressRecord: Codable, Sendable {
    public var time: String
    public var kind: String
    public var method: String
    public var bytes: Int
    public var sha256: String
    public var jobID: String?
    public var round: Int?
}

/// A response that carries the coordinator's signed receipt for the call it answers.
protocol ReceiptCarrying {
    var receipt: Fedct_V1_SignedReceipt { get }
}

extension Fedct_V1_JoinResponse: ReceiptCarrying {}
extension Fedct_V1_Task: ReceiptCarrying {}
extension Fedct_V1_HeartbeatResponse: ReceiptCarrying {}
extension Fedct_V1_SecAggAck: ReceiptCarrying {}
extension Fedct_V1_SecAggStepResponse: ReceiptCarrying {}
extension Fedct_V1_SetupReceipt: ReceiptCarrying {}
extension Fedct_V1_UploadReceipt: ReceiptCarrying {}
extension Fedct_V1_MetricsReceipt: ReceiptCarrying {}
extension Fedct_V1_DeclineAck: ReceiptCarrying {}

/// The site's egress ledger (`<state_dir>/egress.jsonl`, see `Docs/privacy-reviewer-guide.md`): one signed intent entry
/// per outbound RPC call, fsynced before the call's first byte leaves, then its outcome and the coordinator's receipt.
/// Non-model requests are archived in full; update payloads when `egress.archive_updates` is set.
///
/// A class behind a lock rather than an actor so that synchronous code (privacy spends) can record too;
/// every method takes the lock for its whole duration, so entries are appended one at a time.
public final class EgressLedger: @unchecked Sendable {
    /// Requests up to this size are archived in full (all but model payloads in practice).
    static let archiveLimit = 4 << 20
    public let folder: URL
    public var url: URL { folder.appending(path: EgressLedgerFile.ledgerName) }
    private let lock = NSLock()
    private let file: EgressLedgerFile
    private let archiveUpdates: Bool
    private let receiptVerifier: SigningCertificateVerifier
    private let site: String
    private let logger: Logger
    /// Intents awaiting their receipt, by sequence number.
    private var pending: [Int: EgressEntry] = [:]
    /// Jobs the site's policy declined since the agent started.
    private var declined: Set<String> = []
    /// `policy.coordinator_name`: receipts must be signed by this coordinator.
    private let coordinatorName: String?

    /// Opens the ledger in `config.stateDirectory`, signing with the certificate key in `tls.cert`/`tls.key` (re-read for
    /// every entry, so a renewal on disk signs from the next entry on) and checking receipts against `tls.ca`.
    public init(config: SiteConfig, agentVersion: String, policy: [String: String], logger: Logger) throws {
        folder = URL(fileURLWithPath: config.stateDirectory)
        archiveUpdates = config.archiveUpdates
        coordinatorName = config.egressPolicy.coordinatorName
        self.logger = logger
        do {
            receiptVerifier = try SigningCertificateVerifier(caCertificatePEM: try SiteConfig.readFile(config.caFile, "tls.ca"), source: config.caFile)
            site = try ParticipantIdentity(certificatePEM: try SiteConfig.readFile(config.certificateFile, "tls.cert")).name
        } catch let error as IdentityError {
            throw FedCTError(.invalidConfiguration, error.message)
        }
        let (certificateFile, keyFile) = (config.certificateFile, config.keyFile)
        file = try EgressLedgerFile(folder: folder, identity: {
            let signer: CertificateKeySigner
            do {
                signer = try CertificateKeySigner(privateKeyPEM: try SiteConfig.readFile(keyFile, "tls.key"), source: keyFile)
            } catch let error as IdentityError {
                throw FedCTError(.invalidConfiguration, error.message)
            }
            return LedgerIdentity(certificatePEM: try SiteConfig.readFile(certificateFile, "tls.cert")) { try signer.sign($0) }
        }, agentVersion: agentVersion, policy: policy)
    }

    private func locked<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    /// Records a unary or server-streaming call about to be made with the serialized `request`, archiving the request when it is small.
    /// Throws — and so stops the call — if the entry cannot be written. Returns the intent's sequence number.
    func intend(kind: String, method: String, request: [UInt8], jobID: String?, round: Int?, attempt: Int?) throws -> Int {
        try locked {
            if let jobID, declined.contains(jobID), kind != "decline" {
                throw FedCTError(.permissionDenied, "job \(jobID) was declined by this site's egress policy; nothing else is sent for it")
            }
            var entry = Self.intent(kind: kind, method: method, jobID: jobID, round: round, attempt: attempt)
            entry.bytes = request.count
            entry.sha256 = SHA256.hex(request)
            if request.count <= Self.archiveLimit { entry.archive = try file.archive(request, subfolder: "messages", extension: "pb") }
            return try append(entry)
        }
    }

    /// Records a streamed update about to be sent: `messages` are its serialized stream messages (header first), `payload`
    /// the update's bytes. The header is archived in full, the payload when `egress.archive_updates` is set.
    func intendUpload(kind: String, messages: some Sequence<[UInt8]>, header: [UInt8], payload: UpdatePayload, masked: Bool,
                      jobID: String, round: Int, attempt: Int) throws -> Int {
        var hasher = SHA256()
        var bytes = 0
        for message in messages {
            hasher.update(data: message)
            bytes += message.count
        }
        let sha256 = hasher.finalize().hex
        return try locked {
            var entry = Self.intent(kind: kind, method: SiteRPC.uploadUpdate.path, jobID: jobID, round: round, attempt: attempt)
            entry.bytes = bytes
            entry.sha256 = sha256
            entry.payloadSHA256 = payload.sha256
            entry.headerSHA256 = SHA256.hex(header)
            entry.headerArchive = try file.archive(header, subfolder: "messages", extension: "pb")
            // Archiving (off by default) takes the one whole copy of the payload.
            if archiveUpdates { entry.archive = try file.archive(payload.withBytes { Array($0) }, subfolder: "payloads", extension: masked ? "u32" : "f32") }
            return try append(entry)
        }
    }

    /// Records how call `seq` ended: the response's size and hash, or the error.
    func outcome(of seq: Int, response: [UInt8]) throws {
        try outcome(of: seq, responseBytes: response.count, responseSHA256: SHA256.hex(response))
    }

    /// Records how call `seq` ended: `responseBytes` with hash `responseSHA256` (sent) or `error` (failed).
    func outcome(of seq: Int, responseBytes: Int? = nil, responseSHA256: String? = nil, error: (any Error)? = nil) throws {
        try locked {
            var entry = EgressEntry(type: .outcome)
            entry.of = seq
            entry.status = error == nil ? "sent" : "failed"
            entry.responseBytes = responseBytes
            entry.responseSHA256 = responseSHA256
            entry.error = error.map { "\($0)" }
            if error != nil { pending[seq] = nil }
            try file.append(entry, durable: false)
        }
    }

    /// Checks the coordinator's receipt for call `seq` against the consortium CA and the request recorded, and keeps it
    /// beside the entry; a missing or bad receipt is recorded as a warning (and logged) for the reviewer.
    func receipt(of seq: Int, _ response: some ReceiptCarrying) throws {
        try receipt(of: seq, response.receipt)
    }

    func receipt(of seq: Int, _ signed: Fedct_V1_SignedReceipt) throws {
        try locked {
            guard let intent = pending.removeValue(forKey: seq) else { return }
            var warning: String?
            if signed.receipt.isEmpty {
                warning = "the coordinator sent no receipt"
            } else {
                do {
                    _ = try Receipts.check(signed, for: intent, site: site, verifier: receiptVerifier, coordinatorName: coordinatorName)
                } catch let error as IdentityError {
                    warning = "receipt refused: \(error.message)"
                }
            }
            if let warning {
                logger.warning("coordinator receipt missing or invalid; recorded in the egress ledger", metadata: [
                    "kind": "\(intent.kind ?? "")", "entry": "\(seq)", "reason": "\(warning)",
                ])
            }
            try file.append(.receipt(of: seq, signed, warning: warning), durable: false)
        }
    }

    /// Chains privacy spends into the ledger (after they are in `privacy-budget.json`), so a spend removed there is detectable.
    public func recordSpends(_ spends: [PrivacySpend]) throws {
        try locked {
            for spend in spends {
                var entry = EgressEntry(type: .spend)
                entry.spend = spend
                entry.jobID = spend.jobID
                entry.round = spend.round
                try file.append(entry)
            }
        }
    }

    /// Records that the site's policy declined `jobID`, with the reason and the site.yaml setting that decided it.
    public func recordDecline(jobID: String, round: Int, reason: String, setting: String) throws {
        try locked {
            var entry = EgressEntry(type: .decline)
            entry.jobID = jobID
            entry.round = round
            entry.reason = reason
            entry.setting = setting
            try file.append(entry)
            declined.insert(jobID)
        }
    }

    /// Whether the site declined `jobID` (the only message about it that may leave is the Decline).
    public func hasDeclined(_ jobID: String) -> Bool {
        locked { declined.contains(jobID) }
    }

    /// Keeps the local update behind a masked input — the delta before clipping and its FedAvg weight —
    /// when the site archives updates. It never leaves the site; reviewers can compare it with the round's aggregate.
    public func archive(localDelta delta: [Float], weight: Int64, jobID: String, round: Int) throws {
        guard archiveUpdates else { return }
        let stem = folder.appending(path: "\(EgressLedgerFile.archiveName)/\(jobID)-round-\(round)")
        try UpdatePayload(floats: delta).withBytes { try Data($0).write(to: stem.appendingPathExtension("local.f32"), options: .atomic) }
        try Data("{\"example_weight\": \(weight)}\n".utf8).write(to: stem.appendingPathExtension("local.json"), options: .atomic)
    }

    private static func intent(kind: String, method: String, jobID: String?, round: Int?, attempt: Int?) -> EgressEntry {
        var entry = EgressEntry(type: .intent)
        entry.kind = kind
        entry.method = method
        entry.jobID = jobID.flatMap { $0.isEmpty ? nil : $0 }
        entry.round = round
        entry.attempt = attempt
        return entry
    }

    private func append(_ entry: EgressEntry) throws -> Int {
        let sealed = try file.append(entry)
        pending[sealed.entry.seq] = sealed.entry
        return sealed.entry.seq
    }
}
