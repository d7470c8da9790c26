// SecAggServerRound: the coordinator's side of a secure-aggregation round as a pure value — relay, track dropouts, rebuild masks.
public import Crypto
public import FedCTProto

/// The coordinator's view of one secure-aggregation round. It relays keys and sealed shares, keeps
/// the sets U0 ⊇ U1 ⊇ U2 ⊇ U3 (participants, key holders, share senders, survivors), closes each
/// step when everyone answered or its timeout passed, and finally rebuilds the secrets that remove
/// the masks from the sum. It never sees a site's unmasked input.
public struct SecAggServerRound: Sendable {
    public enum Phase: Sendable, Equatable {
        case advertising, sharing, masking, unmasking, completed
        case aborted(String)
    }

    /// What the coordinator must do after an event.
    public enum Action: Sendable, Equatable {
        /// These sites left the round before masking; they get no more of it.
        case exclude([String])
        /// Every needed share is in: rebuild the secrets and finish the sum.
        case unmaskingComplete
        /// The round cannot finish; discard everything of it. Nothing is revealed.
        case abort(String)
    }

    /// The secrets that turn the masked sum into the plain sum.
    public struct Recovery: Sendable {
        /// Self-mask keys of the survivors (subtract each).
        public var selfMaskKeys: [SymmetricKey]
        /// Pairwise masks between a dropped site and a survivor, with the sign that removes them.
        public var pairwiseCorrections: [(key: SymmetricKey, sign: MaskExpansion.Sign)]
    }

    public let context: SecAggContext
    public let settings: SecAggParameters
    public let participants: [String]
    public private(set) var phase: Phase = .advertising
    public private(set) var keyHolders: [String] = []
    /// Who shares with whom, fixed when the key step closes.
    public private(set) var graph: SecAggGraph?
    public var threshold: Int { graph?.threshold ?? 0 }
    public private(set) var shareSenders: [String] = []
    public private(set) var maskedInputs: Set<String> = []
    public private(set) var survivors: [String] = []
    private var advertisements: [String: Fedct_V1_SignedAdvertisement] = [:]
    private var sharesBySender: [String: [Fedct_V1_EncryptedShare]] = [:]
    private var revealed: [String: [Fedct_V1_RevealedShare]] = [:]
    private var stepStartedAt: Double

    public init(context: SecAggContext, participants: [String], settings: SecAggParameters, now: Double) {
        self.context = context
        self.participants = participants.sorted()
        self.settings = settings
        self.stepStartedAt = now
    }

    /// The x-coordinate of a key holder's shares (its 1-based rank in U1).
    func point(of site: String) -> UInt64? { keyHolders.firstIndex(of: site).map { UInt64($0 + 1) } }

    // MARK: Events

    /// A participant advertised its keys; `certificatePEM` is its verified TLS certificate.
    public mutating func receiveAdvertisement(
        _ advertisement: Fedct_V1_KeyAdvertisement, from site: String, certificatePEM: String,
        now: Double, verify: SecAggSiteSession.Verifier
    ) throws -> [Action] {
        guard phase == .advertising else { throw refusal(site, "advertised keys after the key step closed") }
        guard participants.contains(site) else { throw refusal(site, "is not a participant of this round") }
        guard advertisement.site == site else { throw refusal(site, "advertised keys in the name of '\(advertisement.site)'") }
        guard advertisements[site] == nil else { throw refusal(site, "advertised keys twice") }
        try SecAggSiteSession.checkBinding(advertisement, to: context)
        guard advertisement.sharePublicKey.count == 32, advertisement.maskPublicKey.count == 32, advertisement.selfMaskCommitment.count == 32 else {
            throw refusal(site, "advertised keys of the wrong length")
        }
        try verify(certificatePEM, site, advertisement.signedBytes, Array(advertisement.signature))
        var signed = Fedct_V1_SignedAdvertisement()
        signed.advertisement = advertisement
        signed.certificatePem = certificatePEM
        advertisements[site] = signed
        guard advertisements.count == participants.count else { return [] }
        return closeAdvertising(now: now)
    }

    /// A key holder sent its sealed shares, one for every other key holder.
    public mutating func receiveShares(_ shares: [Fedct_V1_EncryptedShare], from site: String, now: Double) throws -> [Action] {
        guard phase == .sharing else { throw refusal(site, "sent shares outside the key-sharing step") }
        guard keyHolders.contains(site) else { throw refusal(site, "sent shares but did not advertise keys in time") }
        guard sharesBySender[site] == nil else { throw refusal(site, "sent shares twice") }
        let recipients = shares.map(\.toSite)
        let neighbours = graph?.neighbours(of: site) ?? []
        guard shares.allSatisfy({ $0.fromSite == site }), Set(recipients) == neighbours, recipients.count == neighbours.count
        else { throw refusal(site, "sent shares that are not exactly one for each of its \(neighbours.count) neighbours") }
        sharesBySender[site] = shares
        guard sharesBySender.count == keyHolders.count else { return [] }
        return closeSharing(now: now)
    }

    /// Checks that `site` may upload its masked input now.
    public func checkMaskedInput(from site: String) throws {
        guard phase == .masking else { throw refusal(site, "uploaded a masked input outside the masking step") }
        guard shareSenders.contains(site) else { throw refusal(site, "uploaded a masked input but did not share keys") }
        guard !maskedInputs.contains(site) else { throw refusal(site, "uploaded a masked input twice") }
    }

    /// `site`'s masked input was added to the sum.
    public mutating func maskedInputAccepted(from site: String) throws {
        try checkMaskedInput(from: site)
        maskedInputs.insert(site)
    }

    /// The round stops taking masked inputs: U3 is the sites whose inputs were summed.
    public mutating func closeMasking(now: Double) -> [Action] {
        guard phase == .masking, let graph else { return [] }
        survivors = maskedInputs.sorted()
        let survivorSet = Set(survivors)
        guard survivors.count >= max(settings.minCohort, graph.isComplete ? threshold : 1) else {
            return abort("only \(survivors.count) masked inputs arrived; \(max(settings.minCohort, threshold)) are needed to unmask")
        }
        if let owner = shareSenders.first(where: { !recoverable($0, from: survivorSet) }) {
            return abort("fewer than \(threshold) of \(owner)'s neighbours survived, so its masks cannot be removed")
        }
        guard graph.isConnected(survivorSet) else {
            return abort("the survivors do not form a connected graph; unmasking would reveal partial sums")
        }
        phase = .unmasking
        stepStartedAt = now
        return []
    }

    /// A survivor revealed its shares.
    public mutating func receiveUnmask(_ shares: [Fedct_V1_RevealedShare], from site: String, now: Double) throws -> [Action] {
        guard phase == .unmasking else { throw refusal(site, "sent unmasking shares outside the unmasking step") }
        guard survivors.contains(site) else { throw refusal(site, "sent unmasking shares but is not a survivor") }
        guard revealed[site] == nil else { throw refusal(site, "sent unmasking shares twice") }
        let expectedX = point(of: site)!
        let neighbourhood = (graph?.neighbours(of: site) ?? []).union([site])
        var owners = Set<String>()
        for share in shares {
            let isSurvivor = survivors.contains(share.owner)
            guard shareSenders.contains(share.owner), neighbourhood.contains(share.owner), owners.insert(share.owner).inserted,
                  share.kind == (isSurvivor ? .selfMaskSeed : .maskKey),
                  share.x == expectedX, share.limbs.count == ShamirSecretSharing.limbCount
            else { throw refusal(site, "revealed a share for \(share.owner) that does not fit the round (kind, point or size)") }
        }
        revealed[site] = shares
        guard revealed.count == survivors.count else { return [] }
        phase = .completed
        return [.unmaskingComplete]
    }

    /// Time passed: closes a step whose timeout is over with the sites that answered, or aborts.
    public mutating func tick(now: Double) -> [Action] {
        guard now - stepStartedAt >= settings.stepTimeout else { return [] }
        switch phase {
        case .advertising: return closeAdvertising(now: now)
        case .sharing: return closeSharing(now: now)
        case .unmasking:
            let responders = Set(revealed.keys)
            if let owner = shareSenders.first(where: { !recoverable($0, from: responders) }) {
                return abort("only \(revealed.count) of \(survivors.count) survivors answered the unmasking step; \(owner)'s secret needs \(threshold) shares")
            }
            phase = .completed
            return [.unmaskingComplete]
        default: return []
        }
    }

    /// What `site` should do next.
    public func step(for site: String) -> Fedct_V1_SecAggStepResponse {
        var response = Fedct_V1_SecAggStepResponse()
        response.threshold = Int32(threshold)
        switch phase {
        case .aborted(let reason):
            response.step = .aborted
            response.reason = reason
        case .completed:
            response.step = .done
        case .advertising:
            response.step = .wait
            response.retryAfterMs = 100
        case .sharing where keyHolders.contains(site) && sharesBySender[site] == nil:
            response.step = .shareKeys
            response.advertisements = keyHolders.map { advertisements[$0]! }
        case .masking where shareSenders.contains(site) && !maskedInputs.contains(site):
            response.step = .maskedInput
            response.shareSenders = shareSenders
            response.inboundShares = shareSenders.compactMap { sender in sharesBySender[sender]?.first { $0.toSite == site } }
        case .unmasking where survivors.contains(site) && revealed[site] == nil:
            response.step = .unmask
            response.survivors = survivors
        case .sharing, .masking, .unmasking:
            let stillIn = phase == .masking ? shareSenders.contains(site) : phase == .unmasking ? survivors.contains(site) : keyHolders.contains(site)
            response.step = stillIn ? .wait : .aborted
            response.retryAfterMs = 200
            if !stillIn { response.reason = "\(site) is no longer part of \(context)" }
        }
        return response
    }

    // MARK: Rebuilding the masks

    /// Rebuilds every survivor's self-mask seed and every dropped site's mask key from ≥ t shares,
    /// checking each against what its owner advertised.
    public func recovery() throws -> Recovery {
        guard phase == .completed else { throw FedCTError(.failedPrecondition, "secure aggregation (\(context)): unmasking is not complete") }
        var byOwner: [String: [ShamirShare]] = [:]
        for shares in revealed.values {
            for share in shares {
                byOwner[share.owner, default: []].append(ShamirShare(x: share.x, limbs: share.limbs.map(FieldElement.init)))
            }
        }
        var recovery = Recovery(selfMaskKeys: [], pairwiseCorrections: [])
        for owner in survivors {
            let seed = try ShamirSecretSharing.combine(byOwner[owner] ?? [], threshold: threshold, byteCount: 32)
            guard context.selfMaskCommitment(seed: seed) == Array(advertisements[owner]!.advertisement.selfMaskCommitment) else {
                throw FedCTError(.integrity, "secure aggregation (\(context)): \(owner)'s rebuilt self-mask seed does not match its commitment; a survivor revealed a wrong share")
            }
            recovery.selfMaskKeys.append(context.selfMaskKey(seed: seed))
        }
        for dropped in shareSenders where !survivors.contains(dropped) {
            let secret = try ShamirSecretSharing.combine(byOwner[dropped] ?? [], threshold: threshold, byteCount: 32)
            let key = try Curve25519.KeyAgreement.PrivateKey(rawRepresentation: secret)
            guard key.publicKey.rawRepresentation == advertisements[dropped]!.advertisement.maskPublicKey else {
                throw FedCTError(.integrity, "secure aggregation (\(context)): \(dropped)'s rebuilt mask key does not match its advertised key; a survivor revealed a wrong share")
            }
            for survivor in survivors where graph!.neighbours(of: dropped).contains(survivor) {
                let peer = try Curve25519.KeyAgreement.PublicKey(rawRepresentation: advertisements[survivor]!.advertisement.maskPublicKey)
                let pairKey = try context.pairwiseMaskKey(key, peer, between: dropped, survivor)
                // The survivor added this mask if its name sorts first, subtracted it otherwise; undo that.
                recovery.pairwiseCorrections.append((pairKey, survivor < dropped ? .subtract : .add))
            }
        }
        return recovery
    }

    // MARK: Closing steps

    private mutating func closeAdvertising(now: Double) -> [Action] {
        keyHolders = advertisements.keys.sorted()
        do {
            let seed = SecAggGraph.seed(advertisements: keyHolders.map { advertisements[$0]!.advertisement.signedBytes + Array(advertisements[$0]!.advertisement.signature) })
            graph = try SecAggGraph(members: keyHolders, parameters: settings, seed: seed)
        } catch {
            return abort("\(error)")
        }
        guard keyHolders.count >= settings.minCohort, threshold <= graph!.degree + 1 else {
            return abort("only \(keyHolders.count) of \(participants.count) sites advertised keys; at least \(max(settings.minCohort, threshold)) are needed")
        }
        phase = .sharing
        stepStartedAt = now
        let missing = participants.filter { advertisements[$0] == nil }
        return missing.isEmpty ? [] : [.exclude(missing)]
    }

    private mutating func closeSharing(now: Double) -> [Action] {
        shareSenders = keyHolders.filter { sharesBySender[$0] != nil }
        let senderSet = Set(shareSenders)
        guard shareSenders.count >= settings.minCohort, shareSenders.allSatisfy({ recoverable($0, from: senderSet) }) else {
            return abort("only \(shareSenders.count) of \(keyHolders.count) key holders shared keys; each needs \(threshold) of its neighbourhood")
        }
        phase = .masking
        stepStartedAt = now
        let missing = keyHolders.filter { sharesBySender[$0] == nil }
        return missing.isEmpty ? [] : [.exclude(missing)]
    }

    /// Whether `owner`'s secrets can be rebuilt from the shares held by `holders` (t of its neighbourhood).
    private func recoverable(_ owner: String, from holders: Set<String>) -> Bool {
        guard let graph else { return false }
        return graph.neighbours(of: owner).union([owner]).intersection(holders).count >= threshold
    }

    private mutating func abort(_ reason: String) -> [Action] {
        let message = "secure aggregation (\(context)) aborted: \(reason)"
        phase = .aborted(message)
        return [.abort(message)]
    }

    private func refusal(_ site: String, _ problem: String) -> FedCTError {
        FedCTError(.protocolViolation, "secure aggregation (\(context)): \(site) \(problem)")
    }
}
