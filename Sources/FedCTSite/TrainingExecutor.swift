// TrainingExecutor: a task executor on a thread of its own, so libtorch's long blocking steps never hold the cooperative pool.
import Dispatch

/// Runs the jobs of tasks that prefer it (`withTaskExecutorPreference`) one at a time on a dedicated serial queue, off
/// Swift's cooperative thread pool: while a round's training or evaluation blocks this queue for minutes, the pool stays
/// free for the heartbeat, the status page and the metrics endpoint.
final class TrainingExecutor: TaskExecutor {
    let queue = DispatchQueue(label: "fedct.site.training", qos: .userInitiated)

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        queue.async { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }

    /// Whether the caller runs on this executor's queue.
    var isCurrent: Bool {
        DispatchQueue.getSpecific(key: Self.marker) == ObjectIdentifier(self)
    }

    private static let marker = DispatchSpecificKey<ObjectIdentifier>()

    init() {
        queue.setSpecific(key: Self.marker, value: ObjectIdentifier(self))
    }
}
