# logistic_regression_reference.py: reference values for Tests/FedCTCoreTests/LogisticRegressionTests.swift.
#
# Computed with scikit-learn and numpy (versions printed in the output's first line; Python 3.11).
# Run:   python3 -m venv /tmp/lrenv && /tmp/lrenv/bin/pip install scikit-learn numpy
#        /tmp/lrenv/bin/python Tests/Reference/logistic_regression_reference.py > Tests/Reference/logistic_regression_reference.txt
# It prints the inputs and expected values as Swift literals; the test file holds a copy of that output.
# FedCT's probe minimises sum(logloss) + l2/2 * |beta|^2 on standardised features with an unpenalised intercept,
# which is scikit-learn's LogisticRegression(C = 1 / l2) after StandardScaler (population standard deviation).
# Data set A is hand-made (3 features, overlapping classes, a constant column); B is drawn from numpy's
# default_rng(11) (60 subjects, 5 features); C is linearly separable (the penalty keeps the fit finite).
import numpy as np
import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler


def swift_rows(name, rows):
    body = ",\n        ".join("[" + ", ".join(repr(float(v)) for v in row) + "]" for row in rows)
    print(f"    static let {name}: [[Double]] = [\n        {body},\n    ]")


def swift(name, values):
    if isinstance(values[0], (bool, np.bool_)):
        print(f"    static let {name}: [Bool] = [{', '.join('true' if v else 'false' for v in values)}]")
    else:
        print(f"    static let {name}: [Double] = [{', '.join(repr(float(v)) for v in values)}]")


def dataset(name, x, y, l2, test):
    x = np.asarray(x, float)
    y = np.asarray(y, bool)
    test = np.asarray(test, float)
    scaler = StandardScaler().fit(x)
    model = LogisticRegression(C=1 / l2, solver="newton-cholesky", tol=1e-12, max_iter=1000).fit(scaler.transform(x), y)
    print(f"    // data set {name}, l2 = {l2}")
    swift_rows(f"{name}Features", x)
    swift(f"{name}Labels", y)
    print(f"    static let {name}L2 = {float(l2)!r}")
    swift_rows(f"{name}Test", test)
    print(f"    static let {name}Intercept = {float(model.intercept_[0])!r}")
    swift(f"{name}Coefficients", model.coef_[0])
    swift(f"{name}TestProbability", model.predict_proba(scaler.transform(test))[:, 1])


print(f"    // scikit-learn {sklearn.__version__}, numpy {np.__version__}")
dataset("a",
        x=[[0.5, 1.0, 3.0], [1.5, -0.2, 3.0], [2.0, 0.3, 3.0], [-1.0, 2.2, 3.0], [0.0, -1.0, 3.0], [3.1, 0.9, 3.0],
           [2.2, -1.4, 3.0], [-0.7, 0.1, 3.0], [1.1, 1.7, 3.0], [0.4, -0.6, 3.0], [2.8, 2.0, 3.0], [-1.9, -0.3, 3.0]],
        y=[False, True, True, False, False, True, False, True, True, False, True, False],
        l2=1.0,
        test=[[0.0, 0.0, 3.0], [2.5, 1.0, 3.0], [-2.0, 2.0, 3.0]])
rng = np.random.default_rng(11)
xb = rng.normal(size=(60, 5)) * np.array([1.0, 2.0, 0.5, 3.0, 1.0]) + np.array([0.0, 1.0, -2.0, 0.5, 4.0])
logit = 0.8 * xb[:, 0] - 0.4 * xb[:, 1] + 1.5 * xb[:, 2] + 0.1 * xb[:, 3] + 3.0
yb = rng.uniform(size=60) < 1 / (1 + np.exp(-logit))
dataset("b", x=np.round(xb, 3), y=yb, l2=0.5, test=np.round(rng.normal(size=(4, 5)), 3))
dataset("c",
        x=[[-3.0, 0.2], [-2.0, -0.1], [-1.5, 0.4], [-1.0, 0.0], [1.0, 0.3], [1.2, -0.2], [2.0, 0.1], [3.5, -0.4]],
        y=[False, False, False, False, True, True, True, True],
        l2=1.0,
        test=[[-0.5, 0.0], [0.5, 0.0], [10.0, 0.0]])
