// ProcessHarness+FaultProxy: starts a site agent that reaches the coordinator through a FaultProxy.
import Foundation

extension ProcessHarness.Federation {
    /// Writes `<name>.yaml` (coordinator address = the proxy; state in `state-<name>`, update archive on) and starts the
    /// agent, which exits once a job it trained in has ended.
    @discardableResult
    func startSite(_ name: String, through proxy: FaultProxy) throws -> Process {
        let config = try harness.write("""
            coordinator: {address: "\(proxy.address)"}
            tls: {ca: pki/\(name)/ca.pem, cert: pki/\(name)/cert.pem, key: pki/\(name)/key.pem}
            data: {dir: data/\(name)}
            threads: 1
            state_dir: state-\(name)
            egress: {archive_updates: true}
            """, to: "\(name).yaml")
        return try harness.start("fedct-site", ["--config", config, "--exit-after-job"], label: name)
    }
}
