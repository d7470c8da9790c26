// CoordinatorService: the coordinator's RPC surface — routes gRPC calls by method to the Coordinator, enforcing roles.
import Crypto
import FedCTCore
import FedCTIdentity
import FedCTProto
import FedCTProtocol
public import FedCTRPC
import Foundation
public import Logging
import SwiftProtobuf

/// Serves the `fedct.v1.Site` and `fedct.v1.Admin` services over the gRPC bridge.
///
/// The caller's identity is always the one in its verified client certificate: sites may call only
/// Site methods, admins only Admin methods. A certificate whose serial is on the revocation list is refused on
/// every call with `UNAUTHENTICATED`.
public struct CoordinatorService: Sendable {
    let coordinator: Coordinator
    let logger: Logger
    let chunkBytes: Int
    let revocations: RevocationWatcher?
    /// Which sites called lately, for the sites-connected gauge.
    let activity = SiteActivity()

    public init(coordinator: Coordinator, chunkBytes: Int, revocations: RevocationWatcher? = nil, logger: Logger) {
        self.coordinator = coordinator
        self.chunkBytes = chunkBytes
        self.revocations = revocations
        self.logger = logger
    }

    /// Handles one incoming call to completion.
    public func handle(_ call: ServerCall) async {
        let peer: PeerCertificate
        do {
            guard let pem = call.peer.certificatePEM, !pem.isEmpty else {
                throw RPCError(code: .unauthenticated, message: "no client certificate")
            }
            peer = try PeerCertificate(certificatePEM: pem)
        } catch {
            logger.warning("refused call without a FedCT identity", metadata: ["peer": "\(call.peer.address)", "error": "\(error)"])
            await call.finish(RPCError(code: .unauthenticated, message: "\(error)"))
            return
        }
        if let revoked = revocations?.revocation(ofSerial: peer.serial) {
            logger.warning("refused call with a revoked certificate", metadata: [
                "method": "\(call.method)", "peer": "\(peer.identity)", "address": "\(call.peer.address)", "serial": "\(peer.serial)",
            ])
            CoordinatorMetrics.revokedCallRefused()
            let reason = revoked.reason.map { ": \($0)" } ?? ""
            await call.finish(RPCError(code: .unauthenticated, message:
                "certificate serial \(peer.serial) (\(peer.identity)) is revoked\(reason); ask the consortium's operator for a renewed certificate (`fedctl provision renew`)"))
            return
        }
        let identity = peer.identity
        do {
            try await route(call, peer)
        } catch {
            let status = Self.status(for: error)
            logger.notice("call failed", metadata: ["method": "\(call.method)", "peer": "\(identity)", "status": "\(status.code.rawValue)", "error": "\(status.message)"])
            await call.finish(status)
        }
    }

    private func route(_ call: ServerCall, _ peer: PeerCertificate) async throws {
        let identity = peer.identity
        guard let method = FedCTServices.byPath[call.method] else {
            throw RPCError(code: .unimplemented, message: "unknown method \(call.method)")
        }
        switch (method.caller, identity.role) {
        case (.site, .site), (.admin, .admin): break
        default: throw RPCError(code: .permissionDenied, message: "\(identity) may not call \(call.method)")
        }
        let name = identity.name
        if identity.role == .site { activity.called(name, certificate: peer) }
        switch call.method {
        case SiteRPC.join.path:
            try await unary(call, SiteRPC.join) { (request: Fedct_V1_JoinRequest) in
                activity.joined(name, agentVersion: request.agentVersion)
                if let refusal = WireProtocolVersion.coordinatorRefusal(site: request.protocolVersion, agentVersion: request.agentVersion,
                                                                         coordinatorVersion: Coordinator.version) {
                    logger.warning("site refused at join: protocol versions", metadata: ["site": "\(name)", "reason": "\(refusal)"])
                    throw RPCError(code: .failedPrecondition, message: refusal)
                }
                return await coordinator.join(site: name, request)
            }
        case SiteRPC.pullTask.path:
            try await unary(call, SiteRPC.pullTask) { (_: Fedct_V1_PullTaskRequest) in await coordinator.pullTask(site: name) }
        case SiteRPC.heartbeat.path:
            try await unary(call, SiteRPC.heartbeat) { (_: Fedct_V1_HeartbeatRequest) in
                await coordinator.heartbeat(site: name)
                return Fedct_V1_HeartbeatResponse()
            }
        case SiteRPC.reportMetrics.path:
            try await unary(call, SiteRPC.reportMetrics) { (report: Fedct_V1_MetricsReport) in
                try await coordinator.reportMetrics(site: name, report)
                return Fedct_V1_MetricsReceipt()
            }
        case SiteRPC.fetchModel.path, AdminRPC.fetchModel.path:
            try await fetchModel(call, roundTrafficOf: identity.role == .site ? name : nil)
        case SiteRPC.uploadUpdate.path:
            do {
                try await upload(call, site: name)
            } catch {
                CoordinatorMetrics.uploadRejected(error)
                throw error
            }
        case SiteRPC.advertiseKeys.path:
            let certificate = call.peer.certificatePEM ?? ""
            try await unary(call, SiteRPC.advertiseKeys) { (request: Fedct_V1_KeyAdvertisement) in
                try await coordinator.advertiseKeys(site: name, certificatePEM: certificate, request)
                return Fedct_V1_SecAggAck()
            }
        case SiteRPC.shareKeys.path:
            try await unary(call, SiteRPC.shareKeys) { (request: Fedct_V1_ShareKeysRequest) in
                try await coordinator.shareKeys(site: name, request)
                return Fedct_V1_SecAggAck()
            }
        case SiteRPC.secAggStep.path:
            try await unary(call, SiteRPC.secAggStep) { (request: Fedct_V1_SecAggStepRequest) in await coordinator.secAggStep(site: name, request) }
        case SiteRPC.unmask.path:
            try await unary(call, SiteRPC.unmask) { (request: Fedct_V1_UnmaskRequest) in
                try await coordinator.unmask(site: name, request)
                return Fedct_V1_SecAggAck()
            }
        case SiteRPC.decline.path:
            try await unary(call, SiteRPC.decline) { (request: Fedct_V1_DeclineRequest) in decline(site: name, request) }
        case SiteRPC.submitSetup.path:
            let certificate = call.peer.certificatePEM ?? ""
            try await unary(call, SiteRPC.submitSetup) { (request: Fedct_V1_SetupSubmission) in try await coordinator.submitSetup(site: name, certificatePEM: certificate, request) }
        case AdminRPC.submitJob.path:
            try await unary(call, AdminRPC.submitJob) { (request: Fedct_V1_SubmitJobRequest) in try await coordinator.submit(request.spec, by: name) }
        case AdminRPC.listJobs.path:
            try await unary(call, AdminRPC.listJobs) { (_: Fedct_V1_ListJobsRequest) in
                var response = Fedct_V1_ListJobsResponse()
                response.jobs = await coordinator.listJobs()
                return response
            }
        case AdminRPC.cancelJob.path:
            try await unary(call, AdminRPC.cancelJob) { (request: Fedct_V1_CancelJobRequest) in try await coordinator.cancel(request.jobID, by: name) }
        case AdminRPC.getJob.path:
            try await unary(call, AdminRPC.getJob) { (request: Fedct_V1_GetJobRequest) in try await coordinator.job(request.jobID) }
        default:
            throw RPCError(code: .unimplemented, message: "unknown method \(call.method)")
        }
    }

    /// Reads one request of `method`, answers one response.
    private func unary<Request, Response>(
        _ call: ServerCall, _ method: RPCMethod<Request, Response>, _ body: (Request) async throws -> Response
    ) async throws {
        assert(call.method == method.path, "\(call.method) routed to the handler of \(method.path)")
        guard let bytes = await call.read() else {
            throw RPCError(code: .invalidArgument, message: "\(call.method): no request message")
        }
        let request = try decodeRequest(method, bytes)
        let response: [UInt8] = try withReceipt(call, request: bytes, await body(request)).serializedBytes()
        try await call.write(response)
        CoordinatorMetrics.rpcBytes(method: call.method, received: bytes.count, sent: response.count)
        await call.finish(nil)
    }

    private func fetchModel(_ call: ServerCall, roundTrafficOf site: String?) async throws {
        guard let bytes = await call.read() else { throw RPCError(code: .invalidArgument, message: "FetchModel: no request") }
        let request = try decodeRequest(SiteRPC.fetchModel, bytes)
        let url = try await coordinator.modelBlob(request.sha256)
        let handle = try FileHandle(forReadingFrom: url)
        defer { try? handle.close() }
        let total = Int64((try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int) ?? 0)
        let chunkSize = request.chunkBytes > 0 ? min(Int(request.chunkBytes), chunkBytes) : chunkBytes
        var offset: Int64 = 0
        var sent = 0
        while let data = try handle.read(upToCount: chunkSize), !data.isEmpty {
            var chunk = Fedct_V1_ModelChunk()
            chunk.offset = offset
            chunk.totalBytes = total
            chunk.data = data
            if offset == 0, let receipt = receipt(call, bytes: bytes.count, sha256: SHA256.hex(bytes), first: bytes) { chunk.receipt = receipt }
            let message: [UInt8] = try chunk.serializedBytes()
            try await call.write(message)
            offset += Int64(data.count)
            sent += message.count
        }
        CoordinatorMetrics.rpcBytes(method: call.method, received: bytes.count, sent: sent)
        if let site { await coordinator.recordDownload(site: site, bytes: Int(offset)) }
        await call.finish(nil)
    }

    private func upload(_ call: ServerCall, site: String) async throws {
        guard let first = await call.read() else { throw RPCError(code: .invalidArgument, message: "UploadUpdate: empty stream") }
        let opening = try decodeRequest(SiteRPC.uploadUpdate, first)
        guard case .header(let header) = opening.part else {
            throw RPCError(code: .invalidArgument, message: "UploadUpdate: the first chunk must be the header")
        }
        let target = try await coordinator.beginUpload(site: site, header: header)
        let spool = try UpdateSpool(url: target.url, expectedBytes: target.bytes, checksFloats: !target.masked)
        var received = first.count
        var hasher = SHA256()
        hasher.update(data: first)
        do {
            while let bytes = await call.read() {
                received += bytes.count
                hasher.update(data: bytes)
                let chunk = try decodeRequest(SiteRPC.uploadUpdate, bytes)
                guard case .data(let data) = chunk.part else {
                    throw RPCError(code: .invalidArgument, message: "UploadUpdate: only the first chunk may be a header")
                }
                try spool.append([UInt8](data))
            }
            let url = try spool.finish(expectedSHA256: header.payloadSha256)
            try await coordinator.finishUpload(site: site, header: header, spooled: url)
        } catch {
            spool.discard()
            throw error
        }
        var receipt = Fedct_V1_UploadReceipt()
        receipt.jobID = header.jobID
        receipt.round = header.round
        receipt.bytesReceived = Int64(target.bytes)
        receipt.payloadSha256 = header.payloadSha256
        if let signed = self.receipt(call, bytes: received, sha256: hasher.finalize().hex, first: first) { receipt.receipt = signed }
        let reply: [UInt8] = try receipt.serializedBytes()
        try await call.write(reply)
        CoordinatorMetrics.rpcBytes(method: call.method, received: received, sent: reply.count)
        await call.finish(nil)
    }

    /// Every site that called since the coordinator started: last call, certificate, agent version (for the dashboard).
    public func sitesSeen() -> [SiteSeen] { activity.snapshot() }

    /// When the revocation list in force was signed; nil when none is configured.
    public var revocationListUpdated: Date? { revocations?.updated }

    /// Whether the certificate with `serial` is on the revocation list in force.
    public func isRevoked(serial: String) -> Bool { revocations?.revocation(ofSerial: serial) != nil }

    /// Sets the sites-connected gauge (called every tick by the daemon).
    public func publishSitesConnected() {
        CoordinatorMetrics.sitesConnected(activity.connectedCount())
    }

    /// A request message of `method`; bytes that do not decode are the caller's error (`INVALID_ARGUMENT`).
    private func decodeRequest<Request, Response>(_ method: RPCMethod<Request, Response>, _ bytes: [UInt8]) throws -> Request {
        do {
            return try method.decodeRequest(bytes)
        } catch {
            throw RPCError(code: .invalidArgument, message: error.description)
        }
    }

    /// The gRPC status a failure is reported with.
    static func status(for error: any Error) -> RPCError {
        if let error = error as? RPCError { return error }
        if let error = error as? IdentityError { return RPCError(code: .unauthenticated, message: error.message) }
        guard let error = error as? FedCTError else { return RPCError(code: .internalError, message: "\(error)") }
        let code: RPCError.Code =
            switch error.code {
            case .invalidConfiguration, .invalidData: .invalidArgument
            case .notFound: .notFound
            case .permissionDenied: .permissionDenied
            case .failedPrecondition, .protocolViolation: .failedPrecondition
            case .integrity: .dataLoss
            default: .internalError
            }
        return RPCError(code: code, message: error.message)
    }
}
