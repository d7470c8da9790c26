// Tests of the typed job plan and the one place of defaults: an Admin API spec with only the essential fields plans as job.yaml does.
import FedCTCore
import FedCTProto
import Foundation
import SwiftProtobuf
import XCTest

final class JobPlanTests: XCTestCase {
    /// What a client generated from Protos/ in another language must send at least, as the coordinator receives it (binary protobuf).
    static func essentialSpecOverTheWire() throws -> Fedct_V1_JobSpec {
        var spec = Fedct_V1_JobSpec()
        spec.name = "essential"
        spec.rounds = 3
        spec.minSites = 2
        spec.encoder.architecture = "resnet3d"
        spec.objective = "tte"
        spec.tte.taskCodes = ["DEATH", "I26"]
        return try Fedct_V1_JobSpec(serializedBytes: try spec.serializedBytes() as [UInt8])
    }

    func testEssentialFieldsOverTheAdminAPIPlanAsTheSameJobFromYAML() throws {
        let wire = try Self.essentialSpecOverTheWire().applyingDefaults()
        let yaml = try Fedct_V1_JobSpec(yaml: YAMLDocument(text: """
            name: essential
            rounds: 3
            min_sites: 2
            objective: tte
            encoder: {architecture: resnet3d}
            tte: {task_codes: [DEATH, I26]}
            """, source: "job.yaml"))
        XCTAssertEqual(wire, yaml, "the same stored spec, field presence included")
        let plan = try JobPlan(spec: wire, source: "job from admin")
        XCTAssertEqual(plan, try JobPlan(spec: yaml, source: "job.yaml"))

        XCTAssertEqual(plan.objective, .tte)
        XCTAssertEqual(plan.tte?.tasks?.codes, ["DEATH", "I26"])
        XCTAssertEqual(plan.tte?.tasks?.pieceEdgesDays, [30, 90, 180, 365, 730, 1095, 1460, 1825])
        XCTAssertEqual(plan.tte?.rank, 16)
        XCTAssertEqual(plan.setupSteps, [])
        XCTAssertEqual(plan.encoder.architecture, .resnet3d)
        XCTAssertEqual([plan.encoder.depth, plan.encoder.width, plan.encoder.stemStride], [10, 8, 2])
        XCTAssertEqual(plan.encoder.norm, .group)
        XCTAssertEqual(plan.preprocessing.orientation, .ras)
        XCTAssertEqual(plan.preprocessing.normalization, .window)
        XCTAssertEqual([plan.preprocessing.windowLowHu, plan.preprocessing.windowHighHu, plan.preprocessing.padHu], [-1000, 1000, -1024])
        XCTAssertEqual(plan.training.optimizer, .adamw)
        XCTAssertEqual(plan.training.schedule, .constant)
        XCTAssertEqual(plan.strategy.kind, .fedavg)
        XCTAssertEqual(plan.secure?.modulusBits, 32)
        XCTAssertEqual(plan.secure?.parameters.stepTimeout, 120)
        XCTAssertEqual(plan.privacy.level, PrivacyPlan.Level.none)
        XCTAssertEqual(plan.evaluation?.everyRounds, 0)
        XCTAssertEqual(plan.evaluation?.minCohort, 10)
        XCTAssertEqual(plan.evaluation?.l2, 1)
        XCTAssertEqual(plan.seed, 1)
        XCTAssertEqual(plan.roundDeadlineSeconds, 1800)
    }

    func testTheDefaultsAreTheDocumentedOnesAndAnEmptySpecTakesThemAll() {
        let defaults = Fedct_V1_JobSpec.defaults
        XCTAssertEqual(Fedct_V1_JobSpec().applyingDefaults(), defaults)
        XCTAssertEqual(defaults.applyingDefaults(), defaults, "applying the defaults twice changes nothing")
        XCTAssertEqual(defaults.objective, "tte")
        XCTAssertEqual(defaults.tte.taskCodes, ["DEATH", "PE", "PH"])
        XCTAssertTrue(defaults.secureAggregation.enabled)
        XCTAssertEqual(defaults.strategy.beta2, 0.99)
        XCTAssertFalse(defaults.strategy.hasProximalMu, "μ has a default only for fedprox")
    }

    func testAnExplicitZeroStaysZeroOverTheWireAndInYAML() throws {
        var spec = try Self.essentialSpecOverTheWire()
        spec.training.weightDecay = 0
        spec.secureAggregation.enabled = false
        spec.evaluation.enabled = false
        spec.preprocessing.windowLowHu = 0
        spec.strategy.name = "fedadam"
        spec.strategy.beta1 = 0
        let received = try Fedct_V1_JobSpec(serializedBytes: try spec.serializedBytes() as [UInt8]).applyingDefaults()
        let plan = try JobPlan(spec: received, source: "job from admin")
        XCTAssertEqual(plan.training.weightDecay, 0)
        XCTAssertEqual(plan.aggregation, .plain)
        XCTAssertNil(plan.evaluation)
        XCTAssertEqual(plan.preprocessing.windowLowHu, 0)
        XCTAssertEqual(plan.strategy.beta1, 0)
        XCTAssertEqual(plan.strategy.beta2, 0.99, "an absent number still takes its default")

        let yaml = try Fedct_V1_JobSpec(yaml: YAMLDocument(text: """
            name: essential
            rounds: 3
            min_sites: 2
            encoder: {architecture: resnet3d}
            tte: {task_codes: [DEATH, I26]}
            training: {weight_decay: 0}
            secure_aggregation: {enabled: false}
            evaluation: {enabled: false}
            preprocessing: {window_low_hu: 0}
            strategy: {name: fedadam, beta1: 0}
            """, source: "job.yaml"))
        XCTAssertEqual(try JobPlan(spec: yaml, source: "job.yaml"), plan)
    }

    func testAnUnknownObjectiveIsRefusedNamingTheField() throws {
        var spec = try Self.essentialSpecOverTheWire()
        spec.objective = "hlip-not-yet"
        XCTAssertThrowsError(try JobPlan(spec: spec.applyingDefaults(), source: "job from admin")) { error in
            XCTAssertTrue("\(error)".contains("job from admin: field 'objective' 'hlip-not-yet' is not a known objective (known: tte"), "\(error)")
        }
        spec.objective = ""
        XCTAssertThrowsError(try spec.applyingDefaults().validate(source: "job from admin"), "an explicit empty objective is not the default") { error in
            XCTAssertTrue("\(error)".contains("field 'objective'"), "\(error)")
        }
        XCTAssertThrowsError(try Fedct_V1_JobSpec(yaml: YAMLDocument(text: "objective: medform-not-yet", source: "job.yaml"))) { error in
            XCTAssertTrue("\(error)".hasPrefix("job.yaml: field 'objective'"), "\(error)")
        }
    }

    func testAStoredSpecWithoutPresenceBitsReadsAsWrittenAndIsATTEJob() throws {
        // Protobuf JSON as the job database of main 6c0e1fc holds it: defaults written out, zeros left out, no objective.
        let stored = try Fedct_V1_JobSpec(jsonString: """
            {"name":"old","rounds":2,"minSites":2,"seed":"1","encoder":{"architecture":"resnet3d","depth":10,"width":2,"stemStride":2,"norm":"group"},
             "tte":{"taskCodes":["DEATH"],"pieceEdgesDays":[30,365],"rank":4,"maxTasks":8192,"pieces":8,"minPatientsPerCode":10},
             "training":{"localEpochs":1,"batchSize":4,"learningRate":0.001,"weightDecay":0.0001,"volumeSize":16,"optimizer":"adamw",
                         "lrSchedule":"constant","gradientAccumulation":1},
             "roundDeadlineSeconds":120,"strategy":{"name":"fedavg"},
             "secureAggregation":{"enabled":true,"minCohort":2,"clipNorm":10,"modulusBits":32,"maxExamplesPerSite":"64",
                                  "stepTimeoutSeconds":120,"sparseAbove":50,"maxDropoutFraction":0.1,"maxCorruptFraction":0.05},
             "privacy":{"level":"none","delta":1e-05},
             "preprocessing":{"orientation":"RAS","windowLowHu":-1000,"windowHighHu":1000,"normalization":"window","padHu":-1024},
             "evaluation":{"enabled":true,"minCohort":10,"l2":1}}
            """)
        XCTAssertFalse(stored.hasObjective)
        let plan = try JobPlan(spec: stored, source: "stored job")
        XCTAssertEqual(plan.objective, .tte)
        XCTAssertEqual(plan.strategy, try ServerStrategy(spec: Fedct_V1_JobSpec.defaults.strategy), "strategy numbers written as 0 read as their defaults")
        XCTAssertEqual(plan.training.minLearningRate, 0)
        XCTAssertEqual(plan.evaluation?.everyRounds, 0)
    }

    func testADerivedJobPlansItsSetupStepsUntilItsTasksAreDerived() throws {
        var spec = Fedct_V1_JobSpec()
        spec.tte.deriveTasks = true
        spec.tte.maxTasks = 40
        let awaiting = try JobPlan(spec: spec.applyingDefaults(), source: "job.yaml")
        XCTAssertNil(awaiting.tte?.tasks)
        XCTAssertEqual(awaiting.tte?.derivation?.maxTasks, 40)
        XCTAssertEqual(awaiting.tte?.derivation?.pieces, 8)
        XCTAssertEqual(awaiting.tte?.derivation?.minPatientsPerCode, 10)
        XCTAssertEqual(awaiting.setupSteps.map(\.name), ["candidates", "prevalence", "rates"])
        spec.tte.taskCodes = ["DEATH"]
        spec.tte.pieceEdgesDays = [30, 60]
        XCTAssertEqual(try JobPlan(spec: spec.applyingDefaults(), source: "job after setup").setupSteps, [])
    }
}
