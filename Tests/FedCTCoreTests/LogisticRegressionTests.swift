// LogisticRegressionTests: the L2 logistic probe against scikit-learn on fixed inputs, and its edge cases.
import FedCTCore
import XCTest

/// Inputs and expected values printed by Tests/Reference/logistic_regression_reference.py (its output is committed
/// beside it as logistic_regression_reference.txt; the literals below are a copy).
enum LogisticReference {
    // scikit-learn 1.9.1, numpy 2.4.6
    // data set a, l2 = 1.0
    static let aFeatures: [[Double]] = [
        [0.5, 1.0, 3.0],
        [1.5, -0.2, 3.0],
        [2.0, 0.3, 3.0],
        [-1.0, 2.2, 3.0],
        [0.0, -1.0, 3.0],
        [3.1, 0.9, 3.0],
        [2.2, -1.4, 3.0],
        [-0.7, 0.1, 3.0],
        [1.1, 1.7, 3.0],
        [0.4, -0.6, 3.0],
        [2.8, 2.0, 3.0],
        [-1.9, -0.3, 3.0],
    ]
    static let aLabels: [Bool] = [false, true, true, false, false, true, false, true, true, false, true, false]
    static let aL2 = 1.0
    static let aTest: [[Double]] = [
        [0.0, 0.0, 3.0],
        [2.5, 1.0, 3.0],
        [-2.0, 2.0, 3.0],
    ]
    static let aIntercept = 0.009251988544527013
    static let aCoefficients: [Double] = [0.8821980964980374, 0.5538026285026991, 0.0]
    static let aTestProbability: [Double] = [0.33761514336640414, 0.7840902277489082, 0.29540838205244746]
    // data set b, l2 = 0.5
    static let bFeatures: [[Double]] = [
        [0.034, 3.719, -1.388, -1.031, 3.702],
        [-0.527, 2.139, -2.028, 2.741, 2.153],
        [1.567, 0.807, -1.66, 0.09, 3.621],
        [0.463, 2.649, -2.101, 0.042, 4.686],
        [-0.87, -2.029, -1.803, -1.512, 2.08],
        [-0.814, 0.065, -2.597, -3.977, 4.037],
        [0.897, 0.534, -2.372, 1.655, 4.717],
        [-0.3, 2.089, -1.479, -0.121, 3.186],
        [0.348, 1.495, -1.451, -3.354, 3.338],
        [-0.838, -2.468, -1.937, 2.083, 3.261],
        [1.386, 2.644, -1.686, 1.705, 4.956],
        [-1.332, 2.228, -1.699, -4.803, 4.347],
        [-0.25, 2.563, -2.22, 0.445, 4.343],
        [-0.876, 2.197, -2.052, 1.977, 3.478],
        [1.086, 2.21, -2.089, 2.396, 5.26],
        [1.791, -2.147, -1.558, 1.895, 3.906],
        [-1.007, 3.514, -2.631, 2.201, 5.302],
        [-1.6, 0.395, -2.655, 1.232, 5.514],
        [2.024, -2.556, -2.287, 2.611, 5.579],
        [0.421, -0.492, -1.851, 0.45, 3.796],
        [-0.734, 1.775, -1.846, 0.221, 3.778],
        [-1.285, 0.028, -1.397, -0.072, 2.56],
        [1.334, 2.061, -0.946, 0.688, 3.539],
        [-1.448, 3.648, -0.715, -1.963, 3.353],
        [0.596, -0.661, -2.135, -0.55, 4.192],
        [1.095, 1.044, -1.541, -0.76, 4.328],
        [-2.138, -1.9, -1.602, -1.27, 4.58],
        [0.542, 3.645, -1.594, 3.551, 3.888],
        [-0.698, -0.463, -2.244, -2.889, 3.453],
        [-0.093, 1.503, -2.169, -5.271, 3.928],
        [0.225, 3.169, -1.711, -1.431, 3.276],
        [2.011, 2.513, -1.084, 6.888, 3.182],
        [0.385, 1.916, -1.72, 2.126, 4.202],
        [0.174, -2.005, -2.083, -1.743, 4.126],
        [-0.468, 2.237, -1.59, 1.426, 4.316],
        [0.093, 0.104, -2.082, -0.987, 4.388],
        [0.014, 2.163, -2.664, 3.163, 3.237],
        [-0.734, 0.605, -2.282, 1.373, 3.426],
        [-1.069, -0.692, -1.344, 0.633, 2.832],
        [0.008, -2.112, -1.105, -4.073, 4.479],
        [0.544, -1.9, -1.85, 3.492, 4.468],
        [0.261, 2.898, -1.92, 1.509, 3.873],
        [0.632, -0.883, -1.604, -1.016, 2.909],
        [0.365, 4.386, -1.519, -1.047, 4.698],
        [-0.454, 0.752, -1.955, -6.452, 4.192],
        [-1.03, -0.395, -2.737, -4.05, 3.057],
        [0.826, 4.332, -2.013, 3.775, 3.736],
        [-1.912, 1.3, -1.777, -0.786, 4.302],
        [0.573, -0.727, -2.738, -0.164, 3.789],
        [-0.353, 2.974, -1.137, -0.75, 4.699],
        [0.941, 2.426, -1.476, -0.668, 4.74],
        [2.024, 2.607, -2.31, 2.323, 5.262],
        [0.369, -0.127, -1.228, -3.249, 4.503],
        [-0.016, -1.387, -1.39, 1.544, 2.833],
        [0.602, 0.137, -2.951, -1.567, 4.264],
        [0.636, 1.331, -1.977, 1.91, 3.789],
        [1.177, 1.297, -1.853, 2.122, 2.943],
        [-0.709, 4.057, -1.832, -0.348, 4.341],
        [-0.482, 1.557, -2.333, 1.328, 2.422],
        [1.331, -0.026, -2.791, -0.172, 3.629],
    ]
    static let bLabels: [Bool] = [true, false, true, false, true, false, true, true, false, true, true, false, false, false, false, true, false, false, true, true, false, true, true, true, true, true, false, false, false, false, false, true, false, false, false, false, false, true, true, true, true, false, true, false, false, true, false, true, true, false, false, true, true, true, false, true, true, true, false, true]
    static let bL2 = 0.5
    static let bTest: [[Double]] = [
        [1.84, 1.426, -1.162, -2.198, 0.57],
        [0.028, 0.963, -0.126, 0.22, -1.5],
        [0.448, -0.445, 0.35, 0.459, -0.117],
        [0.317, -0.014, 0.759, 0.502, -0.547],
    ]
    static let bIntercept = 0.15678529803560054
    static let bCoefficients: [Double] = [0.7539869800237788, -1.117879698065724, 0.7808643348752075, 0.30617029883496494, -0.46294149485822966]
    static let bTestProbability: [Double] = [0.9836346839856068, 0.9978898008368212, 0.9993316421939517, 0.9996162840752253]
    // data set c, l2 = 1.0
    static let cFeatures: [[Double]] = [
        [-3.0, 0.2],
        [-2.0, -0.1],
        [-1.5, 0.4],
        [-1.0, 0.0],
        [1.0, 0.3],
        [1.2, -0.2],
        [2.0, 0.1],
        [3.5, -0.4],
    ]
    static let cLabels: [Bool] = [false, false, false, false, true, true, true, true]
    static let cL2 = 1.0
    static let cTest: [[Double]] = [
        [-0.5, 0.0],
        [0.5, 0.0],
        [10.0, 0.0],
    ]
    static let cIntercept = 0.04393538414846196
    static let cCoefficients: [Double] = [1.3754393841206483, -0.16340146504654804]
    static let cTestProbability: [Double] = [0.43117046828026145, 0.5941432052767506, 0.998686825887594]
}

final class LogisticRegressionTests: XCTestCase {
    private func check(_ features: [[Double]], _ labels: [Bool], l2: Double, test: [[Double]], intercept: Double, coefficients: [Double],
                       probabilities: [Double], file: StaticString = #filePath, line: UInt = #line) throws {
        let model = try LogisticRegression.fit(features: features, labels: labels, l2: l2)
        XCTAssertEqual(model.intercept, intercept, accuracy: 1e-8, file: file, line: line)
        XCTAssertEqual(model.coefficients.count, coefficients.count, file: file, line: line)
        for (got, expected) in zip(model.coefficients, coefficients) { XCTAssertEqual(got, expected, accuracy: 1e-8, file: file, line: line) }
        for (row, expected) in zip(test, probabilities) { XCTAssertEqual(model.probability(row), expected, accuracy: 1e-9, file: file, line: line) }
    }

    func testMatchesScikitLearnOnAHandMadeSetWithAConstantFeature() throws {
        typealias R = LogisticReference
        try check(R.aFeatures, R.aLabels, l2: R.aL2, test: R.aTest, intercept: R.aIntercept, coefficients: R.aCoefficients, probabilities: R.aTestProbability)
    }

    func testMatchesScikitLearnOnARandomSet() throws {
        typealias R = LogisticReference
        try check(R.bFeatures, R.bLabels, l2: R.bL2, test: R.bTest, intercept: R.bIntercept, coefficients: R.bCoefficients, probabilities: R.bTestProbability)
    }

    func testSeparableDataStaysFiniteAndMatchesScikitLearn() throws {
        typealias R = LogisticReference
        try check(R.cFeatures, R.cLabels, l2: R.cL2, test: R.cTest, intercept: R.cIntercept, coefficients: R.cCoefficients, probabilities: R.cTestProbability)
        // A far weaker penalty still gives finite coefficients that separate the classes.
        let weak = try LogisticRegression.fit(features: R.cFeatures, labels: R.cLabels, l2: 1e-4)
        XCTAssertTrue(weak.coefficients.allSatisfy(\.isFinite) && weak.intercept.isFinite)
        XCTAssertGreaterThan(weak.coefficients[0], 5)
    }

    func testOneClassOnlyIsAClearError() {
        XCTAssertThrowsError(try LogisticRegression.fit(features: [[1], [2], [3]], labels: [true, true, true])) { error in
            XCTAssertTrue("\(error)".contains("both classes") && "\(error)".contains("3 of 3"), "\(error)")
        }
        XCTAssertThrowsError(try LogisticRegression.fit(features: [[1, 2], [2]], labels: [true, false])) { error in
            XCTAssertTrue("\(error)".contains("2 finite values"), "\(error)")
        }
    }
}
