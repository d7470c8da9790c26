// AdminClient: typed calls to the coordinator's Admin service, as used by fedctl.
public import FedCTProto
import FedCTProtocol
public import FedCTRPC
import Foundation
import Crypto
import FedCTCore

/// A consortium admin's connection to the coordinator (admin certificate required).
public struct AdminClient: Sendable {
    let channel: GRPCChannel

    public init(address: String, tls: TLSConfig, serverName: String? = nil) throws {
        var options = ChannelOptions(target: address, tls: tls)
        options.serverNameOverride = serverName
        channel = try GRPCChannel(options: options)
    }

    public func submit(_ spec: Fedct_V1_JobSpec) async throws -> Fedct_V1_JobStatus {
        var request = Fedct_V1_SubmitJobRequest()
        request.spec = spec
        return try await unary(AdminRPC.submitJob, request)
    }

    public func list() async throws -> [Fedct_V1_JobStatus] {
        let response = try await unary(AdminRPC.listJobs, Fedct_V1_ListJobsRequest())
        return response.jobs
    }

    public func job(_ id: String) async throws -> Fedct_V1_JobStatus {
        var request = Fedct_V1_GetJobRequest()
        request.jobID = id
        return try await unary(AdminRPC.getJob, request)
    }

    public func cancel(_ id: String) async throws -> Fedct_V1_JobStatus {
        var request = Fedct_V1_CancelJobRequest()
        request.jobID = id
        return try await unary(AdminRPC.cancelJob, request)
    }

    /// Downloads a stored model blob, checking each chunk's offset and the whole blob's SHA-256 as a site does.
    public func fetchModel(sha256: String) async throws -> [UInt8] {
        var request = Fedct_V1_FetchModelRequest()
        request.sha256 = sha256
        var blob: [UInt8] = []
        do {
            for try await message in channel.serverStreaming(method: AdminRPC.fetchModel.path, request: try request.serializedBytes(), timeout: .seconds(600)) {
                let chunk = try AdminRPC.fetchModel.decodeResponse(message)
                guard chunk.offset == blob.count else {
                    throw FedCTError(.integrity, "model \(sha256.prefix(12)) from \(channel.target): chunk at offset \(chunk.offset), expected \(blob.count); nothing was kept")
                }
                if blob.isEmpty && chunk.totalBytes > 0 { blob.reserveCapacity(Int(chunk.totalBytes)) }
                blob.append(contentsOf: chunk.data)
            }
        } catch let error as RPCError {
            throw error.explainingConnectionFailure(target: channel.target)
        }
        guard SHA256.hex(blob) == sha256 else {
            throw FedCTError(.integrity, "model \(sha256.prefix(12)) from \(channel.target) arrived with a different hash; it is discarded")
        }
        return blob
    }

    /// One call; an unreachable coordinator is reported by address and cause, not in gRPC's words.
    private func unary<Request, Response>(_ method: RPCMethod<Request, Response>, _ request: Request) async throws -> Response {
        let reply: [UInt8]
        do {
            reply = try await channel.unary(method: method.path, request: try request.serializedBytes(), timeout: .seconds(60))
        } catch let error as RPCError {
            throw error.explainingConnectionFailure(target: channel.target)
        }
        return try method.decodeResponse(reply)
    }
}
