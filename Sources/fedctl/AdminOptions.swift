// AdminOptions: how fedctl reaches the coordinator — its address and the admin's credentials folder.
import ArgumentParser
import FedCTAdmin
import FedCTRPC

struct AdminOptions: ParsableArguments {
    @Option(name: .long, help: "Coordinator address host:port.")
    var coordinator = "localhost:7443"

    @Option(name: .long, help: "Admin credentials folder (ca.pem, cert.pem, key.pem) from `fedctl provision`.")
    var credentials: String

    func client() throws -> AdminClient {
        let tls = try TLSConfig.load(caFile: "\(credentials)/ca.pem", certificateFile: "\(credentials)/cert.pem", keyFile: "\(credentials)/key.pem")
        return try AdminClient(address: coordinator, tls: tls)
    }
}
