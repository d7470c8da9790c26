// SurvivalInput: the checks every survival metric makes on its inputs, with errors that say which row is wrong.

/// Validation shared by the survival and classification metrics.
enum SurvivalInput {
    /// Checks equal lengths, at least two subjects, finite times and scores that are not NaN.
    static func validate(time: [Double], event: [Bool], scores: [Double], scoreName: String) throws {
        guard time.count == event.count, time.count == scores.count else {
            throw FedCTError(.invalidData, "survival metric inputs differ in length: \(time.count) times, \(event.count) event flags, \(scores.count) \(scoreName) values")
        }
        try validate(time: time, event: event)
        try validateScores(scores, name: scoreName)
    }

    /// Checks equal lengths, at least two subjects and finite times.
    static func validate(time: [Double], event: [Bool]) throws {
        guard time.count == event.count else {
            throw FedCTError(.invalidData, "survival metric inputs differ in length: \(time.count) times, \(event.count) event flags")
        }
        guard time.count >= 2 else {
            throw FedCTError(.invalidData, "a survival metric needs at least two subjects, got \(time.count)")
        }
        if let bad = time.firstIndex(where: { !$0.isFinite }) {
            throw FedCTError(.invalidData, "time of subject \(bad) is \(time[bad]); times must be finite numbers")
        }
    }

    /// Checks that no score is NaN (infinite scores are ordered and allowed).
    static func validateScores(_ scores: [Double], name: String) throws {
        if let bad = scores.firstIndex(where: \.isNaN) {
            throw FedCTError(.invalidData, "\(name) of subject \(bad) is NaN; every subject needs a \(name) to be ranked")
        }
    }
}
