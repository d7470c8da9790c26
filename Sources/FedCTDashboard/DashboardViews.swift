// DashboardViews: the JSON the dashboard's endpoints answer, built from the coordinator's job records and site activity (pure).
import FedCTCoordinator
import FedCTProto
import Foundation

/// `GET /api/sites`: the consortium.
struct SitesView: Codable, Equatable {
    struct Site: Codable, Equatable {
        var site: String
        /// "live" (called within a minute), "training" (working in the open round), "dropped" (silent for longer),
        /// "revoked" (its certificate is on the revocation list), "not seen" (named by a job, no call since the coordinator started).
        var status: String
        var lastSeenUnix: Double?
        var secondsSinceSeen: Double?
        var agentVersion: String?
        var certificateExpiresUnix: Double?
        var certificateDaysLeft: Double?
    }

    var sites: [Site]
    var revocationListSignedUnix: Double?
    var revocationListAgeDays: Double?

    /// A site silent for longer than this is shown as dropped (the coordinator's liveness window).
    static let liveSeconds = 60.0

    init(seen: [SiteSeen], jobs: [Fedct_V1_JobStatus], revoked: (String) -> Bool, revocationListUpdated: Date?, now: Date) {
        var working = Set<String>()
        var named = Set<String>()
        for job in jobs {
            named.formUnion(job.connectedSites)
            for round in job.rounds { named.formUnion(round.sites) }
            for progress in job.siteProgress {
                named.insert(progress.site)
                if ["training", "evaluating"].contains(progress.state) { working.insert(progress.site) }
            }
        }
        var rows = seen.map { seen in
            let status = revoked(seen.certificateSerial) ? "revoked"
                : seen.secondsSinceCall > Self.liveSeconds ? "dropped"
                : working.contains(seen.site) ? "training" : "live"
            return Site(site: seen.site, status: status, lastSeenUnix: seen.lastCall.timeIntervalSince1970, secondsSinceSeen: seen.secondsSinceCall,
                        agentVersion: seen.agentVersion, certificateExpiresUnix: seen.certificateNotAfter.timeIntervalSince1970,
                        certificateDaysLeft: seen.certificateNotAfter.timeIntervalSince(now) / 86400)
        }
        let known = Set(seen.map(\.site))
        rows += named.subtracting(known).sorted().map { Site(site: $0, status: "not seen") }
        sites = rows.sorted { $0.site < $1.site }
        revocationListSignedUnix = revocationListUpdated?.timeIntervalSince1970
        revocationListAgeDays = revocationListUpdated.map { now.timeIntervalSince($0) / 86400 }
    }
}

/// One row of `GET /api/jobs`.
struct JobRow: Codable, Equatable {
    var id: String
    var name: String
    var state: String
    var objective: String
    var encoder: String
    var committedRounds: Int
    var plannedRounds: Int
    var submittedUnix: Double
    var startedUnix: Double?
    /// Running: since it left the queue; ended: from leaving the queue to its last change.
    var elapsedSeconds: Double?
    var phase: String?
    var message: String?

    init(_ status: Fedct_V1_JobStatus) {
        let spec = JobSpecSummary(status.spec)
        id = status.jobID
        name = spec.name
        state = Self.stateName(status.state)
        objective = spec.objective
        encoder = spec.encoder
        committedRounds = status.rounds.count
        plannedRounds = spec.plannedRounds
        submittedUnix = status.submittedUnixSeconds
        startedUnix = status.startedUnixSeconds > 0 ? status.startedUnixSeconds : nil
        if status.state == .running || status.state == .waitingForSites {
            elapsedSeconds = status.elapsedSeconds
        } else if let started = startedUnix {
            elapsedSeconds = max(0, status.updatedUnixSeconds - started)
        }
        phase = status.phase.isEmpty ? nil : status.phase
        message = status.message.isEmpty ? nil : status.message
    }

    static func stateName(_ state: Fedct_V1_JobStatus.State) -> String {
        switch state {
        case .queued: "queued"
        case .waitingForSites: "waiting_for_sites"
        case .running: "running"
        case .succeeded: "succeeded"
        case .failed: "failed"
        case .cancelled: "cancelled"
        default: "unspecified"
        }
    }
}

/// `GET /api/jobs`: queue and history, newest first.
struct JobsView: Codable, Equatable {
    var jobs: [JobRow]
}

/// `GET /api/jobs/{id}`: everything the job page shows.
struct JobView: Codable, Equatable {
    struct Progress: Codable, Equatable {
        var site: String
        var state: String
        var bytesDown: Int64
        var bytesUp: Int64
        var secondsSinceSeen: Double
    }

    struct Round: Codable, Equatable {
        var round: Int
        /// Absent when the job's loss does not leave the sites (secure rounds with differential privacy).
        var meanTrainLoss: Double?
        /// Each site's mean training loss (plain rounds; empty for secure ones).
        var siteTrainLosses: [String: Double]
        var bytesDown: Int64
        var bytesUp: Int64
        var seconds: Double
        var sites: [String]
        var droppedSites: [String]
        var securelyAggregated: Bool
        var exampleCount: Int64
        var modelSHA256: String
    }

    struct Setup: Codable, Equatable {
        var sites: [String]
        var candidates: Int
        var patients: Int64
        var securelyAggregated: Bool
        var seconds: Double
        /// (task code, pooled prevalence).
        var tasks: [[String]]
    }

    struct Evaluation: Codable, Equatable {
        struct Pooled: Codable, Equatable {
            var name: String
            var value: Double
            var scans: Int64
            var sites: Int
        }

        struct Site: Codable, Equatable {
            var site: String
            var cohortSize: Int64
            var metrics: [String: Double]
            var suppressed: [String]
        }

        var round: Int
        var modelSHA256: String
        var pooled: [Pooled]
        var sites: [Site]
    }

    struct Model: Codable, Equatable {
        var label: String
        var sha256: String
        var download: String
    }

    var job: JobRow
    var spec: JobSpecSummary
    var currentRound: Int
    var attempt: Int
    var roundElapsedSeconds: Double
    var roundBytesDown: Int64
    var roundBytesUp: Int64
    var progress: [Progress]
    var setup: Setup?
    var rounds: [Round]
    var evaluations: [Evaluation]
    var models: [Model]

    init(_ status: Fedct_V1_JobStatus) {
        let summary = JobSpecSummary(status.spec)
        job = JobRow(status)
        spec = summary
        currentRound = Int(status.currentRound)
        attempt = Int(status.attempt)
        roundElapsedSeconds = status.roundElapsedSeconds
        roundBytesDown = status.roundBytesDown
        roundBytesUp = status.roundBytesUp
        progress = status.siteProgress.map {
            Progress(site: $0.site, state: $0.state, bytesDown: $0.bytesDown, bytesUp: $0.bytesUp, secondsSinceSeen: $0.secondsSinceSeen)
        }
        if status.hasSetup {
            let setup = status.setup
            self.setup = Setup(sites: setup.sites, candidates: Int(setup.candidates), patients: setup.patients,
                               securelyAggregated: setup.securelyAggregated, seconds: setup.seconds,
                               tasks: zip(summary.taskCodes, setup.taskPrevalence).map { [$0, String(format: "%.4f", $1)] })
        }
        rounds = status.rounds.map {
            Round(round: Int($0.round), meanTrainLoss: $0.hasMeanTrainLoss ? $0.meanTrainLoss : nil, siteTrainLosses: $0.siteTrainLosses,
                  bytesDown: $0.bytesDown, bytesUp: $0.bytesUp, seconds: $0.seconds,
                  sites: $0.sites, droppedSites: $0.droppedSites, securelyAggregated: $0.securelyAggregated,
                  exampleCount: $0.exampleCount, modelSHA256: $0.modelSha256)
        }
        evaluations = status.evaluations.map { record in
            Evaluation(
                round: Int(record.round), modelSHA256: record.modelSha256,
                pooled: record.pooled.map { Evaluation.Pooled(name: $0.name, value: $0.value, scans: $0.scans, sites: Int($0.sites)) },
                sites: record.sites.map { Evaluation.Site(site: $0.site, cohortSize: $0.cohortSize, metrics: $0.metrics, suppressed: $0.suppressed) })
        }
        var models: [Model] = []
        if !status.initialModelSha256.isEmpty {
            models.append(Model(label: "initial", sha256: status.initialModelSha256, download: "/api/models/\(status.initialModelSha256)"))
        }
        models += status.rounds.filter { !$0.modelSha256.isEmpty }.map {
            Model(label: "after round \($0.round)", sha256: $0.modelSha256, download: "/api/models/\($0.modelSha256)")
        }
        self.models = models
    }
}
