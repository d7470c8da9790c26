// AdminClient: typed calls to the coordinator's Admin service, as used by fedctl.
public import FedCTProto
public import FedCTRPC
import Foundation
import SwiftProtobuf

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
        return try await unary("/fedct.v1.Admin/SubmitJob", request)
    }

    public func list() async throws -> [Fedct_V1_JobStatus] {
        let response: Fedct_V1_ListJobsResponse = try await unary("/fedct.v1.Admin/ListJobs", Fedct_V1_ListJobsRequest())
        return response.jobs
    }

    public func job(_ id: String) async throws -> Fedct_V1_JobStatus {
        var request = Fedct_V1_GetJobRequest()
        request.jobID = id
        return try await unary("/fedct.v1.Admin/GetJob", request)
    }

    public func cancel(_ id: String) async throws -> Fedct_V1_JobStatus {
        var request = Fedct_V1_CancelJobRequest()
        request.jobID = id
        return try await unary("/fedct.v1.Admin/CancelJob", request)
    }

    /// Downloads a stored model blob.
    public func fetchModel(sha256: String) async throws -> [UInt8] {
        var request = Fedct_V1_FetchModelRequest()
        request.sha256 = sha256
        var blob: [UInt8] = []
        do {
            for try await message in channel.serverStreaming(method: "/fedct.v1.Admin/FetchModel", request: try request.serializedBytes(), timeout: .seconds(600)) {
                blob.append(contentsOf: try Fedct_V1_ModelChunk(serializedBytes: message).data)
            }
        } catch let error as RPCError {
            throw error.explainingConnectionFailure(target: channel.target)
        }
        return blob
    }

    /// One call; an unreachable coordinator is reported by address and cause, not in gRPC's words.
    private func unary<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(_ method: String, _ request: Request) async throws -> Response {
        let reply: [UInt8]
        do {
            reply = try await channel.unary(method: method, request: try request.serializedBytes(), timeout: .seconds(60))
        } catch let error as RPCError {
            throw error.explainingConnectionFailure(target: channel.target)
        }
        return try Response(serializedBytes: reply)
    }
}
