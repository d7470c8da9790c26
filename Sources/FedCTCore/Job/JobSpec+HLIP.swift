// JobSpec+HLIP: the job's `hlip:` section (objective: hlip) — the towers' sizes, the attention pattern, the loss and the report text.
public import FedCTProto

extension Fedct_V1_JobSpec {
    /// Reads the `hlip:` section; fields left out stay 0 / empty and take HLIPSpec's documented defaults (the objective
    /// checks the values, FedCTTraining's HLIPObjective).
    public mutating func parseHLIP(_ section: YAMLDocument) throws {
        try section.rejectUnknownKeys(["dim", "depth", "heads", "patch", "pattern", "max_scans", "drop_path", "text_width", "text_depth", "text_heads",
                                       "context_length", "embed_dim", "loss", "scans_per_study", "contrastive_batch",
                                       "text_tower", "text_intermediate", "text_positions", "vocab_size", "vocab_sha256", "text_locked",
                                       "text_unlocked_layers", "report_sections"])
        let integers: [(String, WritableKeyPath<Fedct_V1_HLIPSpec, Int32>)] = [
            ("dim", \.dim), ("depth", \.depth), ("heads", \.heads), ("max_scans", \.maxScans), ("text_width", \.textWidth), ("text_depth", \.textDepth),
            ("text_heads", \.textHeads), ("context_length", \.contextLength), ("embed_dim", \.embedDim), ("scans_per_study", \.scansPerStudy),
            ("contrastive_batch", \.contrastiveBatch), ("text_intermediate", \.textIntermediate), ("text_positions", \.textPositions),
            ("vocab_size", \.vocabSize), ("text_unlocked_layers", \.textUnlockedLayers),
        ]
        for (key, field) in integers {
            if let value = try section.int(key) { hlip[keyPath: field] = Int32(clamping: value) }
        }
        if let value = try section.doubles("patch") {
            guard value.allSatisfy({ $0 == $0.rounded() && (1...512).contains($0) }) else {
                throw section.error("patch", "must be whole numbers of voxels between 1 and 512 (depth, height, width)")
            }
            hlip.patch = value.map { Int32($0) }
        }
        if let value = try section.strings("pattern") { hlip.pattern = value }
        if let value = try section.strings("report_sections") { hlip.reportSections = value }
        if let value = try section.double("drop_path") { hlip.dropPath = value }
        if let value = try section.string("loss") { hlip.loss = value }
        if let value = try section.string("text_tower") { hlip.textTower = value }
        if let value = try section.string("vocab_sha256") { hlip.vocabSha256 = value }
        if let value = try section.bool("text_locked") { hlip.textLocked = value }
    }
}
