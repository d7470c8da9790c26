// KeepAlive: blocking local work on the training executor, with Heartbeat calls on a fixed period so the coordinator never takes a training site for a dead one.

/// Runs `work` on `executor` (off the cooperative pool: libtorch blocks its thread for as long as a round's training
/// takes) and calls `beat` every `interval` meanwhile — the first after one interval, so short work sends none — and has
/// stopped beating when it returns. The coordinator counts a site as live while its last call is at most 60 s old; local
/// training makes no calls, so without beats an epoch longer than that would show the site as dropped and leave it out
/// of the next round's and the evaluation's participants. A failed beat is `beat`'s to report: it never ends the work.
func keepingAlive<T>(every interval: Duration, beat: @escaping @Sendable () async -> Void, on executor: TrainingExecutor,
                     _ work: () throws -> T) async throws -> T {
    let beats = Task {
        while true {
            do { try await Task.sleep(for: interval) } catch { return }
            await beat()
        }
    }
    let result: Result<T, any Error>
    do {
        result = .success(try await withTaskExecutorPreference(executor) { try work() })
    } catch {
        result = .failure(error)
    }
    beats.cancel()
    await beats.value
    return try result.get()
}
