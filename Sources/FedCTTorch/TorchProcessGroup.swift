// TorchProcessGroup: owns one data-parallel group handle (c10d ProcessGroupGloo) that a site's training ranks share.
internal import CTorchBridge

/// One rank's membership of a site's data-parallel group: `size` processes (or machines) that train the same model on
/// disjoint shares of each step's examples and sum their gradients (libtorch's c10d over Gloo's TCP transport).
///
/// Not `Sendable`: used by the thread that trains with it.
public final class TorchProcessGroup {
    let handle: OpaquePointer
    public let rank: Int
    public let size: Int

    /// Joins the group through the rendezvous store at `storeHost:storePort` (rank 0 serves it), sending tensors over the
    /// interface whose address `interfaceHost` resolves to (e.g. "127.0.0.1" on one machine). Blocks until all `size`
    /// ranks joined; throws after `timeout` seconds (which also bounds every later gradient sum).
    public init(storeHost: String, storePort: Int, rank: Int, size: Int, interfaceHost: String, timeout: Double = 300) throws {
        var created: OpaquePointer?
        try TorchError.check {
            fct_torch_group_create(storeHost, Int32(clamping: storePort), Int32(clamping: rank), Int32(clamping: size), interfaceHost, timeout, &created, $0)
        }
        guard let created else { throw TorchError("the torch bridge returned no group") }
        handle = created
        self.rank = rank
        self.size = size
    }

    /// Joins the group through a rendezvous file at `fileStorePath` instead (c10d FileStore: a fresh file on a local file
    /// system every rank reaches, deleted by the last rank to leave): no socket listens for the rendezvous, for ranks on
    /// one machine. Gloo's own connections use the interface of `interfaceHost` ("127.0.0.1" on one machine).
    public init(fileStorePath: String, rank: Int, size: Int, interfaceHost: String, timeout: Double = 300) throws {
        var created: OpaquePointer?
        try TorchError.check {
            fct_torch_group_create_file(fileStorePath, Int32(clamping: rank), Int32(clamping: size), interfaceHost, timeout, &created, $0)
        }
        guard let created else { throw TorchError("the torch bridge returned no group") }
        handle = created
        self.rank = rank
        self.size = size
    }

    deinit { fct_torch_group_free(handle) }

    /// Rank 0's `bytes` at every rank: rank 0 passes them, the others pass nil and get rank 0's. Every rank must call it
    /// at the same point; bounded by the group's timeout.
    public func broadcast(_ bytes: [UInt8]?) throws -> [UInt8] {
        var length = Int64(bytes?.count ?? 0)
        try TorchError.check { fct_torch_group_broadcast_length(handle, &length, $0) }
        guard length >= 0 else { throw TorchError("rank 0 broadcast a negative length \(length)") }
        var buffer = rank == 0 ? (bytes ?? []) : [UInt8](repeating: 0, count: Int(length))
        guard buffer.count == Int(length) else { throw TorchError("rank \(rank) has \(buffer.count) bytes to broadcast, rank 0 said \(length)") }
        try buffer.withUnsafeMutableBufferPointer { pointer in
            try TorchError.check { fct_torch_group_broadcast_bytes(handle, pointer.baseAddress, length, $0) }
        }
        return buffer
    }

    /// `values` summed element-wise over the ranks (every rank passes as many). Bounded by the group's timeout.
    public func sum(_ values: [Double]) throws -> [Double] {
        var buffer = values
        try buffer.withUnsafeMutableBufferPointer { pointer in
            try TorchError.check { fct_torch_group_sum_doubles(handle, pointer.baseAddress, Int64(pointer.count), $0) }
        }
        return buffer
    }
}

extension TorchModel {
    /// Makes each following training step this rank's share of `group`'s step (nil: this process alone); see
    /// `fct_torch_model_set_group`. Every rank must then call `trainStep` for every step, with its own examples.
    public func setProcessGroup(_ group: TorchProcessGroup?) throws {
        try TorchError.check { fct_torch_model_set_group(bridgeHandle, group?.handle, $0) }
        processGroup = group.map { (rank: $0.rank, size: $0.size) }
    }
}
