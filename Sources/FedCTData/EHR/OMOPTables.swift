// OMOPTables: the OMOP CDM v5.4 tables FedCT reads and the columns that map each one to events.

/// One OMOP CDM table and how its rows become events: code `codePrefix` + the concept id (or `codePrefix` alone),
/// at the datetime column when filled, else the date column, with `valueColumn` as the numeric value.
public struct OMOPTable: Sendable, Hashable {
    /// The CDM table name; the file is `<name>.csv`.
    public let name: String
    public let codePrefix: String
    public let conceptColumn: String?
    public let dateColumn: String
    public let datetimeColumn: String
    public let valueColumn: String?

    /// `<name>.csv`.
    public var fileName: String { "\(name).csv" }

    /// `person`: `MEDS_BIRTH` at the birth datetime (or year/month/day of birth) and a static `GENDER/<gender_concept_id>`.
    public static let person = OMOPTable(name: "person", codePrefix: "MEDS_BIRTH", conceptColumn: nil, dateColumn: "year_of_birth",
                                         datetimeColumn: "birth_datetime", valueColumn: nil)
    /// Gender's code prefix, for the static event of a person.
    public static let genderPrefix = "GENDER/"

    /// Every table read, `person` first (the order of reading).
    public static let all: [OMOPTable] = [
        person,
        OMOPTable(name: "death", codePrefix: "DEATH", conceptColumn: nil, dateColumn: "death_date",
                  datetimeColumn: "death_datetime", valueColumn: nil),
        OMOPTable(name: "visit_occurrence", codePrefix: "VISIT/", conceptColumn: "visit_concept_id", dateColumn: "visit_start_date",
                  datetimeColumn: "visit_start_datetime", valueColumn: nil),
        OMOPTable(name: "condition_occurrence", codePrefix: "CONDITION/", conceptColumn: "condition_concept_id",
                  dateColumn: "condition_start_date", datetimeColumn: "condition_start_datetime", valueColumn: nil),
        OMOPTable(name: "procedure_occurrence", codePrefix: "PROCEDURE/", conceptColumn: "procedure_concept_id",
                  dateColumn: "procedure_date", datetimeColumn: "procedure_datetime", valueColumn: nil),
        OMOPTable(name: "drug_exposure", codePrefix: "DRUG/", conceptColumn: "drug_concept_id",
                  dateColumn: "drug_exposure_start_date", datetimeColumn: "drug_exposure_start_datetime", valueColumn: nil),
        OMOPTable(name: "measurement", codePrefix: "MEASUREMENT/", conceptColumn: "measurement_concept_id",
                  dateColumn: "measurement_date", datetimeColumn: "measurement_datetime", valueColumn: "value_as_number"),
        OMOPTable(name: "observation", codePrefix: "OBSERVATION/", conceptColumn: "observation_concept_id",
                  dateColumn: "observation_date", datetimeColumn: "observation_datetime", valueColumn: "value_as_number"),
    ]
}
