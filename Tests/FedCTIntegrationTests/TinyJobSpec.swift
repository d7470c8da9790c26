// TinyJobSpec: the small job multi-process tests run — width-2 encoder, 16³ voxels, a round in well under a second.
import FedCTProto

extension Fedct_V1_JobSpec {
    /// A job small enough for multi-process tests; secure aggregation on unless `secure` is false.
    static func tiny(name: String, rounds: Int32, minSites: Int32, secure: Bool = true) -> Fedct_V1_JobSpec {
        var spec = Fedct_V1_JobSpec.defaults
        spec.name = name
        spec.rounds = rounds
        spec.minSites = minSites
        spec.roundDeadlineSeconds = 120
        spec.encoder.width = 2
        spec.tte.rank = 4
        spec.training.volumeSize = 16
        spec.training.batchSize = 4
        spec.secureAggregation.enabled = secure
        spec.secureAggregation.clipNorm = 10
        spec.secureAggregation.maxExamplesPerSite = 64
        return spec
    }
}
