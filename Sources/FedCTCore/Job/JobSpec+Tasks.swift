// JobSpec+Tasks: the job's `tte:` section — fixed task codes and pieces, or the setup stage that derives them — and its checks.
public import FedCTProto

extension Fedct_V1_TTESpec {
    /// True while a job that derives its tasks has not been through its setup stage (no tasks, no pieces yet).
    public var awaitsDerivation: Bool { deriveTasks && taskCodes.isEmpty }
}

extension Fedct_V1_JobSpec {
    /// Reads the `tte:` section (`applyingDefaults()` then fills the keys the file leaves out). With `derive_tasks: true` the task codes, piece edges and
    /// base hazards are outputs of the setup stage, so the file must not set them.
    public mutating func parseTTE(_ section: YAMLDocument) throws {
        try section.rejectUnknownKeys(["task_codes", "piece_edges_days", "rank", "task_log2_base_hazard", "derive_tasks", "max_tasks", "pieces",
                                       "min_patients_per_code"])
        // An empty list would read as absent and take the default tasks or pieces.
        if let value = try section.strings("task_codes") {
            guard !value.isEmpty else { throw section.error("task_codes", "must list at least one code (or set derive_tasks: true)") }
            tte.taskCodes = value
        }
        if let value = try section.doubles("piece_edges_days") {
            guard !value.isEmpty else { throw section.error("piece_edges_days", "must list at least one edge (or leave it out for the default pieces)") }
            tte.pieceEdgesDays = value
        }
        if let value = try section.int("rank") { tte.rank = Int32(clamping: value) }
        if let value = try section.doubles("task_log2_base_hazard") { tte.taskLog2BaseHazard = value.map(Float.init) }
        if let value = try section.int("max_tasks") { tte.maxTasks = Int32(clamping: value) }
        if let value = try section.int("pieces") { tte.pieces = Int32(clamping: value) }
        if let value = try section.int("min_patients_per_code") { tte.minPatientsPerCode = Int32(clamping: value) }
        guard try section.bool("derive_tasks") == true else { return }
        for derived in ["task_codes", "piece_edges_days", "task_log2_base_hazard"] where section.keys.contains(derived) {
            throw section.error(derived, "is derived by the setup stage when tte.derive_tasks is true; remove it (or set derive_tasks: false)")
        }
        tte.deriveTasks = true
        tte.taskCodes = []
        tte.pieceEdgesDays = []
        tte.taskLog2BaseHazard = []
    }

    /// Checks the `tte:` section; a derived job may have no tasks yet (before its setup stage).
    func validateTasks(_ fail: (String, String) -> FedCTError) throws {
        guard tte.rank >= 1 else { throw fail("tte.rank", "must be at least 1 (got \(tte.rank))") }
        if tte.deriveTasks {
            guard (1...65_536).contains(tte.maxTasks) else { throw fail("tte.max_tasks", "must be between 1 and 65536 (got \(tte.maxTasks))") }
            guard (1...64).contains(tte.pieces) else { throw fail("tte.pieces", "must be between 1 and 64 (got \(tte.pieces))") }
            guard tte.minPatientsPerCode >= 1 else { throw fail("tte.min_patients_per_code", "must be at least 1 (got \(tte.minPatientsPerCode))") }
            if tte.awaitsDerivation { return }
        }
        guard !tte.taskCodes.isEmpty else { throw fail("tte.task_codes", "must list at least one code (or set tte.derive_tasks: true)") }
        guard Set(tte.taskCodes).count == tte.taskCodes.count else { throw fail("tte.task_codes", "has duplicates") }
        guard !tte.pieceEdgesDays.isEmpty, tte.pieceEdgesDays.first! > 0,
            zip(tte.pieceEdgesDays, tte.pieceEdgesDays.dropFirst()).allSatisfy({ $0 < $1 })
        else { throw fail("tte.piece_edges_days", "must be positive and strictly increasing") }
        guard tte.taskLog2BaseHazard.isEmpty || tte.taskLog2BaseHazard.count == tte.taskCodes.count else {
            throw fail("tte.task_log2_base_hazard", "has \(tte.taskLog2BaseHazard.count) values for \(tte.taskCodes.count) task codes")
        }
    }
}
