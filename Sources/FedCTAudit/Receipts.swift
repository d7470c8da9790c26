// Receipts: the coordinator's signed acknowledgement of a site message — made by the coordinator, checked by the site and by `fedctl audit`.
import Crypto
public import FedCTIdentity
public import FedCTProto
import Foundation

/// Signing and checking of ``Fedct_V1_Receipt``s.
public enum Receipts {
    /// The receipt for `request` (the serialized request messages of one call, concatenated) from `site` to `method`,
    /// signed with `sign` (the coordinator's certificate key) and carrying `certificatePEM`.
    public static func sign(site: String, method: String, kind: String, jobID: String, round: Int32, attempt: Int32,
                            bytes: Int, sha256: String, time: Date = Date(), certificatePEM: String,
                            sign: ([UInt8]) throws -> [UInt8]) throws -> Fedct_V1_SignedReceipt {
        var receipt = Fedct_V1_Receipt()
        receipt.site = site
        receipt.method = method
        receipt.kind = kind
        receipt.jobID = jobID
        receipt.round = round
        receipt.attempt = attempt
        receipt.bytes = Int64(bytes)
        receipt.sha256 = sha256
        receipt.time = time.formatted(.iso8601)
        let body: [UInt8] = try receipt.serializedBytes()
        var signed = Fedct_V1_SignedReceipt()
        signed.receipt = Data(body)
        signed.signature = Data(try sign(body))
        signed.certificatePem = certificatePEM
        return signed
    }

    /// Checks that `signed` is signed by a coordinator certificate of the consortium valid at the receipt's time and that
    /// it acknowledges exactly the request `intent` records, from `site`. Returns the receipt; throws a message saying what is wrong.
    public static func check(_ signed: Fedct_V1_SignedReceipt, for intent: EgressEntry, site: String,
                             verifier: SigningCertificateVerifier, coordinatorName: String? = nil) throws -> Fedct_V1_Receipt {
        guard !signed.receipt.isEmpty else { throw IdentityError("no receipt") }
        let receipt: Fedct_V1_Receipt
        do {
            receipt = try Fedct_V1_Receipt(serializedBytes: signed.receipt)
        } catch {
            throw IdentityError("the receipt is not a readable Receipt message (\(error))")
        }
        guard let time = try? Date(receipt.time, strategy: .iso8601) else {
            throw IdentityError("the receipt's time '\(receipt.time)' is not ISO 8601")
        }
        let (identity, key) = try verifier.signingKey(certificatePEM: signed.certificatePem, role: .coordinator, at: time,
                                                      what: "the receipt's certificate")
        if let coordinatorName, identity.name != coordinatorName {
            throw IdentityError("the receipt is signed by coordinator \(identity.name), not by the pinned \(coordinatorName)")
        }
        guard SigningCertificateVerifier.isValid(signature: Array(signed.signature), of: signed.receipt, by: key) else {
            throw IdentityError("the receipt's signature is not the coordinator's certificate key's (forged or altered)")
        }
        var mismatches: [String] = []
        if receipt.site != site { mismatches.append("site \(receipt.site) ≠ \(site)") }
        if receipt.sha256 != intent.sha256 { mismatches.append("sha256 \(receipt.sha256.prefix(12)) ≠ \((intent.sha256 ?? "").prefix(12))") }
        if Int(receipt.bytes) != intent.bytes { mismatches.append("bytes \(receipt.bytes) ≠ \(intent.bytes ?? 0)") }
        if receipt.method != intent.method { mismatches.append("method \(receipt.method) ≠ \(intent.method ?? "")") }
        if receipt.kind != intent.kind { mismatches.append("kind \(receipt.kind) ≠ \(intent.kind ?? "")") }
        guard mismatches.isEmpty else {
            throw IdentityError("the receipt acknowledges a different message: \(mismatches.joined(separator: ", "))")
        }
        return receipt
    }
}

extension EgressEntry {
    /// The ledger entry keeping `signed`, the coordinator's receipt for intent `intent`, or — when `warning` is set — saying why
    /// it was missing or refused (the receipt, if any, is kept for the reviewer either way).
    public static func receipt(of intent: Int, _ signed: Fedct_V1_SignedReceipt?, warning: String?) -> EgressEntry {
        var entry = EgressEntry(type: .receipt)
        entry.of = intent
        entry.warning = warning
        if let signed, !signed.receipt.isEmpty {
            entry.receipt = signed.receipt.base64EncodedString()
            entry.receiptSignature = signed.signature.base64EncodedString()
            entry.coordinatorCertificate = signed.certificatePem
        }
        return entry
    }
}
