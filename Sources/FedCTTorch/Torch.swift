// Torch: process-wide libtorch settings (threads, seed, version, the malloc arena a training process keeps).
internal import CTorchBridge

/// Process-wide libtorch settings.
public enum Torch {
    /// Sets libtorch's intra-op thread count (values below 1 become 1). The first call also sets
    /// the inter-op thread count, which libtorch accepts only once per process.
    public static func setThreadCount(_ n: Int) { fct_torch_set_num_threads(Int32(clamping: max(1, n))) }

    /// Seeds libtorch's global CPU generator.
    public static func seed(_ s: UInt64) { fct_torch_manual_seed(s) }

    /// Makes every thread of the process allocate from glibc's main malloc arena, so the training thread reuses
    /// libtorch's multi-MiB tensors across steps rather than faulting fresh pages in from per-thread arena heaps that
    /// glibc unmaps when they empty (Docs/torch-bridge.md, "One malloc arena"). Effective only before the process's
    /// second thread first allocates: call it first thing in `main`. False when glibc refused the setting.
    @discardableResult
    public static func useOneMallocArena() -> Bool { fct_torch_use_one_malloc_arena() == 1 }

    /// How many glibc malloc arenas the process has (nil when glibc cannot say): 1 after `useOneMallocArena()` took effect.
    public static var mallocArenaCount: Int? {
        let count = fct_torch_malloc_arena_count()
        return count < 0 ? nil : Int(count)
    }

    /// The libtorch version the bridge was compiled against, e.g. "1.13.0".
    public static var version: String { String(cString: fct_torch_version()) }
}
