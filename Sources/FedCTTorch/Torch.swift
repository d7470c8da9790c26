// Torch: process-wide libtorch settings (threads, seed, version).
internal import CTorchBridge

/// Process-wide libtorch settings.
public enum Torch {
    /// Sets libtorch's intra-op thread count (values below 1 become 1). The first call also sets
    /// the inter-op thread count, which libtorch accepts only once per process.
    public static func setThreadCount(_ n: Int) {
        // The only failure is a count below 1, which the clamp rules out.
        try? checked { fct_torch_set_num_threads(Int32(clamping: max(1, n)), $0) }
    }

    /// Seeds libtorch's global CPU generator. Model initialisation does not depend on this
    /// (`TTEModel.init` takes its own seed); it is for any other random libtorch operation.
    public static func seed(_ s: UInt64) {
        // manual_seed cannot fail for a CPU generator.
        try? checked { fct_torch_manual_seed(s, $0) }
    }

    /// The libtorch version the bridge was compiled against, e.g. "1.13.0".
    public static var version: String { String(cString: fct_torch_version()) }
}
