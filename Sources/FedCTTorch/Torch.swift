// Torch: process-wide libtorch settings (threads, seed, version).
internal import CTorchBridge

/// Process-wide libtorch settings.
public enum Torch {
    /// Sets libtorch's intra-op thread count (values below 1 become 1). The first call also sets
    /// the inter-op thread count, which libtorch accepts only once per process.
    public static func setThreadCount(_ n: Int) { fct_torch_set_num_threads(Int32(clamping: max(1, n))) }

    /// Seeds libtorch's global CPU generator.
    public static func seed(_ s: UInt64) { fct_torch_manual_seed(s) }

    /// The libtorch version the bridge was compiled against, e.g. "1.13.0".
    public static var version: String { String(cString: fct_torch_version()) }
}
