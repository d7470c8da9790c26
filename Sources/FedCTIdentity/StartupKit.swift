// StartupKit: the ready-to-use files beside each participant's credentials — a configuration and a short README.

/// Where a start-up kit's configuration expects to run.
public enum KitLayout: Sendable {
    /// Paths relative to the kit folder: run the daemon from the folder, or install it with systemd.
    case host
    /// The container images' and Kubernetes manifests' paths (`Deployments/containers`, `Deployments/kubernetes`): the kit
    /// mounted read-only at /etc/fedct, state in /var/lib/fedct, a site's data read-only at /data, and metrics with
    /// `/healthz` on 0.0.0.0:9464 for the probes.
    case kubernetes
}

/// What a participant finds in its folder besides `cert.pem`, `key.pem` and `ca.pem`.
enum StartupKit {
    /// File name and content of each kit file for `name` in `role`.
    static func files(name: String, role: ParticipantRole, plan: ConsortiumPlan, layout: KitLayout = .host) -> [(String, String)] {
        let address = "\(plan.coordinatorHosts[0]):\(plan.coordinatorPort)"
        if layout == .kubernetes, role != .admin {
            return containerFiles(name: name, role: role, plan: plan, address: address)
        }
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

    /// The coordinator's or a site's kit for the container images, with the paths of `KitLayout.kubernetes`.
    private static func containerFiles(name: String, role: ParticipantRole, plan: ConsortiumPlan, address: String) -> [(String, String)] {
        let metrics = """
            metrics:
              listen: 0.0.0.0:9464   # /metrics and /healthz for the probes; keep the port off the Internet

            """
        if role == .coordinator {
            return [
                ("coordinator.yaml", """
                    # FedCT coordinator of \(plan.name), for its container image: this kit is mounted at /etc/fedct.
                    listen: 0.0.0.0:\(plan.coordinatorPort)
                    state_dir: /var/lib/fedct
                    tls: {ca: ca.pem, cert: cert.pem, key: key.pem}

                    """ + metrics),
                ("README.md", """
                    # Start-up kit: coordinator of \(plan.name) (containers and Kubernetes)

                    `kubernetes/kit-secret.yaml` holds this folder as the Secret `fedct-kit`: put it in your overlay of
                    Deployments/kubernetes/overlays/coordinator (or `kubectl apply -f` it) and never commit it. With a
                    container engine, mount this folder read-only at /etc/fedct and a volume at /var/lib/fedct. Sites connect
                    to \(address): the Service must pass TCP port \(plan.coordinatorPort) through without terminating TLS, and
                    every name sites use must be among the certificate's hosts. See Docs/deployment-guide.md.

                    """),
            ]
        }
        return [
            ("site.yaml", """
                # FedCT site agent "\(name)" of \(plan.name), for its container image: this kit is mounted at /etc/fedct.
                coordinator:
                  address: \(address)
                tls: {ca: ca.pem, cert: cert.pem, key: key.pem}
                data:
                  dir: /data   # the read-only volume with cohort.csv and events.csv
                threads: 4
                device: cpu
                state_dir: /var/lib/fedct

                """ + metrics),
            ("README.md", """
                # Start-up kit: site "\(name)" of \(plan.name) (containers and Kubernetes)

                `kubernetes/kit-secret.yaml` holds this folder as the Secret `fedct-kit`: put it in your overlay of
                Deployments/kubernetes/overlays (or `kubectl apply -f` it) and never commit it. With a container engine,
                mount this folder read-only at /etc/fedct, a volume at /var/lib/fedct and the data read-only at /data.
                Allow outbound TCP to \(address) only; nothing inbound is needed. See Docs/deployment-guide.md.

                """),
        ]
    }
}
