// JobSpec+PrivacyLevel: the job's privacy level as the plan's enum, for the layers that read a stored or received spec.
public import FedCTProto

extension Fedct_V1_JobSpec {
    /// The job's privacy level, typed (a validated spec names one of the three; anything else reads as none).
    public var privacyLevel: PrivacyPlan.Level { PrivacyPlan.Level(rawValue: privacy.level) ?? .none }
}
