// SecAggServerRound: the coordinator's side of a secure-aggregation round as a pure value — relay, track dropouts, rebuild masks.
public import Crypto
public import FedCTProto

/// The coordinator's view of one secure-aggregation round. It relays keys and sealed shares, keeps
/// the sets U0 ⊇ U1 ⊇ U2 ⊇ U3 (participants, key holders, share senders, survivors), closes each
/// step when everyone answered or its timeout passed, and finally rebuilds the secrets that remove
/// the masks from the sum. It never sees a site's unmasked input.
public struct SecAggServerRound: Sendable {
    public struct Settings: Sendable, Equatable {
        /// Requested threshold; 0 means max(minCohort, ⌊n/2⌋ + 1).
        public var threshold: Int
        public var minCohort: Int
        /// Seconds the advertise, share and unmask steps wait for slow sites.
        public var stepTimeout: Double

        public init(threshold: Int, minCohort: Int, stepTimeout: Double) {
            self.threshold = threshold
            self.minCohort = minCohort
            self.stepTimeout = stepTimeout
        }
    }

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
    public let settings: Settings
    public let participants: [String]
    public private(set) var phase: Phase = .advertising
    public private(set) var keyHolders: [String] = []
    public private(set) var threshold = 0
    public private(set) var shareSenders: [String] = []
    public private(set) var maskedInputs: Set<String> = []
    public private(set) var survivors: [String] = []
    private var advertisements: [String: Fedct_V1_SignedAdvertisement] = [:]
    private var sharesBySender: [String: [Fedct_V1_EncryptedShare]] = [:]
    private var revealed: [String: [Fedct_V1_RevealedShare]] = [:]
    private var stepStartedAt: Double

    public init(context: SecAggContext, participants: [String], settings: Settings, now: Double) {
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
        guard shares.allSatisfy({ $0.fromSite == site }), Set(recipients) == Set(keyHolders).subtracting([site]),
              recipients.count == keyHolders.count - 1
        else { throw refusal(site, "sent shares that are not exactly one for each other key holder") }
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
        guard phase == .masking else { return [] }
        survivors = maskedInputs.sorted()
        guard survivors.count >= threshold else {
            return abort("only \(survivors.count) masked inputs arrived; \(threshold) are needed to unmask")
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
        var owners = Set<String>()
        for share in shares {
            let isSurvivor = survivors.contains(share.owner)
            guard shareSenders.contains(share.owner), owners.insert(share.owner).inserted,
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
            guard revealed.count >= threshold else {
                return abort("only \(revealed.count) of \(survivors.count) survivors answered the unmasking step; \(threshold) are needed")
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
            for survivor in survivors {
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
        let floor = max(settings.minCohort, keyHolders.count / 2 + 1)
        threshold = max(settings.threshold, floor)
        guard keyHolders.count >= settings.minCohort, threshold <= keyHolders.count else {
            return abort("only \(keyHolders.count) of \(participants.count) sites advertised keys; at least \(max(settings.minCohort, threshold)) are needed")
        }
        phase = .sharing
        stepStartedAt = now
        let missing = participants.filter { advertisements[$0] == nil }
        return missing.isEmpty ? [] : [.exclude(missing)]
    }

    private mutating func closeSharing(now: Double) -> [Action] {
        shareSenders = keyHolders.filter { sharesBySender[$0] != nil }
        guard shareSenders.count >= threshold else {
            return abort("only \(shareSenders.count) of \(keyHolders.count) key holders shared keys; the threshold is \(threshold)")
        }
        phase = .masking
        stepStartedAt = now
        let missing = keyHolders.filter { sharesBySender[$0] == nil }
        return missing.isEmpty ? [] : [.exclude(missing)]
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
