// AdminClient: typed calls to the coordinator's Admin service, as used by fedctl.
public import FedCTProto
import FedCTProtocol
public import FedCTRPC
import FedCTStorage
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
        var blob: [UInt8] = []
        try await streamModel(sha256: sha256) { chunk in
            if blob.isEmpty && chunk.totalBytes > 0 { blob.reserveCapacity(Int(chunk.totalBytes)) }
            blob.append(contentsOf: chunk.data)
        }
        return blob
    }

    /// Downloads the model blob `sha256` into `file` chunk by chunk (memory of one chunk); the file is put in place
    /// (fsync, rename) only once every chunk arrived at its offset and the whole blob matched its hash. Returns its size.
    public func fetchModel(sha256: String, to file: URL) async throws -> Int {
        let writer = try AtomicFileWriter(folder: file.deletingLastPathComponent(), name: file.lastPathComponent)
        let bytes = try await streamModel(sha256: sha256) { chunk in
            try chunk.data.withUnsafeBytes { try writer.write($0, naming: file) }
        }
        try writer.commit(to: file)
        return bytes
    }

    /// Streams the chunks of blob `sha256` to `body` in order, checking each chunk's offset and, at the end, the hash
    /// of all of them; returns the byte count.
    @discardableResult
    private func streamModel(sha256: String, _ body: (Fedct_V1_ModelChunk) throws -> Void) async throws -> Int {
        var request = Fedct_V1_FetchModelRequest()
        request.sha256 = sha256
        var hasher = SHA256()
        var received = 0
        do {
            for try await message in channel.serverStreaming(method: AdminRPC.fetchModel.path, request: try request.serializedBytes(), timeout: .seconds(600)) {
                let chunk = try AdminRPC.fetchModel.decodeResponse(message)
                guard chunk.offset == received else {
                    throw FedCTError(.integrity, "model \(sha256.prefix(12)) from \(channel.target): chunk at offset \(chunk.offset), expected \(received); nothing was kept")
                }
                hasher.update(data: chunk.data)
                try body(chunk)
                received += chunk.data.count
            }
        } catch let error as RPCError {
            throw error.explainingConnectionFailure(target: channel.target)
        }
        guard hasher.finalize().hex == sha256 else {
            throw FedCTError(.integrity, "model \(sha256.prefix(12)) from \(channel.target) arrived with a different hash; it is discarded")
        }
        return received
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
