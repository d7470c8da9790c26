// BenchSteps: the timing loop the bench commands share — untimed warm-up steps, then the median of the timed ones.
import Foundation

enum BenchSteps {
    /// The median wall seconds of `steps` calls of `step` after `warmup` untimed ones.
    static func median(warmup: Int, steps: Int, _ step: () throws -> Void) rethrows -> Double {
        var seconds: [Double] = []
        for index in 0..<(warmup + steps) {
            let start = DispatchTime.now().uptimeNanoseconds
            try step()
            if index >= warmup { seconds.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9) }
        }
        let sorted = seconds.sorted()
        return (sorted[(sorted.count - 1) / 2] + sorted[sorted.count / 2]) / 2
    }
}
