// MEDFORMClinicalSetup: MEDFORM stage 2's setup stage — each clinical column's consortium mean and standard deviation from exact secure sums.
public import FedCTCore
import FedCTData
public import FedCTProto
import Foundation

/// The exact integer sums a site contributes for the clinical columns (Docs/science.md, "MEDFORM stage 2"): its train
/// scans, then per column the values present n, and Σq⁺, Σq⁻ and Σq² of the fixed-point values q = round(x · 2¹⁶)
/// (q⁺, q⁻ the positive and negative parts), each written as `digits` base-2²⁰ digits so that every entry stays below
/// `SetupEncoding.maxValue` and the secure sum of the digits rebuilds the consortium's sums exactly.
public enum ClinicalMoments {
    public static let fractionBits = 16
    public static let digitBits = 20
    public static let digits = 5
    /// The most train scans one site may count (so Σq² < 2^100, five digits).
    public static let maxScans = 1 << 20
    /// Entries per column: n, then the digits of Σq⁺, Σq⁻ and Σq².
    public static let perColumn = 1 + 3 * digits

    /// Entries of the vector for `columns` columns.
    public static func count(columns: Int) -> Int { 1 + columns * perColumn }

    /// A site's vector from its train scans' values (`rows[scan][column]`, nil: missing), every value within ±ClinicalTable.maxMagnitude.
    public static func encode(_ rows: [[Double?]], columns: Int) throws -> [UInt64] {
        guard rows.count <= maxScans else {
            throw FedCTError(.invalidData, "the site has \(rows.count) train scans; the clinical setup sums count at most \(maxScans)")
        }
        var vector: [UInt64] = [UInt64(rows.count)]
        for column in 0..<columns {
            var present: UInt64 = 0
            var positive: UInt128 = 0, negative: UInt128 = 0, squares: UInt128 = 0
            for row in rows {
                guard let value = row[column] else { continue }
                guard value.isFinite, abs(value) <= ClinicalTable.maxMagnitude else {
                    throw FedCTError(.invalidData, "clinical value \(value) of column \(column + 1) is beyond ±\(ClinicalTable.maxMagnitude)")
                }
                let q = Int64((value * Double(1 << fractionBits)).rounded())
                present += 1
                if q >= 0 { positive += UInt128(q) } else { negative += UInt128(-q) }
                squares += UInt128(q.magnitude) * UInt128(q.magnitude)
            }
            vector.append(present)
            for total in [positive, negative, squares] { vector += split(total) }
        }
        return vector
    }

    /// Each column's mean and (population) standard deviation over every site, from the summed vectors; a column no
    /// site has a value of is an error naming it, a constant column gets standard deviation 1 (its values standardise to 0).
    public static func statistics(_ sum: [UInt64], columns: [String]) throws -> (scans: UInt64, mean: [Double], std: [Double]) {
        guard sum.count == count(columns: columns.count) else {
            throw FedCTError(.protocolViolation, "the clinical setup sum has \(sum.count) values, expected \(count(columns: columns.count))")
        }
        var mean: [Double] = [], std: [Double] = []
        for (index, column) in columns.enumerated() {
            let base = 1 + index * perColumn
            let n = sum[base]
            guard n > 0 else {
                throw FedCTError(.invalidData, "no site has a value of clinical column '\(column)' in its train scans; drop it from medform.clinical_columns or fill it in clinical.csv")
            }
            let total = Int128(join(sum[(base + 1)..<(base + 1 + digits)])) - Int128(join(sum[(base + 1 + digits)..<(base + 1 + 2 * digits)]))
            let squares = join(sum[(base + 1 + 2 * digits)..<(base + 1 + 3 * digits)])
            let scale = Double(1 << fractionBits)
            mean.append(Double(total) / Double(n) / scale)
            // n Σq² − (Σq)², exact when it fits 128 bits (it does below ~2^27 present values at the largest magnitudes).
            let (spread, overflow) = UInt128(n).multipliedReportingOverflow(by: squares)
            let variance: Double
            if !overflow, spread >= UInt128(total.magnitude) * UInt128(total.magnitude) {
                variance = Double(spread - UInt128(total.magnitude) * UInt128(total.magnitude)) / (Double(n) * Double(n) * scale * scale)
            } else {
                variance = max(0, Double(squares) / Double(n) / (scale * scale) - mean[index] * mean[index])
            }
            std.append(variance > 0 ? variance.squareRoot() : 1)
        }
        return (sum[0], mean, std)
    }

    /// A scan's clinical vector for the model: each column standardised, (x − mean) / std, 0 when missing, then a
    /// missing indicator per column (1 missing, 0 present): 2 × columns floats.
    public static func standardised(_ values: [Double?], mean: [Double], std: [Double]) -> [Float] {
        var vector = values.indices.map { index in values[index].map { Float(($0 - mean[index]) / std[index]) } ?? 0 }
        vector += values.map { $0 == nil ? 1 : 0 }
        return vector
    }

    private static func split(_ value: UInt128) -> [UInt64] {
        (0..<digits).map { UInt64(truncatingIfNeeded: (value >> (digitBits * $0)) & UInt128((1 << digitBits) - 1)) }
    }

    private static func join(_ digits: ArraySlice<UInt64>) -> UInt128 {
        digits.enumerated().reduce(UInt128(0)) { $0 + (UInt128($1.element) << (digitBits * $1.offset)) }
    }
}

/// The coordinator's half of MEDFORM stage 2's setup stage: one counts step over the job's clinical columns (named by
/// the spec, so the request publishes no names), whose
/// secure sum gives every column's mean and standard deviation, written into `medform.clinical_mean` and `clinical_std`.
public struct ClinicalSetupDerivation: SetupDerivation {
    public static let step = SetupStep(index: 0, name: "clinical-moments", answer: .counts)

    public let columns: [String]
    public private(set) var scans: UInt64 = 0
    public private(set) var mean: [Double] = []
    public private(set) var std: [Double] = []

    public init(columns: [String]) { self.columns = columns }

    public var steps: [SetupStep] { [Self.step] }

    /// No names: the columns are the job spec's, which every site holds (a site counts only names sites proposed).
    public func request(for step: SetupStep) -> SetupRequest { SetupRequest() }

    public func valueCount(for step: SetupStep) -> Int { ClinicalMoments.count(columns: columns.count) }

    public func checkNames(_ names: [String], from site: String) throws {
        throw FedCTError(.protocolViolation, "\(site) answered MEDFORM's clinical setup step with names; it takes counts")
    }

    public mutating func combine(_ step: SetupStep, names: [[String]], sum: [UInt64]?) throws {
        guard step == Self.step else { throw FedCTError(.protocolViolation, "\(step) is not a step of MEDFORM's clinical setup stage") }
        guard let sum else { throw FedCTError(.failedPrecondition, "\(step) closed with no statistics") }
        (scans, mean, std) = try ClinicalMoments.statistics(sum, columns: columns)
    }

    public func derive(into spec: inout Fedct_V1_JobSpec, record: inout Fedct_V1_SetupRecord) throws {
        guard mean.count == columns.count else { throw FedCTError(.failedPrecondition, "the clinical setup stage has not combined its step") }
        spec.medform.clinicalMean = mean
        spec.medform.clinicalStd = std
        record.patients = Int64(scans)
    }
}

/// A site's half of MEDFORM stage 2's setup stage: its train scans' clinical rows (every train row of the manifest),
/// summed into `ClinicalMoments`' exact integer vector.
struct ClinicalSiteSetup: SiteSetup {
    let columns: [String]
    let rows: [[Double?]]

    init(columns: [String], dataDirectory: String) throws {
        let manifest = try CohortManifest(path: "\(dataDirectory)/\(SiteDataset.manifestName)")
        let table = try ClinicalTable(directory: dataDirectory, columns: columns)
        self.columns = columns
        rows = try manifest.entries.filter { $0.split == .train }.map { try table.values(for: $0, manifest: manifest.path) }
    }

    func answer(_ step: SetupStep, request: SetupRequest) throws -> SetupAnswer {
        guard step == ClinicalSetupDerivation.step else { throw FedCTError(.protocolViolation, "\(step) is not a step of MEDFORM's clinical setup stage") }
        guard request.names.isEmpty else {
            throw FedCTError(.protocolViolation, "the coordinator published \(request.names.count) names for MEDFORM's clinical setup step, which counts the job's clinical_columns only")
        }
        return .counts(try ClinicalMoments.encode(rows, columns: columns.count))
    }

    var summary: String { "\(rows.count) train scans' clinical rows, \(columns.count) columns" }
}

extension ClinicalSetupDerivation {
    /// The setup stage run in one process (the experiment table): every data folder answers as a site would (its train
    /// rows' `ClinicalMoments`), the answers are added as secure aggregation's unmasked sum adds them, and μ and σ are
    /// written into `spec` as the coordinator writes them.
    public static func deriveLocally(into spec: inout Fedct_V1_JobSpec, dataDirectories: [String]) throws {
        var derivation = ClinicalSetupDerivation(columns: spec.medform.clinicalColumns)
        var sum = [UInt64](repeating: 0, count: derivation.valueCount(for: step))
        for directory in dataDirectories {
            let answer = try ClinicalSiteSetup(columns: derivation.columns, dataDirectory: directory).answer(step, request: SetupRequest())
            guard case .counts(let counts) = answer else { throw FedCTError(.protocolViolation, "\(directory): the clinical setup answered names") }
            for index in sum.indices { sum[index] &+= counts[index] }
        }
        try derivation.combine(step, names: [], sum: sum)
        var record = Fedct_V1_SetupRecord()
        try derivation.derive(into: &spec, record: &record)
    }
}
