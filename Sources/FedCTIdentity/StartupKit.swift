// StartupKit: the ready-to-use files beside each participant's credentials — a configuration and a short README.

/// What a participant finds in its folder besides `cert.pem`, `key.pem` and `ca.pem`.
enum StartupKit {
    /// File name and content of each kit file for `name` in `role`.
    static func files(name: String, role: ParticipantRole, plan: ConsortiumPlan) -> [(String, String)] {
        let address = "\(plan.coordinatorHosts[0]):\(plan.coordinatorPort)"
        switch role {
        case .coordinator:
            return [
                ("coordinator.yaml", """
                    # FedCT coordinator of \(plan.name). Paths are relative to this file.
                    listen: 0.0.0.0:\(plan.coordinatorPort)
                    state_dir: state
                    tls: {ca: ca.pem, cert: cert.pem, key: key.pem}

                    """),
                ("README.md", """
                    # Start-up kit: coordinator of \(plan.name)

                    Run `fedct-coordinator --config coordinator.yaml` from this folder (or point `state_dir` at
                    durable storage). Sites connect to \(address); open TCP port \(plan.coordinatorPort) inbound. Keep
                    `key.pem` readable by the service account only. See Docs/coordinator-guide.md.

                    """),
            ]
        case .site:
            return [
                ("site.yaml", """
                    # FedCT site agent "\(name)" of \(plan.name). Paths are relative to this file.
                    coordinator:
                      address: \(address)
                    tls: {ca: ca.pem, cert: cert.pem, key: key.pem}
                    data:
                      dir: /path/to/fedct-data   # the folder with cohort.csv and events.csv: set this
                    threads: 4
                    state_dir: state

                    """),
                ("README.md", """
                    # Start-up kit: site "\(name)" of \(plan.name)

                    1. Set `data.dir` in `site.yaml` to the folder holding `cohort.csv` and `events.csv`
                       (Docs/data.md) and `threads` to the cores the agent may use.
                    2. Allow outbound TCP to \(address); nothing inbound is needed.
                    3. Run `fedct-site --config site.yaml` (or install Deployments/systemd/fedct-site.service).
                       `--connect-attempts 3` gives a quick connection test.

                    Keep `key.pem` readable by the service account only. See Docs/hospital-it-guide.md.

                    """),
            ]
        case .admin:
            return [
                ("README.md", """
                    # Start-up kit: admin "\(name)" of \(plan.name)

                    Use this folder as fedctl's credentials:

                        fedctl job submit --coordinator \(address) --credentials . job.yaml
                        fedctl job list --coordinator \(address) --credentials .

                    Keep `key.pem` readable by you only. See Docs/coordinator-guide.md.

                    """),
            ]
        }
    }
}
