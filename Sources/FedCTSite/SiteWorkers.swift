// SiteWorkers: site.yaml `workers` — how many processes train the site's rounds data-parallel, on which machines, and where they meet.
public import FedCTCore
import Foundation

/// site.yaml `workers`: the processes that train one site's rounds together (data-parallel, libtorch's c10d over Gloo).
/// Rank 0 is the agent itself; ranks 1 to `local` − 1 are worker processes the agent starts on its own machine; the
/// ranks after them are workers on other machines, in the order of `remote`, each started there by
/// `fedct-site worker --rank N`. The coordinator sees one site whatever the count.
public struct SiteWorkers: Sendable, Equatable {
    /// Processes on this machine, the agent's own included (`workers.local`, or `workers: N`).
    public var local: Int
    /// Hosts of the workers on other machines (`workers.remote`): rank `local` + i runs on `remote[i]`, which is also the
    /// address its Gloo connections use.
    public var remote: [String]
    /// `workers.rendezvous` (host:port), required with remote workers: the address of this machine that they reach, where
    /// the agent serves the round's rendezvous store. Without remote workers the ranks meet through a file in `state_dir`.
    public var rendezvous: Endpoint?
    /// `workers.timeout_seconds`: how long the agent waits for every worker to join a round, and for any one gradient sum.
    public var timeoutSeconds: Double

    /// A TCP endpoint.
    public struct Endpoint: Sendable, Equatable {
        public var host: String
        public var port: Int
    }

    /// Where one rank runs.
    public enum Placement: Sendable, Equatable {
        /// Rank 0: the site agent.
        case agent
        /// A process the agent starts and stops on its own machine.
        case localProcess
        /// A worker on another machine, started there.
        case remote(host: String)
    }

    /// One process: the agent alone.
    public static let single = SiteWorkers(local: 1, remote: [], rendezvous: nil, timeoutSeconds: 300)

    public init(local: Int, remote: [String], rendezvous: Endpoint?, timeoutSeconds: Double) {
        self.local = local
        self.remote = remote
        self.rendezvous = rendezvous
        self.timeoutSeconds = timeoutSeconds
    }

    /// Reads `workers` from site.yaml: absent (one process), a count (`workers: 2`, processes on this machine) or a
    /// section (`local`, `remote`, `rendezvous`, `timeout_seconds`). Errors name the field and what to write.
    public init(_ yaml: YAMLDocument) throws {
        guard yaml.keys.contains("workers") else { self = .single; return }
        if let count = try? yaml.int("workers") {
            self = .single
            local = try Self.checkedLocal(count, yaml, "workers")
            return
        }
        guard let section = try? yaml.section("workers") else {
            throw yaml.error("workers", "must be a number of processes on this machine (e.g. workers: 2) or a section with local, remote, rendezvous and timeout_seconds")
        }
        try section.rejectUnknownKeys(["local", "remote", "rendezvous", "timeout_seconds"])
        local = try Self.checkedLocal(section.int("local") ?? 1, section, "local")
        remote = try section.strings("remote") ?? []
        if let blank = remote.firstIndex(where: { $0.isEmpty || $0.contains(where: \.isWhitespace) }) {
            throw section.error("remote", "entry \(blank + 1) must be a host name or address of a machine running a worker (got '\(remote[blank])')")
        }
        timeoutSeconds = try section.double("timeout_seconds") ?? 300
        guard timeoutSeconds >= 1, timeoutSeconds <= 86_400 else {
            throw section.error("timeout_seconds", "must be between 1 and 86400 seconds (got \(timeoutSeconds))")
        }
        let address = try section.string("rendezvous")
        switch (address, remote.isEmpty) {
        case (nil, true):
            rendezvous = nil
        case (nil, false):
            throw section.error("rendezvous", "is required with remote workers: host:port of this machine's address on the network the workers share (e.g. 10.1.0.11:29500)")
        case (.some(let text), true):
            throw section.error("rendezvous", "is only used with remote workers (got '\(text)'); workers on this machine meet through a file in state_dir, so leave it out")
        case (.some(let text), false):
            guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port),
                  colon != text.startIndex else {
                throw section.error("rendezvous", "must be host:port with a port from 1 to 65535 (got '\(text)')")
            }
            let host = String(text[..<colon]).trimmingCharacters(in: ["[", "]"])
            guard !["127.0.0.1", "localhost", "::1", "0.0.0.0", "::"].contains(host) else {
                throw section.error("rendezvous", "must be an address of this machine that the remote workers reach (got '\(text)'), not a loopback or wildcard address")
            }
            rendezvous = Endpoint(host: host, port: port)
        }
    }

    private static func checkedLocal(_ count: Int, _ yaml: YAMLDocument, _ key: String) throws -> Int {
        guard (1...64).contains(count) else {
            throw yaml.error(key, "must be from 1 to 64 processes on this machine, the agent included (got \(count)); threads: sets each one's libtorch threads")
        }
        return count
    }

    /// All ranks: the agent, its local processes and the remote workers.
    public var size: Int { local + remote.count }

    /// Whether rounds train data-parallel (more than one rank).
    public var isDataParallel: Bool { size > 1 }

    /// Where rank `rank` runs; nil outside 0 ..< size.
    public func placement(ofRank rank: Int) -> Placement? {
        switch rank {
        case 0: .agent
        case 1..<local: .localProcess
        case local..<size: .remote(host: remote[rank - local])
        default: nil
        }
    }

    /// The address whose interface rank `rank`'s Gloo connections use: its remote host; on the agent's machine the
    /// rendezvous host when there are remote workers, else loopback.
    public func interfaceHost(ofRank rank: Int) -> String {
        if case .remote(let host) = placement(ofRank: rank) { return host }
        return rendezvous?.host ?? "127.0.0.1"
    }

    /// How a person refers to rank `rank` in a message.
    public func name(ofRank rank: Int) -> String {
        switch placement(ofRank: rank) {
        case .agent: "worker 0 (the agent)"
        case .localProcess: "worker \(rank) (a process of the agent on this machine)"
        case .remote(let host): "worker \(rank) (on \(host))"
        case nil: "worker \(rank) (not in site.yaml's workers: ranks 0 to \(size - 1))"
        }
    }
}
