// SetupStage: an objective's setup stage as the coordinator and the sites run it — steps, requests, answers, derivation.
import Crypto
public import FedCTProto

/// One step of an objective's setup stage, run before round 1 like a round: the coordinator publishes a request (a list
/// of names, and the event-time grid when the objective needs one), every participant answers with names or with an
/// integer vector, and the coordinator combines the answers (names: their union; vectors: their sum, securely
/// aggregated when the job masks its updates).
public struct SetupStep: Hashable, Sendable, CustomStringConvertible {
    /// How sites answer the step.
    public enum Answer: Sendable, Hashable {
        /// Names (e.g. candidate codes), collected per site and combined by the objective.
        case names
        /// Non-negative integers, at most `SetupEncoding.maxValue` each, summed over the sites.
        case counts
    }

    /// The step's position in its stage (0 first); its wire number is −index.
    public let index: Int
    /// Its name on the wire (`SetupTask.stage`), unique within the stage.
    public let name: String
    public let answer: Answer

    public init(index: Int, name: String, answer: Answer) {
        self.index = index
        self.name = name
        self.answer = answer
    }

    /// The round number the step's wire messages carry: 0, −1, −2, … (training rounds start at 1).
    public var wireRound: Int { -index }

    public var description: String { "setup step '\(name)'" }

    /// SHA-256 (hex) of the step's name and a published list, length-prefixed: what a counts step's secure sum is bound to,
    /// so a share or masked word of one step never opens in another step or a training round.
    public func listSHA256(_ names: [String]) -> String {
        SHA256.hex(SecAggContext.encode(["fedct/setup/v1", name] + names))
    }
}

/// What the coordinator publishes for one setup step.
public struct SetupRequest: Sendable, Equatable {
    /// The names the step counts over (none for a step that collects names).
    public var names: [String]
    /// The event-time grid a step histograms event times on, if it does.
    public var grid: EventTimeGrid?

    public init(names: [String] = [], grid: EventTimeGrid? = nil) {
        self.names = names
        self.grid = grid
    }
}

/// A site's answer to one setup step.
public enum SetupAnswer: Sendable, Equatable {
    case names([String])
    case counts([UInt64])
}

/// The exact secure-sum encoding every setup vector uses: values up to 2^40 (a site with over a million scans followed
/// for 100 years), checked at the site before anything is sent.
public enum SetupEncoding {
    public static let maxValue: UInt64 = 1 << 40

    /// The integer encoding of setup vectors from `sites` key holders.
    public static func encoding(sites: Int) throws -> IntegerEncoding {
        try IntegerEncoding(maxValue: maxValue, sites: sites)
    }

    /// Refuses a vector with a value above `maxValue`; `name` says what value i is.
    public static func checkBound(_ values: [UInt64], name: (Int) -> String) throws {
        if let index = values.firstIndex(where: { $0 > maxValue }) {
            throw FedCTError(.invalidData, "\(name(index)) is \(values[index]), above the bound \(maxValue) every site agreed to")
        }
    }
}

/// The coordinator's half of an objective's setup stage: a pure value that publishes each step's request, takes the
/// combined answers, and finally writes what it derived into the job spec. The coordinator drives it without knowing
/// which objective it belongs to.
public protocol SetupDerivation: Sendable {
    /// The stage's steps, in order.
    var steps: [SetupStep] { get }
    /// What the coordinator publishes for `step` (it may depend on earlier steps' results).
    func request(for step: SetupStep) -> SetupRequest
    /// Values in each site's vector for a counts step.
    func valueCount(for step: SetupStep) -> Int
    /// Checks one site's names for a names step before they are kept; errors name the site.
    func checkNames(_ names: [String], from site: String) throws
    /// Takes the combined answers of a closed step: the names of each site that answered (names steps) or the sum of
    /// their vectors (counts steps). Throws, with the reason, when the data cannot carry the derivation on.
    mutating func combine(_ step: SetupStep, names: [[String]], sum: [UInt64]?) throws
    /// After the last step: fills the derived fields of `spec` and the objective's part of `record`.
    func derive(into spec: inout Fedct_V1_JobSpec, record: inout Fedct_V1_SetupRecord) throws
}
