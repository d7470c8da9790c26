# experiment_binary_probe_reference.py: reference values for ExperimentBinaryProbeTests (Tests/FedCTTrainingTests).
#
# The experiment table's binary-task path: a scan's status at the horizon from its follow-up (positive when the first
# DEATH is at or before the horizon and inside the follow-up, negative when the follow-up reaches the horizon without
# it, unknown otherwise), an L2 logistic probe fit on the train scans with a known status (scikit-learn's
# LogisticRegression(C = 1) after StandardScaler, as FedCT's LogisticRegression), and the AUROC of its log-odds on the
# held-out scans with a known status (roc_auc_score).
# Computed with scikit-learn and numpy (versions in the output's first line; Python 3.11).
# Run:   python3 -m venv /tmp/lrenv && /tmp/lrenv/bin/pip install scikit-learn numpy
#        /tmp/lrenv/bin/python Tests/Reference/experiment_binary_probe_reference.py
# It prints the inputs and expected values as Swift literals; the test file holds a copy of that output.
import numpy as np
import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import StandardScaler

HORIZON = 182.0


def scans(rng, n):
    features = rng.normal(size=(n, 3)).round(3)
    hazard = np.exp(features @ np.array([0.9, -0.5, 0.0])) / 400.0
    event_day = rng.exponential(1.0 / hazard).round()
    follow_up = rng.uniform(20, 400, size=n).round()
    has_event = event_day <= follow_up
    return features, np.where(has_event, event_day, -1.0), follow_up


def status(event_day, follow_up):
    if event_day >= 0 and event_day <= follow_up and event_day <= HORIZON:
        return 1
    return 0 if follow_up >= HORIZON else -1


def swift(name, values, kind="Double"):
    print(f"    static let {name}: [{kind}] = [" + ", ".join(repr(float(v)) if kind == "Double" else repr(v) for v in values) + "]")


def swift_rows(name, rows):
    print(f"    static let {name}: [[Double]] = [" + ", ".join("[" + ", ".join(repr(float(v)) for v in row) + "]" for row in rows) + "]")


rng = np.random.default_rng(13)
train = scans(rng, 60)
heldout = scans(rng, 45)
print(f"    // scikit-learn {sklearn.__version__}, numpy {np.__version__}; horizon {HORIZON} days; first event day -1 = none")
for name, (features, event_day, follow_up) in (("train", train), ("heldout", heldout)):
    swift_rows(f"{name}Features", features)
    swift(f"{name}EventDay", event_day)
    swift(f"{name}FollowUp", follow_up)
train_status = np.array([status(e, f) for e, f in zip(train[1], train[2])])
heldout_status = np.array([status(e, f) for e, f in zip(heldout[1], heldout[2])])
known = train_status >= 0
scaler = StandardScaler().fit(train[0][known])
model = LogisticRegression(C=1.0, tol=1e-12, max_iter=1000).fit(scaler.transform(train[0][known]), train_status[known])
logits = model.decision_function(scaler.transform(heldout[0]))
swift("heldoutLogit", logits)
mask = heldout_status >= 0
print(f"    static let heldoutKnown = {int(mask.sum())}")
print(f"    static let heldoutPositives = {int((heldout_status == 1).sum())}")
print(f"    static let auroc = {float(roc_auc_score(heldout_status[mask], logits[mask]))!r}")
