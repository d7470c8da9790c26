// PreflightReport+Text: the preflight report as the plain text `fedct-site check` prints, and as JSON.
import Foundation

extension PreflightReport {
    /// The report for a person: counts, distributions, then one line per problem (`BLOCKING`/`warning file:line: …`).
    public var text: String {
        func number(_ value: Double) -> String { String(format: "%.4g", value) }
        func row(_ label: String, _ distribution: PreflightDistribution?) -> String {
            let name = label.padding(toLength: 22, withPad: " ", startingAt: 0)
            guard let distribution else { return "\(name) -" }
            return "\(name) min \(number(distribution.minimum))  median \(number(distribution.median))  max \(number(distribution.maximum))"
        }
        let blocking = problems.filter { $0.severity == .blocking }.count
        var lines = [
            "preflight of \(directory) (read only; nothing is sent)",
            "scans                  \(scans) (\(trainScans) train, \(heldoutScans) held out) of \(subjects) subjects",
            "usable scans           \(usableTrainScans) train, \(usableHeldoutScans) held out (readable image, events after index_time)",
            "events                 \(eventRows) rows (\(staticEventRows) without time) for \(eventSubjects) subjects, \(eventCodes) codes",
            row("pixel spacing (mm)", pixelSpacing),
            row("slice spacing (mm)", sliceThickness),
            row("scan minimum HU", scanMinimumHU),
            row("scan mean HU", scanMeanHU),
            row("scan maximum HU", scanMaximumHU),
            "problems               \(blocking) blocking, \(problems.count - blocking) warnings",
        ]
        lines += problems.map { "\($0.severity == .blocking ? "BLOCKING" : "warning ") \($0)" }
        lines.append(isBlocking ? "result: BLOCKED; fix the blocking problems and run the check again" : "result: ready")
        return lines.joined(separator: "\n")
    }

    /// The report as pretty-printed JSON with sorted keys, plus `"blocking": true|false`.
    public func json() throws -> String {
        struct Document: Encodable {
            var report: PreflightReport
            var blocking: Bool
            func encode(to encoder: any Encoder) throws {
                try report.encode(to: encoder)
                var container = encoder.container(keyedBy: Key.self)
                try container.encode(blocking, forKey: Key(stringValue: "blocking"))
            }
            struct Key: CodingKey {
                var stringValue: String
                var intValue: Int? { nil }
                init(stringValue: String) { self.stringValue = stringValue }
                init?(intValue: Int) { nil }
            }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(Document(report: self, blocking: isBlocking)), as: UTF8.self)
    }
}
