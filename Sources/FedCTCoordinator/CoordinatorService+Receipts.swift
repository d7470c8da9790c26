// CoordinatorService+Receipts: a receipt signed with the coordinator's certificate key for every site message it accepts.
import Crypto
import FedCTAudit
import FedCTCore
import FedCTIdentity
import FedCTProto
import FedCTRPC
import Foundation
import SwiftProtobuf

/// A response that carries the receipt for the call it answers.
protocol ReceiptBearing {
    var receipt: Fedct_V1_SignedReceipt { get set }
}

extension ReceiptBearing {
    func with(_ receipt: Fedct_V1_SignedReceipt) -> Self {
        var copy = self
        copy.receipt = receipt
        return copy
    }
}

extension Fedct_V1_JoinResponse: ReceiptBearing {}
extension Fedct_V1_Task: ReceiptBearing {}
extension Fedct_V1_HeartbeatResponse: ReceiptBearing {}
extension Fedct_V1_SecAggAck: ReceiptBearing {}
extension Fedct_V1_SecAggStepResponse: ReceiptBearing {}
extension Fedct_V1_SetupReceipt: ReceiptBearing {}
extension Fedct_V1_MetricsReceipt: ReceiptBearing {}
extension Fedct_V1_DeclineAck: ReceiptBearing {}

extension CoordinatorService {
    /// `response` with the receipt for the site call `call` carrying `request`, when it is a site call that bears one.
    func withReceipt<Response: SwiftProtobuf.Message>(_ call: ServerCall, request: [UInt8], _ response: Response) -> Response {
        guard let bearing = response as? any ReceiptBearing,
              let receipt = receipt(call, bytes: request.count, sha256: SHA256.hex(request), first: request) else { return response }
        return (bearing.with(receipt) as? Response) ?? response
    }

    /// The signed receipt for a site call whose request messages total `bytes` with SHA-256 `sha256` (`first`: its first
    /// message). Nil — and a warning logged — when the coordinator's key cannot sign (the site then records a missing receipt).
    func receipt(_ call: ServerCall, bytes: Int, sha256: String, first: [UInt8]) -> Fedct_V1_SignedReceipt? {
        guard let pem = call.peer.certificatePEM,
              let site = try? ParticipantIdentity(certificatePEM: pem).name,
              let kind = EgressKind.of(method: call.method, request: first) else { return nil }
        let context = EgressKind.context(method: call.method, request: first)
        let config = coordinator.config
        do {
            let certificate = try String(contentsOfFile: config.certificateFile, encoding: .utf8)
            let signer = try CertificateKeySigner(privateKeyPEM: try String(contentsOfFile: config.keyFile, encoding: .utf8), source: config.keyFile)
            return try Receipts.sign(site: site, method: call.method, kind: kind, jobID: context.jobID, round: context.round, attempt: context.attempt,
                                     bytes: bytes, sha256: sha256, certificatePEM: certificate) { try signer.sign($0) }
        } catch {
            logger.warning("cannot sign a receipt; the site records it as missing", metadata: ["method": "\(call.method)", "error": "\(error)"])
            return nil
        }
    }

    /// Acknowledges a site's Decline: logged (the site takes no further part in the job), answered with a receipt.
    func decline(site: String, _ request: Fedct_V1_DeclineRequest) -> Fedct_V1_DeclineAck {
        logger.notice("site declined the job under its egress policy", metadata: [
            "site": "\(site)", "job": "\(request.jobID)", "reason": "\(request.reason)", "setting": "\(request.setting)",
        ])
        return Fedct_V1_DeclineAck()
    }
}
