// TorchModel+MEDFORMAlignment: MEDFORM's stage-2 model parts in Swift — attention-MIL over slice features, the clinical MLP, InfoNCE.
internal import CTorchBridge

/// MEDFORM stage 2 (Jung et al. 2025; TANGLE's CT branch and expression MLP, Jaume et al. 2024): stage 1's slice ResNet
/// (`slice_encoder.`, torchvision's names) embeds a bag of a scan's axial slices; a pre-attention MLP and gated attention
/// MIL (Ilse et al. 2018; `mil.`) pool them into the scan's CT embedding; an MLP (`clinical_encoder.`) embeds the scan's
/// clinical vector; a symmetric InfoNCE loss at temperature τ aligns the two over the batch's scans. Both embeddings
/// have the slice encoder's width F (TANGLE has no projection heads). A scan's embedding pools all its slices.
public struct MEDFORMAlignmentConfig: Sendable, Hashable, Codable {
    /// The slice encoder, as stage 1's (its depth and width must match the stage-1 model it starts from).
    public var sliceEncoder: MEDFORMConfig.SliceEncoder = .resnet18
    public var sliceEncoderWidth: Int = 64
    /// Width n of each scan's clinical vector (its standardised values and their missing indicators).
    public var clinicalFeatures: Int = 18
    /// Units of the gated attention's tanh and sigmoid branches.
    public var attentionHidden: Int = 128
    /// InfoNCE temperature τ (the paper's 0.01).
    public var temperature: Double = 0.01
    /// K: slices of each scan drawn with replacement into a training bag.
    public var bagSlices: Int = 16
    /// The slice encoder runs in evaluation mode without gradients and is not trained (the default), or is fine-tuned.
    public var freezeSliceEncoder: Bool = true
    /// With a frozen slice encoder, each scan's slice features are computed once (all its slices, evaluation mode) and
    /// kept in the model for later steps, epochs, rounds and embeddings while the encoder's values stay the same (up to
    /// 1 GiB of features); bags then pick from the kept features. Ignored when the encoder is fine-tuned.
    public var sliceFeatureCache: Bool = true
    /// Whether a training step's micro-batches form one contrastive batch through cached features (as HLIP's): the
    /// contrastive batch is then the step's batch (batch size × gradient accumulation), else each micro-batch.
    public var cachesFeatures: Bool = true

    public init() {}

    /// The width F of both embeddings: the slice encoder's pooled features.
    public var features: Int { MEDFORMConfig.features(sliceEncoder, width: sliceEncoderWidth) }

    /// The bridge's "medform" objective at stage 2. Its batches carry `volumes` [1, D, H, W] and `clinical` [n] per example.
    public var objective: ObjectiveConfig {
        let settings: [String: Double] = [
            "stage": 2, "slice_encoder_depth": Double(sliceEncoder.depth), "slice_encoder_width": Double(sliceEncoderWidth),
            "clinical_features": Double(clinicalFeatures), "attention_hidden": Double(attentionHidden), "temperature": temperature,
            "bag_slices": Double(bagSlices), "freeze_slice_encoder": freezeSliceEncoder ? 1 : 0, "slice_feature_cache": sliceFeatureCache ? 1 : 0,
        ]
        return ObjectiveConfig(name: "medform", settings: settings.mapValues { [$0] }, targetShapes: ["clinical": [clinicalFeatures]],
                               cachesFeatures: cachesFeatures)
    }
}

/// MEDFORM stage 2's symmetric InfoNCE loss, computed by the bridge's training code.
public enum InfoNCELoss {
    /// The mean of the rows' and the columns' cross-entropy of the diagonal of ct · clinicalᵀ / τ, rows L2-normalised;
    /// `ct` and `clinical` are [pairs, dimension], row i of each one scan's.
    public static func compute(ct: [Float], clinical: [Float], pairs: Int, dimension: Int, temperature: Double) throws -> Double {
        guard pairs > 0, dimension > 0, ct.count == pairs * dimension, clinical.count == ct.count else {
            throw TorchError("InfoNCE needs \(pairs) pairs × \(dimension) values, got \(ct.count) and \(clinical.count)")
        }
        var loss = 0.0
        try TorchError.check { fct_torch_medform_info_nce(ct, clinical, Int64(pairs), Int64(dimension), temperature, &loss, $0) }
        return loss
    }
}

/// MEDFORM stage 2's attention-MIL pooling as the bridge computes it (evaluation mode), with parameters drawn from a seed.
public enum MEDFORMAttentionPool {
    /// The attention weights [bags, slices] and pooled embeddings [bags, dimension] of `features` [bags, slices, dimension].
    public static func pool(_ features: [Float], bags: Int, slices: Int, dimension: Int, hidden: Int, seed: UInt64) throws -> (weights: [Float], pooled: [Float]) {
        guard bags > 0, slices > 0, dimension > 0, features.count == bags * slices * dimension else {
            throw TorchError("attention pooling needs \(bags) bags × \(slices) slices × \(dimension) values, got \(features.count)")
        }
        var weights = [Float](repeating: 0, count: bags * slices)
        var pooled = [Float](repeating: 0, count: bags * dimension)
        try weights.withUnsafeMutableBufferPointer { w in
            try pooled.withUnsafeMutableBufferPointer { p in
                try TorchError.check {
                    fct_torch_medform_attention_pool(features, Int64(bags), Int64(slices), Int64(dimension), Int64(hidden), seed, w.baseAddress, p.baseAddress, $0)
                }
            }
        }
        return (weights, pooled)
    }
}
