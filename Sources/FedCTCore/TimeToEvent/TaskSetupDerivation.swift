// TaskSetupDerivation: the coordinator's half of the time-to-event setup stage — candidates, then tasks, then pieces and base rates.
public import FedCTProto

/// Derives a job's tasks from the sites' setup answers (`Docs/science.md`, "Deriving the tasks"): the union of the
/// candidate codes, the `tte.max_tasks` most informative of them by pooled prevalence, then the time pieces and log2
/// base hazards from the pooled rates. A pure value; the coordinator drives it as a `SetupDerivation`.
public struct TaskSetupDerivation: SetupDerivation {
    /// Most candidate codes one site may propose, and the longest code name.
    public static let maxCandidatesPerSite = 1_000_000
    public static let maxCodeLength = 256

    public let maxTasks: Int
    public let pieces: Int
    public let minPatientsPerCode: Int
    public let grid = EventTimeGrid.standard
    /// The union of the proposals, published for the prevalence step.
    public private(set) var candidates: [String] = []
    /// The chosen tasks and their pooled prevalence, published for the rates step.
    public private(set) var tasks: [String] = []
    public private(set) var taskPrevalence: [Double] = []
    public private(set) var patients: UInt64 = 0
    /// The pooled rates vector (after the last step).
    private var rates: [UInt64]?

    public init(tte: Fedct_V1_TTESpec) {
        maxTasks = Int(tte.maxTasks)
        pieces = Int(tte.pieces)
        minPatientsPerCode = Int(tte.minPatientsPerCode)
    }

    public var steps: [SetupStep] { TaskSetupStage.steps }

    public func request(for step: SetupStep) -> SetupRequest {
        switch TaskSetupStage(step) {
        case .candidates, nil: SetupRequest(names: [], grid: grid)
        case .prevalence: SetupRequest(names: candidates, grid: grid)
        case .rates: SetupRequest(names: tasks, grid: grid)
        }
    }

    public func valueCount(for step: SetupStep) -> Int {
        switch TaskSetupStage(step) {
        case .candidates, nil: 0
        case .prevalence: candidates.count + 1
        case .rates: TaskStatistics.RatesLayout(tasks: tasks.count, grid: grid).count
        }
    }

    public func checkNames(_ codes: [String], from site: String) throws {
        guard codes.count <= Self.maxCandidatesPerSite else {
            throw FedCTError(.invalidData, "\(site) proposed \(codes.count) candidate codes; at most \(Self.maxCandidatesPerSite) are taken")
        }
        if let bad = codes.first(where: { $0.isEmpty || $0.utf8.count > Self.maxCodeLength }) {
            throw FedCTError(.invalidData, "\(site) proposed a candidate code of \(bad.utf8.count) bytes; codes are 1 to \(Self.maxCodeLength) bytes")
        }
    }

    public mutating func combine(_ step: SetupStep, names: [[String]], sum: [UInt64]?) throws {
        switch TaskSetupStage(step) {
        case .candidates:
            candidates = TaskDerivation.union(names)
            guard !candidates.isEmpty else {
                throw FedCTError(.invalidData, "no site has a code held by at least tte.min_patients_per_code (\(minPatientsPerCode)) of its patients after an index time; lower it or check the sites' events")
            }
        case .prevalence:
            let prevalence = try Self.sum(sum, step)
            let ranked = try TaskDerivation.rank(candidates: candidates, prevalenceSum: prevalence, maxTasks: maxTasks)
            tasks = ranked.map(\.code)
            taskPrevalence = ranked.map(\.prevalence)
            patients = prevalence[0]
        case .rates:
            rates = try Self.sum(sum, step)
        case nil:
            throw FedCTError(.protocolViolation, "\(step) is not a step of the time-to-event setup stage")
        }
    }

    public func derive(into spec: inout Fedct_V1_JobSpec, record: inout Fedct_V1_SetupRecord) throws {
        guard let rates else { throw FedCTError(.failedPrecondition, "the setup stage has not combined its rates step") }
        let layout = TaskStatistics.RatesLayout(tasks: tasks.count, grid: grid)
        spec.tte.taskCodes = tasks
        spec.tte.pieceEdgesDays = try TaskDerivation.pieceEdges(histogram: Array(rates[layout.histogram...]), grid: grid, pieces: pieces)
        spec.tte.taskLog2BaseHazard = try TaskDerivation.log2BaseHazardPerYear(ratesSum: rates, layout: layout, tasks: tasks)
        record.candidates = Int32(candidates.count)
        record.patients = Int64(patients)
        record.taskPrevalence = taskPrevalence
    }

    private static func sum(_ sum: [UInt64]?, _ step: SetupStep) throws -> [UInt64] {
        guard let sum else { throw FedCTError(.failedPrecondition, "\(step) closed with no statistics") }
        return sum
    }
}
