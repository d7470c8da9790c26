// fedctl provision: creates the consortium CA and a start-up kit for the coordinator, each site and each admin (revoke and renew beside it).
import ArgumentParser
import FedCTCore
import FedCTIdentity
import FedCTStorage
import Foundation

struct Provision: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Provision a consortium (the default: `fedctl provision consortium.yaml --out DIR`), revoke or renew certificates.",
        subcommands: [ProvisionCreate.self, ProvisionRevoke.self, ProvisionRenew.self],
        defaultSubcommand: ProvisionCreate.self)
}

struct ProvisionCreate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Create a consortium CA and a start-up kit (certificate, key, CA, config, README) per participant.")

    @Argument(help: "consortium.yaml (name, coordinator: {hosts, port}, sites, admins); or use the options below.")
    var consortiumFile: String?

    @Option(name: .long, help: "Output folder (ca/ plus one folder per participant).")
    var out: String

    @Option(name: .long, help: "Consortium name (certificate organization).")
    var consortium = "fedct-consortium"

    @Option(name: .long, help: "Host name or IP address the coordinator is reached at (repeatable).")
    var coordinatorHost: [String] = ["localhost", "127.0.0.1"]

    @Option(name: .long, help: "Port the coordinator listens on.")
    var coordinatorPort = 7443

    @Option(name: .long, help: "Site name (repeatable).")
    var site: [String] = []

    @Option(name: .long, help: "Admin name (repeatable).")
    var admin: [String] = ["admin"]

    @Flag(name: .long, help: "Kits for the container images and Kubernetes: container paths in the configurations, and each coordinator and site folder's kit also as kubernetes/kit-secret.yaml (the Secret fedct-kit).")
    var kubernetes = false

    @Flag(name: .long, help: "Print JSON (consortium, output folder, sites, admins, coordinator hosts and port).")
    var json = false

    func run() throws {
        let plan = try consortiumFile.map(Self.plan(from:))
            ?? ConsortiumPlan(name: consortium, coordinatorHosts: coordinatorHost, sites: site, admins: admin, coordinatorPort: coordinatorPort)
        try Provisioner.provision(plan, into: URL(fileURLWithPath: out), layout: kubernetes ? .kubernetes : .host)
        if json {
            return try JSONOutput.print(["consortium": plan.name, "out": out, "sites": plan.sites, "admins": plan.admins,
                                         "coordinator_hosts": plan.coordinatorHosts, "coordinator_port": plan.coordinatorPort])
        }
        print("provisioned \(plan.sites.count) sites and \(plan.admins.count) admins of \(plan.name) in \(out); hand each participant its folder and keep \(out)/ca/ca-key.pem offline")
        if kubernetes {
            print("Kubernetes: each coordinator and site folder has kubernetes/kit-secret.yaml (the Secret fedct-kit); copy it into the participant's overlay of Deployments/kubernetes/overlays")
        }
    }

    /// Reads consortium.yaml.
    static func plan(from path: String) throws -> ConsortiumPlan {
        let yaml = try YAMLDocument(contentsOf: path)
        try yaml.rejectUnknownKeys(["name", "coordinator", "sites", "admins"])
        guard let coordinator = try yaml.section("coordinator") else { throw yaml.error("coordinator", "is required (hosts, port)") }
        try coordinator.rejectUnknownKeys(["hosts", "port"])
        guard let hosts = try coordinator.strings("hosts"), !hosts.isEmpty else { throw coordinator.error("hosts", "must list at least one host name") }
        return ConsortiumPlan(name: try yaml.string("name") ?? "fedct-consortium", coordinatorHosts: hosts,
                              sites: try yaml.strings("sites") ?? [], admins: try yaml.strings("admins") ?? [],
                              coordinatorPort: try coordinator.int("port") ?? 7443)
    }
}
