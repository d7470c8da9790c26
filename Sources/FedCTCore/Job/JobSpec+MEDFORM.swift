// JobSpec+MEDFORM: the job's `medform:` section (objective: medform) — the stage, the slice encoder, stage 1's head, loss and views, stage 2's start and clinical columns.
public import FedCTProto

extension Fedct_V1_JobSpec {
    /// Reads the `medform:` section; fields left out keep no presence and take MEDFORMSpec's documented defaults (the
    /// objective checks the values, FedCTTraining's MEDFORMObjective).
    public mutating func parseMEDFORM(_ section: YAMLDocument) throws {
        try section.rejectUnknownKeys(["stage", "slice_encoder", "slice_encoder_width", "projection_dim", "temperature", "slices_per_scan",
                                       "crop_min_scale", "jitter", "blur_probability", "noise_std", "stage1_model_sha256", "stage1_job",
                                       "clinical_columns", "attention_hidden", "bag_slices", "freeze_slice_encoder"])
        let integers: [(String, WritableKeyPath<Fedct_V1_MEDFORMSpec, Int32>)] = [
            ("stage", \.stage), ("slice_encoder_width", \.sliceEncoderWidth), ("projection_dim", \.projectionDim), ("slices_per_scan", \.slicesPerScan),
            ("attention_hidden", \.attentionHidden), ("bag_slices", \.bagSlices),
        ]
        for (key, field) in integers {
            if let value = try section.int(key) { medform[keyPath: field] = Int32(clamping: value) }
        }
        let numbers: [(String, WritableKeyPath<Fedct_V1_MEDFORMSpec, Double>)] = [
            ("temperature", \.temperature), ("crop_min_scale", \.cropMinScale), ("jitter", \.jitter), ("blur_probability", \.blurProbability),
            ("noise_std", \.noiseStd),
        ]
        for (key, field) in numbers {
            if let value = try section.double(key) { medform[keyPath: field] = value }
        }
        if let value = try section.string("slice_encoder") { medform.sliceEncoder = value }
        if let value = try section.string("stage1_model_sha256") { medform.stage1ModelSha256 = value }
        if let value = try section.string("stage1_job") { medform.stage1Job = value }
        if let value = try section.bool("freeze_slice_encoder") { medform.freezeSliceEncoder = value }
        if let value = try section.strings("clinical_columns") { medform.clinicalColumns = value }
    }
}
