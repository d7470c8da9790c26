// WireProtocolVersion: the protocol versions sites and the coordinator exchange at Join, and what each side refuses.

/// The FedCT wire protocol's version. It changes when a message's meaning changes so that an older peer would be misread
/// (not for fields an older peer can ignore). 1: before versions were exchanged. 2: versions at Join; the training loss
/// inside the secure sum and no step counts in masked updates; signed candidate lists in the setup stage.
public enum WireProtocolVersion {
    /// The version this build speaks.
    public static let current: UInt32 = 2
    /// The oldest site protocol this coordinator serves.
    public static let oldestSiteServed: UInt32 = 2
    /// The oldest coordinator protocol this site agent works with.
    public static let oldestCoordinatorUsable: UInt32 = 2

    /// The version a Join message states (an absent field is protocol 1).
    public static func stated(_ field: UInt32) -> UInt32 { field == 0 ? 1 : field }

    /// Why the coordinator refuses a site that speaks `site` (agent `agentVersion`), or nil when it serves it.
    public static func coordinatorRefusal(site: UInt32, agentVersion: String, coordinatorVersion: String) -> String? {
        let site = stated(site)
        if site < oldestSiteServed {
            return """
                the site agent (version \(agentVersion.isEmpty ? "unknown" : agentVersion)) speaks FedCT protocol \(site); this coordinator \
                (version \(coordinatorVersion)) serves sites on protocol \(oldestSiteServed)–\(current): upgrade the site agent
                """
        }
        if site > current {
            return """
                the site agent (version \(agentVersion)) speaks FedCT protocol \(site), newer than this coordinator's \(current) \
                (version \(coordinatorVersion)): upgrade the coordinator, or run an agent release on protocol \(oldestSiteServed)–\(current)
                """
        }
        return nil
    }

    /// Why a site agent cannot work with a coordinator that answered Join with `coordinator` and `oldestSiteServed`, or nil.
    public static func siteRefusal(coordinator: UInt32, oldestSiteServed served: UInt32, coordinatorVersion: String, agentVersion: String) -> String? {
        let coordinator = stated(coordinator)
        if coordinator < oldestCoordinatorUsable {
            return """
                the coordinator (version \(coordinatorVersion.isEmpty ? "unknown" : coordinatorVersion)) speaks FedCT protocol \(coordinator); \
                this site agent (version \(agentVersion)) needs protocol \(oldestCoordinatorUsable) or newer: ask the consortium's operator to \
                upgrade the coordinator, or run an agent release on protocol \(coordinator)
                """
        }
        if served > current {
            return """
                the coordinator (version \(coordinatorVersion)) serves sites on protocol \(served) or newer; this site agent (version \
                \(agentVersion)) speaks \(current): upgrade the site agent
                """
        }
        return nil
    }
}
