// fedctl provision: creates the consortium CA and a credentials folder for the coordinator, each site and each admin.
import ArgumentParser
import FedCTIdentity
import Foundation

struct Provision: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Create a consortium CA and participant certificates.")

    @Option(name: .long, help: "Output folder (ca/ plus one folder per participant).")
    var out: String

    @Option(name: .long, help: "Consortium name (certificate organization).")
    var consortium = "fedct-consortium"

    @Option(name: .long, help: "Host name or IP address the coordinator is reached at (repeatable).")
    var coordinatorHost: [String] = ["localhost", "127.0.0.1"]

    @Option(name: .long, help: "Site name (repeatable).")
    var site: [String] = []

    @Option(name: .long, help: "Admin name (repeatable).")
    var admin: [String] = ["admin"]

    func run() throws {
        let plan = ConsortiumPlan(name: consortium, coordinatorHosts: coordinatorHost, sites: site, admins: admin)
        try Provisioner.provision(plan, into: URL(fileURLWithPath: out))
        print("provisioned \(site.count) sites and \(admin.count) admins in \(out) (keep \(out)/ca/ca-key.pem offline)")
    }
}
