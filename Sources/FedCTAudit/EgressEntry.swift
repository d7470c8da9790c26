// EgressEntry: one record of the site's signed egress ledger — an outbound call's intent or outcome, a receipt, a spend, a decline.
public import FedCTCore
import Foundation

/// One entry of the egress ledger (`<state_dir>/egress.jsonl`), as signed. Which fields are set depends on ``type``.
///
/// Every entry carries its sequence number and the previous entry's hash, so the file is a hash chain; the line adds
/// the entry's own `hash` (SHA-256 of the entry's JSON) and `sig` (the site certificate key's ECDSA P-256 signature of it).
public struct EgressEntry: Codable, Sendable, Equatable {
    /// What an entry records.
    public enum EntryType: String, Codable, Sendable, CaseIterable {
        /// The agent started writing: its version and the egress policy in force.
        case open
        /// The certificate whose key signs the entries from here on (at start and after a renewal).
        case certificate
        /// An outbound RPC call about to be made: written and fsynced before its first byte leaves.
        case intent
        /// How that call ended: sent (with the response's size and hash) or failed.
        case outcome
        /// The coordinator's signed receipt for a call (or why none could be verified).
        case receipt
        /// A differential-privacy spend, also written to `privacy-budget.json`.
        case spend
        /// A job the site's policy refused: the reason and the setting that would change it.
        case decline
    }

    /// Position in the chain, from 0.
    public var seq: Int
    /// The previous entry's hash (64 zeros for the first).
    public var prev: String
    public var type: EntryType
    /// ISO 8601, UTC, to the second.
    public var time: String

    // intent
    /// The message kind (`join`, `pull-task`, `masked-update`, … see the privacy reviewer guide).
    public var kind: String?
    /// The gRPC method.
    public var method: String?
    public var jobID: String?
    public var round: Int?
    /// The secure-aggregation or setup attempt.
    public var attempt: Int?
    /// Serialized request bytes (for a streamed upload: of all its messages, header included).
    public var bytes: Int?
    /// SHA-256 of those bytes (for a streamed upload: of their concatenation).
    public var sha256: String?
    /// For an update upload: SHA-256 of the payload alone (what the coordinator's receipt names).
    public var payloadSHA256: String?
    /// The archived copy of what was sent, relative to the ledger's folder (for an update: of its payload).
    public var archive: String?
    /// For an update upload: its header message's SHA-256 and archived copy (always kept: it is small and in the clear).
    public var headerSHA256: String?
    public var headerArchive: String?

    // outcome, receipt
    /// The intent this entry is about.
    public var of: Int?
    /// `sent` or `failed`.
    public var status: String?
    public var responseBytes: Int?
    public var responseSHA256: String?
    public var error: String?

    // receipt
    /// The coordinator's receipt (serialized `Receipt`, base64), its signature and certificate.
    public var receipt: String?
    public var receiptSignature: String?
    public var coordinatorCertificate: String?
    /// Why a receipt is missing or was refused, when it is.
    public var warning: String?

    // spend
    public var spend: PrivacySpend?

    // certificate
    /// The signing certificate (PEM).
    public var certificate: String?

    // open, decline
    /// The agent's version (open).
    public var agentVersion: String?
    /// The egress policy in force (open), setting → value.
    public var policy: [String: String]?
    /// Why a job was declined, and the site.yaml setting that decided it.
    public var reason: String?
    public var setting: String?

    /// An entry of `type` at `time`; the chain fills in `seq` and `prev` when it seals it.
    public init(type: EntryType, time: Date = Date()) {
        seq = 0
        prev = ""
        self.type = type
        self.time = EgressEntry.timestamp(time)
    }

    /// The entry's time as a date (nil if unreadable).
    public var date: Date? { try? Date(time, strategy: .iso8601) }

    /// An ISO 8601 UTC timestamp to the second.
    public static func timestamp(_ date: Date) -> String { date.formatted(.iso8601) }

    /// The kinds of message whose payload is a model update.
    public static let updateKinds: Set<String> = ["masked-update", "update"]
    /// The kinds that carry job data in the clear (refused when the policy requires secure aggregation).
    public static let plainKinds: Set<String> = ["update", "setup-counts"]
}
