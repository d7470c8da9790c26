// RoundDelta: a round's update computed in the trained state's own buffer — trained − global with the local layers zeroed, checked for finiteness in the same pass.
import FedCTCore

/// The site's update, built without a second model-sized buffer.
enum RoundDelta {
    /// Turns `state` (the trained model's values) into the round's delta in place: `state − global` everywhere but
    /// `localRanges` (the layers that stay at this site), which are set to 0. Returns whether every value sent — every
    /// value outside `localRanges` — is finite.
    static func subtract(_ global: [Float], from state: inout [Float], zeroing localRanges: [Range<Int>]) throws -> Bool {
        guard state.count == global.count else {
            throw FedCTError(.invalidData, "the trained model has \(state.count) values and the global model \(global.count); nothing was sent")
        }
        var allFinite = true
        let count = state.count
        state.withUnsafeMutableBufferPointer { delta in
            global.withUnsafeBufferPointer { global in
                var next = 0
                for range in localRanges.sorted(by: { $0.lowerBound < $1.lowerBound }) + [count..<count] {
                    let lower = max(next, min(range.lowerBound, count))
                    for index in next..<lower {
                        let value = delta[index] - global[index]
                        delta[index] = value
                        if !value.isFinite { allFinite = false }
                    }
                    let upper = max(lower, min(range.upperBound, count))
                    for index in lower..<upper { delta[index] = 0 }
                    next = upper
                }
            }
        }
        return allFinite
    }
}
