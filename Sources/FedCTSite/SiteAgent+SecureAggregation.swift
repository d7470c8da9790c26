// SiteAgent+SecureAggregation: the site's secure rounds — advertise and share keys, mask the update, reveal shares to unmask the sum.
import FedCTCore
import FedCTIdentity
import FedCTProto
import FedCTStorage
import Foundation
import Logging

/// What a site needs to take part in secure aggregation: its name, its certificate key and the consortium CA.
struct SecureAggregationCredentials: Sendable {
    let site: String
    /// tls.key, named in errors.
    let keyFile: String
    let verifier: ConsortiumSignatureVerifier

    init(config: SiteConfig) throws {
        do {
            site = try ParticipantIdentity(certificatePEM: try SiteConfig.readFile(config.certificateFile, "tls.cert")).name
            keyFile = config.keyFile
            _ = try CertificateKeySigner(privateKeyPEM: try SiteConfig.readFile(config.keyFile, "tls.key"), source: config.keyFile)  // a bad key stops the agent at start
            verifier = try ConsortiumSignatureVerifier(caCertificatePEM: try SiteConfig.readFile(config.caFile, "tls.ca"), source: config.caFile)
        } catch let error as IdentityError {
            throw FedCTError(.invalidConfiguration, error.message)
        }
    }

    /// Signs with `privateKeyPEM`, the key of the certificate the call carrying the signature presents (it changes
    /// when the certificate is renewed on disk; see `CoordinatorLink.advertiseKeys`).
    func signer(privateKeyPEM: String) throws -> SecAggSiteSession.Signer {
        do {
            let signer = try CertificateKeySigner(privateKeyPEM: privateKeyPEM, source: keyFile)
            return { try signer.sign($0) }
        } catch let error as IdentityError {
            throw FedCTError(.invalidConfiguration, error.message)
        }
    }

    var verify: SecAggSiteSession.Verifier { verify(what: "key advertisement") }

    /// Checks another site's signed message (`what`, in errors) against the consortium CA.
    func verify(what: String) -> SecAggSiteSession.Verifier {
        { [verifier] certificate, site, message, signature in
            do {
                try verifier.verify(certificatePEM: certificate, site: site, message: message, signature: signature, what: what)
            } catch let error as IdentityError {
                throw FedCTError(.protocolViolation, error.message)
            }
        }
    }
}

extension SiteAgent {
    /// Steps 0 and 1: fresh keys advertised, peers' keys verified, shares sealed and sent. Returns the session.
    func openSecureSession(_ task: Fedct_V1_Task) async throws -> SecAggSiteSession {
        // A training round is bound to its global model, a setup step to its published code list (checked by the caller).
        let binding = task.kind == .setup ? task.setup.listSha256 : task.modelSha256
        let context = SecAggContext(jobID: task.jobID, round: Int(task.round), binding: binding, attempt: Int(task.attempt))
        var session = SecAggSiteSession(context: context, site: credentials.site)
        try await link.advertiseKeys { try session.advertisement(sign: credentials.signer(privateKeyPEM: $0)) }
        let step = try await awaitSecureStep(.shareKeys, task)
        var request = Fedct_V1_ShareKeysRequest()
        request.jobID = task.jobID
        request.round = task.round
        request.attempt = task.attempt
        request.shares = try session.shareKeys(advertisements: step.advertisements, threshold: Int(step.threshold),
                                               parameters: task.spec.secureParameters, verify: credentials.verify)
        try await link.shareKeys(request)
        logger.info("secure aggregation keys shared", metadata: ["job": "\(task.jobID)", "round": "\(task.round)", "sites": "\(step.advertisements.count)", "threshold": "\(step.threshold)"])
        return session
    }

    /// Steps 2 and 3: encode, clip (and noise) and mask the update, send it, then reveal the shares the coordinator needs.
    /// Under site-level DP, `upload`'s spend is recorded once the masking step opens, before the encoded update exists.
    func sendMaskedUpdate(_ session: inout SecAggSiteSession, task: Fedct_V1_Task, delta: [Float],
                          upload: SiteRound.MaskedUpload) async throws -> Fedct_V1_UploadReceipt {
        var lossScale = 0.0
        let spec = task.spec
        let (examples, loss, base) = (upload.examples, upload.loss, upload.header)
        return try await sendMasked(&session, task: task) { session in
            let encoding = try spec.secureEncoding(keyHolders: session.keyHolders.count, threshold: session.threshold)
            let norm = encoding.clipFactor(delta).norm
            logger.info("update encoded", metadata: ["job": "\(task.jobID)", "round": "\(task.round)", "l2_norm": "\(String(format: "%.4g", norm))", "clip_norm": "\(encoding.clipNorm)",
                                                     "clipped": "\(norm > encoding.clipNorm)"])
            if let spend = upload.siteLevelSpend {
                try recordPrivacySpend([spend])
            }
            let weight = spec.secureWeight(examples: examples)
            try link.ledger.archive(localDelta: delta, weight: weight, jobID: task.jobID, round: Int(task.round))
            lossScale = encoding.carriesLoss ? encoding.lossScale : 0
            return (try encoding.encode(delta, weight: weight, loss: encoding.carriesLoss ? loss : nil), encoding.scale)
        } send: { words, scale in
            let payload = UpdatePayload(words: words)
            var header = base
            header.coordinateCount = Int64(words.count)
            header.exampleCount = 0
            header.masked.modulusBits = 32
            header.masked.scale = scale
            header.masked.attempt = task.attempt
            header.masked.lossScale = lossScale
            header.payloadSha256 = payload.sha256
            return try await link.upload(header: header, payload: payload)
        }
    }

    /// Steps 2 and 3 for any vector: waits for the masking step, `encode`s the words to sum (with the scale they
    /// carry), masks them, `send`s them, then reveals the shares the coordinator needs to unmask the sum.
    func sendMasked<Receipt>(_ session: inout SecAggSiteSession, task: Fedct_V1_Task,
                             encode: (SecAggSiteSession) async throws -> (words: [UInt32], scale: Double),
                             send: ([UInt32], Double) async throws -> Receipt) async throws -> Receipt {
        let step = try await awaitSecureStep(.maskedInput, task)
        var (words, scale) = try await encode(session)
        try session.mask(&words, shareSenders: step.shareSenders, inbound: step.inboundShares)
        let receipt = try await send(words, scale)

        let unmaskStep = try await awaitSecureStep(.unmask, task)
        var request = Fedct_V1_UnmaskRequest()
        request.jobID = task.jobID
        request.round = task.round
        request.attempt = task.attempt
        request.shares = try session.unmask(survivors: unmaskStep.survivors)
        try await link.unmask(request)
        return receipt
    }

    /// Polls the coordinator until the session reaches `wanted`; an aborted round throws (the site asks for new work).
    func awaitSecureStep(_ wanted: Fedct_V1_SecAggStepResponse.Step, _ task: Fedct_V1_Task) async throws -> Fedct_V1_SecAggStepResponse {
        var request = Fedct_V1_SecAggStepRequest()
        request.jobID = task.jobID
        request.round = task.round
        request.attempt = task.attempt
        let deadline = ContinuousClock.now + .seconds(Int(max(60, task.spec.roundDeadlineSeconds)))
        while ContinuousClock.now < deadline {
            let step = try await withRetries("secure aggregation step") { try await link.secAggStep(request) }
            switch SiteRound.secureStepPoll(step, wanted: wanted, round: task.round) {
            case .reached:
                return step
            case .ended(let error):
                throw error
            case .poll(let delay):
                try await Task.sleep(for: delay)
            }
        }
        throw FedCTError(.failedPrecondition, "secure aggregation of round \(task.round): no \(wanted) step within the round deadline")
    }
}
