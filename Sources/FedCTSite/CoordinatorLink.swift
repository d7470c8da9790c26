// CoordinatorLink: the site's one egress point — every call to the coordinator is recorded in the ledger, sent, then its outcome and receipt recorded.
import FedCTAudit
import FedCTCore
public import FedCTProto
import FedCTProtocol
public import FedCTRPC
import Crypto
import Foundation
public import Logging
import SwiftProtobuf

/// Typed calls to the coordinator's Site service. Nothing leaves the site except through here.
///
/// Each call takes its channel from a ``ReloadingChannel``, so a certificate and key renewed on disk
/// (`fedctl provision renew` into the start-up kit) are presented from the next call on, without a restart.
public struct CoordinatorLink: Sendable {
    let channels: ReloadingChannel
    let ledger: EgressLedger
    let callTimeout: Duration = .seconds(60)
    /// Payload bytes per upload chunk (below the coordinator's message limit).
    let chunkBytes = 1 << 20

    /// A model download's or update upload's deadline: 10 minutes, or as long as the bytes take at 1 Mbit/s when that is
    /// longer, so a big model on a slow link that keeps moving is not cut off by a fixed deadline.
    static func transferTimeout(bytes: Int64) -> Duration { .seconds(max(600, bytes / 125_000)) }

    /// Connects to `options.target` with the TLS material `loadTLS` reads (re-read before calls, at most once a second).
    public init(options: ChannelOptions, loadTLS: @escaping @Sendable () throws -> TLSConfig, ledger: EgressLedger, logger: Logger) throws {
        let target = options.target
        channels = try ReloadingChannel(options: options, loadTLS: loadTLS) { reload in
            switch reload {
            case .rebuilt:
                logger.notice("TLS certificate or key changed on disk; new connections to the coordinator present it", metadata: ["coordinator": "\(target)"])
            case .refused(let error):
                logger.error("TLS files changed but cannot be used; the previous certificate stays in use until they are fixed",
                             metadata: ["coordinator": "\(target)", "error": "\(error)"])
            }
        }
        self.ledger = ledger
    }

    public func join(_ request: Fedct_V1_JoinRequest) async throws -> Fedct_V1_JoinResponse {
        try await unary(SiteRPC.join, request)
    }

    public func pullTask() async throws -> Fedct_V1_Task {
        try await unary(SiteRPC.pullTask, Fedct_V1_PullTaskRequest())
    }

    public func heartbeat(_ request: Fedct_V1_HeartbeatRequest) async throws -> Fedct_V1_HeartbeatResponse {
        try await unary(SiteRPC.heartbeat, request, jobID: request.jobID, round: Int(request.round))
    }

    /// Tells the coordinator this site's policy declines `request.jobID` (recorded as "decline"; the only message sent about that job).
    public func decline(_ request: Fedct_V1_DeclineRequest) async throws {
        let _: Fedct_V1_DeclineAck = try await unary(SiteRPC.decline, request, jobID: request.jobID, round: Int(request.round))
    }

    // MARK: Secure aggregation

    /// Sends the key advertisement `build` returns after signing it with `privateKeyPEM`: the key of the certificate
    /// this very call presents (the coordinator checks the signature against it), so a renewal cannot split the two.
    public func advertiseKeys(_ build: (_ privateKeyPEM: String) throws -> Fedct_V1_KeyAdvertisement) async throws {
        let (channel, tls) = channels.current()
        let advertisement = try build(tls.privateKeyPEM)
        let _: Fedct_V1_SecAggAck = try await unary(SiteRPC.advertiseKeys, advertisement,
                                                     jobID: advertisement.jobID, round: Int(advertisement.round), attempt: Int(advertisement.attempt), on: channel)
    }

    public func shareKeys(_ request: Fedct_V1_ShareKeysRequest) async throws {
        let _: Fedct_V1_SecAggAck = try await unary(SiteRPC.shareKeys, request,
                                                     jobID: request.jobID, round: Int(request.round), attempt: Int(request.attempt))
    }

    public func secAggStep(_ request: Fedct_V1_SecAggStepRequest) async throws -> Fedct_V1_SecAggStepResponse {
        try await unary(SiteRPC.secAggStep, request, jobID: request.jobID, round: Int(request.round), attempt: Int(request.attempt))
    }

    public func unmask(_ request: Fedct_V1_UnmaskRequest) async throws {
        let _: Fedct_V1_SecAggAck = try await unary(SiteRPC.unmask, request,
                                                     jobID: request.jobID, round: Int(request.round), attempt: Int(request.attempt))
    }

    /// Sends a setup step's statistics: candidate names ("setup-candidates"), plain counts ("setup-counts") or masked words ("setup-masked").
    public func submitSetup(_ submission: Fedct_V1_SetupSubmission) async throws -> Fedct_V1_SetupReceipt {
        try await unary(SiteRPC.submitSetup, kind: EgressKind.setupKind(submission.statistics), submission, jobID: submission.jobID, round: Int(submission.round),
                               attempt: Int(submission.attempt))
    }

    /// Sends a names answer ("setup-candidates") that `build` signs with `privateKeyPEM`, the key of the certificate this
    /// call presents (the coordinator relays that certificate with the list, as for `advertiseKeys`).
    public func submitCandidates(_ build: (_ privateKeyPEM: String) throws -> Fedct_V1_SetupSubmission) async throws -> Fedct_V1_SetupReceipt {
        let (channel, tls) = channels.current()
        let submission = try build(tls.privateKeyPEM)
        return try await unary(SiteRPC.submitSetup, kind: EgressKind.setupKind(submission.statistics), submission, jobID: submission.jobID, round: Int(submission.round),
                               attempt: Int(submission.attempt), on: channel)
    }

    /// Sends an evaluation report (metrics and counts only; recorded as "metrics").
    public func reportMetrics(_ report: Fedct_V1_MetricsReport) async throws {
        let _: Fedct_V1_MetricsReceipt = try await unary(SiteRPC.reportMetrics, report, jobID: report.jobID, round: Int(report.round))
    }

    /// Downloads a model blob and checks it is the one asked for.
    public func fetchModel(sha256: String, expectedBytes: Int64) async throws -> [UInt8] {
        var request = Fedct_V1_FetchModelRequest()
        request.sha256 = sha256
        request.chunkBytes = Int32(chunkBytes)
        let bytes: [UInt8] = try request.serializedBytes()
        let kind = SiteRPC.fetchModel.info.ledgerKind ?? "fetch-model"
        let seq = try ledger.intend(kind: kind, method: SiteRPC.fetchModel.path, request: bytes, jobID: nil, round: nil, attempt: nil)
        SiteMetrics.sent(kind: kind, bytes: bytes.count)
        var blob: [UInt8] = []
        var receipt = Fedct_V1_SignedReceipt()
        blob.reserveCapacity(Int(max(expectedBytes, 0)))
        let channel = channels.channel()
        defer { withExtendedLifetime(channel) {} }
        do {
            for try await message in channel.serverStreaming(method: SiteRPC.fetchModel.path, request: bytes,
                                                                   timeout: Self.transferTimeout(bytes: expectedBytes)) {
                let chunk = try SiteRPC.fetchModel.decodeResponse(message)
                guard chunk.offset == blob.count else {
                    throw FedCTError(.integrity, "model \(sha256.prefix(12)): chunk at offset \(chunk.offset), expected \(blob.count)")
                }
                if chunk.hasReceipt { receipt = chunk.receipt }
                blob.append(contentsOf: chunk.data)
            }
            guard SHA256.hex(blob) == sha256 else {
                throw FedCTError(.integrity, "model \(sha256.prefix(12)) arrived with a different hash; it is discarded")
            }
        } catch {
            try ledger.outcome(of: seq, error: error)
            throw error
        }
        try ledger.outcome(of: seq, responseBytes: blob.count, responseSHA256: sha256)
        try ledger.receipt(of: seq, receipt)
        SiteMetrics.received(kind: kind, bytes: blob.count)
        return blob
    }

    /// Streams an update: the header, then the payload in chunks copied out of it one at a time. Recorded as one entry
    /// over all its messages (and the header and, when archiving, the payload archived) before the first byte leaves.
    func upload(header: Fedct_V1_UpdateHeader, payload: UpdatePayload) async throws -> Fedct_V1_UploadReceipt {
        let kind = EgressKind.updateKind(masked: header.hasMasked)
        var opening = Fedct_V1_UpdateChunk()
        opening.header = header
        let first: [UInt8] = try opening.serializedBytes()
        let chunks = stride(from: 0, to: payload.count, by: chunkBytes).lazy.map { offset in
            var chunk = Fedct_V1_UpdateChunk()
            chunk.data = payload.chunk(offset..<min(offset + chunkBytes, payload.count))
            return (try? chunk.serializedBytes()) ?? []
        }
        let seq = try ledger.intendUpload(kind: kind, messages: [AnySequence([first]), AnySequence(chunks)].joined(), header: try header.serializedBytes(),
                                          payload: payload, masked: header.hasMasked, jobID: header.jobID, round: Int(header.round),
                                          attempt: Int(header.masked.attempt))
        SiteMetrics.sent(kind: kind, bytes: payload.count)
        let reply: [UInt8]
        do {
            let channel = channels.channel()
            defer { withExtendedLifetime(channel) {} }
            let call = try channel.makeCall(method: SiteRPC.uploadUpdate.path, timeout: Self.transferTimeout(bytes: Int64(payload.count)))
            try await call.write(first)
            for chunk in chunks { try await call.write(chunk) }
            await call.closeSend()
            guard let message = try await call.read() else {
                throw await call.status() ?? RPCError(code: .internalError, message: "UploadUpdate ended without a receipt")
            }
            reply = message
        } catch {
            try ledger.outcome(of: seq, error: error)
            throw error
        }
        try ledger.outcome(of: seq, response: reply)
        SiteMetrics.received(kind: kind, bytes: reply.count)
        let receipt = try SiteRPC.uploadUpdate.decodeResponse(reply)
        try ledger.receipt(of: seq, receipt)
        return receipt
    }

    /// One unary call, recorded under `kind` (default: the method's ledger kind) before it leaves.
    private func unary<Request, Response: ReceiptCarrying>(
        _ method: RPCMethod<Request, Response>, kind: String? = nil, _ request: Request, jobID: String? = nil, round: Int? = nil, attempt: Int? = nil,
        on channel: GRPCChannel? = nil
    ) async throws -> Response {
        guard let kind = kind ?? method.info.ledgerKind else { preconditionFailure("\(method.path) needs a ledger kind from its message") }
        let bytes: [UInt8] = try request.serializedBytes()
        let seq = try ledger.intend(kind: kind, method: method.path, request: bytes, jobID: jobID, round: round, attempt: attempt)
        SiteMetrics.sent(kind: kind, bytes: bytes.count)
        let reply: [UInt8]
        do {
            reply = try await (channel ?? channels.channel()).unary(method: method.path, request: bytes, timeout: callTimeout)
        } catch {
            try ledger.outcome(of: seq, error: error)
            throw error
        }
        try ledger.outcome(of: seq, response: reply)
        SiteMetrics.received(kind: kind, bytes: reply.count)
        let response = try method.decodeResponse(reply)
        try ledger.receipt(of: seq, response)
        return response
    }
}
