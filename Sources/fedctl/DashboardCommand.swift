// fedctl dashboard login: prints a short-lived signed link that opens the coordinator's dashboard (run on the coordinator's host).
import ArgumentParser
import FedCTAdmin
import FedCTCore
import FedCTStorage

struct DashboardCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dashboard", abstract: "The coordinator's web dashboard.", subcommands: [Login.self])

    struct Login: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a login link for the dashboard, signed with the coordinator's dashboard key (<state_dir>/dashboard-login.key); usable once, within --minutes.")

        @Option(name: .long, help: "Path of the running coordinator's coordinator.yaml (its state_dir holds the key and the dashboard's address).")
        var config: String

        @Option(name: .long, help: "Who the session is for.")
        var admin = "admin"

        @Option(name: .long, help: "Minutes the link stays valid (1–60).")
        var minutes = 10

        func validate() throws {
            guard (1...60).contains(minutes) else { throw ValidationError("--minutes must be from 1 to 60 (got \(minutes))") }
        }

        func run() throws {
            let settings = try CoordinatorConfig(contentsOf: config)
            guard settings.dashboardListen != nil else {
                throw ValidationError("\(config) has no dashboard section; add `dashboard: {listen: 127.0.0.1:8443}` and restart the coordinator")
            }
            print(try LoginLink.dashboard.make(stateDirectory: settings.stateDirectory, subject: admin, lifetime: Double(minutes) * 60))
        }
    }
}
