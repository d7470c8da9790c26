// fedct-bench-data: decode + preprocess throughput with the preprocessing cache cold and warm, beside a training step (Scripts/bench-data.sh).
import FedCTCore
import FedCTData
import FedCTProto
import FedCTTorch
import FedCTTraining
import Foundation

/// Seconds `body` takes.
func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = ContinuousClock.now
    try body()
    let elapsed = start.duration(to: .now).components
    return Double(elapsed.seconds) + Double(elapsed.attoseconds) * 1e-18
}

let arguments = CommandLine.arguments
guard arguments.count == 3, let patients = Int(arguments[2]) else {
    FileHandle.standardError.write(Data("usage: fedct-bench-data WORK_FOLDER PATIENTS\n".utf8))
    exit(2)
}
let work = URL(fileURLWithPath: arguments[1])
let labeler = TTELabeler(taskCodes: SyntheticConsortium.outcomeCodes, pieceEdgesDays: [90, 365, 1825])

// (a) A synthetic site of 64³ NIfTI volumes, loaded as the site agent loads it.
try SyntheticConsortium(patientsPerSite: [patients], volumeSize: 64, seed: 1).write(to: work.appending(path: "synthetic"))
let site = work.appending(path: "synthetic/site-1").path
let small = Preprocessing(shape: [64, 64, 64])
var examples: [SiteExample] = []
let uncachedSeconds = try seconds { _ = try SiteDataset.load(directory: site, labeler: labeler, preprocessing: small) }
let smallCache = work.appending(path: "cache-64").path
let coldSeconds = try seconds {
    let loaded = try SiteDataset.load(directory: site, labeler: labeler, preprocessing: small, cache: try PreprocessingCache(directory: smallCache))
    examples = loaded.train + loaded.heldout
}
let warmCache = try PreprocessingCache(directory: smallCache)
let warmSeconds = try seconds { _ = try SiteDataset.load(directory: site, labeler: labeler, preprocessing: small, cache: warmCache) }
precondition(warmCache.statistics.sourceReads == 0, "the warm load decoded scans")
let volumes = Double(examples.count)
print(String(format: "(a) %d scans 64³ NIfTI → 64³ RAS: no cache %.1f vol/s, cold cache %.1f vol/s, warm cache %.1f vol/s; warm/cold = %.1fx",
             examples.count, volumes / uncachedSeconds, volumes / coldSeconds, volumes / warmSeconds, coldSeconds / warmSeconds))

// (b) One 512×512×300 int16 .nii.gz at 0.7 × 0.7 × 1.0 mm, resampled to 1.5 mm and cropped to 128³.
let (width, height, depth) = (512, 512, 300)
var voxels = [Float](repeating: -1000, count: width * height * depth)
for k in 0..<depth { for j in 0..<height { for i in 0..<width {
    let (x, y) = (Double(i - 256) / 200, Double(j - 256) / 150)
    if x * x + y * y < 1 { voxels[(k * height + j) * width + i] = Float(40 + 60 * sin(Double(i) / 9) * cos(Double(j + k) / 13)) }
} } }
let large = work.appending(path: "large.nii.gz").path
try Volume(width: width, height: height, depth: depth, spacing: (0.7, 0.7, 1.0), voxels: voxels).writeNIfTI(path: large)
voxels = []
let resampled = Preprocessing(shape: [128, 128, 128], spacing: (1.5, 1.5, 1.5))
var decodeSeconds = 0.0
var scan: ScanImage?
let largeUncached = try seconds { decodeSeconds = try seconds { scan = try ScanImage.read(path: large) }; _ = resampled.apply(scan!) }
scan = nil
let largeCold = try seconds { _ = try PreprocessingCache(directory: work.appending(path: "cache-large").path).input(path: large, pipeline: resampled) }
let largeWarmCache = try PreprocessingCache(directory: work.appending(path: "cache-large").path)
let largeWarm = try (0..<3).map { _ in try seconds { _ = try largeWarmCache.input(path: large, pipeline: resampled) } }.min()!
print(String(format: "(b) 1 scan 512×512×300 int16 .nii.gz (0.7×0.7×1 mm) → 1.5 mm, 128³: no cache %.3f vol/s (decode %.2f s of %.2f s), cold cache %.3f vol/s, warm cache %.1f vol/s; warm/cold = %.0fx",
             1 / largeUncached, decodeSeconds, largeUncached, 1 / largeCold, 1 / largeWarm, largeCold / largeWarm))

// The demo model's training step on the 64³ inputs: resnet3d depth 10, batch 4.
var spec = Fedct_V1_JobSpec.defaults
spec.training.volumeSize = 64
spec.tte.pieceEdgesDays = [90, 365, 1825]
spec.tte.taskCodes = SyntheticConsortium.outcomeCodes
let model = try TorchModel(spec: spec)
let trainer = LocalTrainer(epochs: 1, batchSize: 4, learningRate: 1e-3, weightDecay: 1e-4, volumeSize: 64)
let batches = Array(examples.prefix(12))
_ = try trainer.train(model, on: Array(examples.prefix(4)), seed: 1)  // warm-up step
var steps = 0
let trainSeconds = try seconds { steps = try trainer.train(model, on: batches, seed: 2).steps }
let stepSeconds = trainSeconds / Double(steps)
let dataPerStep = 4 * warmSeconds / volumes
print(String(format: "training step (resnet3d-10, batch 4, 64³, %d threads): %.3f s; warm-cache data time per step %.4f s = %.1f%% of the step (cold cache: %.1f%%, no cache: %.1f%%)",
             ProcessInfo.processInfo.activeProcessorCount, stepSeconds, dataPerStep, 100 * dataPerStep / stepSeconds,
             100 * 4 * coldSeconds / volumes / stepSeconds, 100 * 4 * uncachedSeconds / volumes / stepSeconds))
