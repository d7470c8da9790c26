# survival_metrics_reference.py: reference values for Tests/FedCTCoreTests/SurvivalMetricsTests.swift.
#
# Computed with scikit-survival 0.28.0, lifelines 0.30.3, scikit-learn 1.9.1, numpy 2.4.6 (Python 3.11).
# Run:   python3 -m venv /tmp/survenv && /tmp/survenv/bin/pip install scikit-survival==0.28.0 lifelines==0.30.3
#        /tmp/survenv/bin/python Tests/Reference/survival_metrics_reference.py
# It prints the inputs and expected values as Swift literals; the test file holds a copy of that output.
# Data set A is hand-made (ties in times between events and censorings, tied risks); data set B is
# drawn from numpy's default_rng(5) with integer times and risks rounded to 0.1 (many ties).
import numpy as np
from lifelines import KaplanMeierFitter
from lifelines.utils import concordance_index
from sklearn.metrics import roc_auc_score
from sksurv.metrics import (brier_score, concordance_index_censored, concordance_index_ipcw,
                            cumulative_dynamic_auc, integrated_brier_score)
from sksurv.nonparametric import CensoringDistributionEstimator, kaplan_meier_estimator
from sksurv.util import Surv


def swift(name, values):
    if isinstance(values[0], (bool, np.bool_)):
        body = ", ".join("true" if v else "false" for v in values)
    else:
        body = ", ".join(repr(float(v)) for v in values)
    print(f"    static let {name}: [{'Bool' if isinstance(values[0], (bool, np.bool_)) else 'Double'}] = [{body}]")


def dataset(name, time, event, risk, times, tau, baseline):
    time = np.asarray(time, float)
    event = np.asarray(event, bool)
    risk = np.asarray(risk, float)
    y = Surv.from_arrays(event, time)
    print(f"    // data set {name}")
    swift(f"{name}Time", time)
    swift(f"{name}Event", event)
    swift(f"{name}Risk", risk)
    swift(f"{name}Times", times)
    swift(f"{name}Baseline", baseline)
    print(f"    static let {name}Tau = {float(tau)!r}")
    c, con, dis, tr, tt = concordance_index_censored(event, time, risk)
    assert abs(concordance_index(time, -risk, event) - c) < 1e-12, "lifelines and scikit-survival disagree"
    print(f"    static let {name}Harrell = {float(c)!r}  // concordant {con}, discordant {dis}, tied risk {tr}, tied time {tt}; lifelines agrees")
    print(f"    static let {name}HarrellCounts = ({con}, {dis}, {tr}, {tt})")
    print(f"    static let {name}Uno = {float(concordance_index_ipcw(y, y, risk)[0])!r}")
    print(f"    static let {name}UnoTau = {float(concordance_index_ipcw(y, y, risk, tau=tau)[0])!r}")
    auc, mean_auc = cumulative_dynamic_auc(y, y, risk, times)
    swift(f"{name}AUC", auc)
    print(f"    static let {name}MeanAUC = {float(mean_auc)!r}")
    survival = np.power(np.asarray(baseline)[None, :], np.exp(risk)[:, None])
    swift(f"{name}Brier", brier_score(y, y, survival, times)[1])
    print(f"    static let {name}IBS = {float(integrated_brier_score(y, y, survival, times))!r}")
    km_t, km_s = kaplan_meier_estimator(event, time)
    kmf = KaplanMeierFitter().fit(time, event)
    assert np.allclose(kmf.survival_function_at_times(km_t).values, km_s, atol=1e-12), "lifelines KM disagrees"
    swift(f"{name}KMTimes", km_t)
    swift(f"{name}KMSurvival", km_s)
    swift(f"{name}CensoringSurvival", kaplan_meier_estimator(event, time, reverse=True)[1])


dataset("a",
        time=[1, 2, 2, 2, 3, 4, 4, 5, 5, 6, 7, 8, 8, 9, 10, 11],
        event=[1, 1, 0, 1, 0, 1, 1, 0, 1, 1, 0, 1, 0, 0, 1, 0],
        risk=[2.0, 1.5, 1.5, 0.3, 1.0, 1.5, 0.7, 0.7, 0.2, 0.9, 0.1, 0.2, -0.4, 0.0, -1.0, -0.2],
        times=[2, 4, 6, 8], tau=7, baseline=[0.9, 0.75, 0.6, 0.45])

rng = np.random.default_rng(5)
n = 40
risk = np.round(rng.normal(size=n), 1)
event_time = rng.exponential(scale=10 * np.exp(-0.8 * risk))
censor_time = rng.uniform(0, 25, size=n)
time = np.ceil(np.minimum(event_time, censor_time))
event = event_time <= censor_time
dataset("b", time=time, event=event, risk=risk, times=[3, 6, 9, 12], tau=10, baseline=[0.8, 0.65, 0.5, 0.4])

# Uno's C with the censoring distribution from a different (training) set.
train_time = np.array([1, 3, 3, 4, 6, 8, 9, 12, 12, 14], float)
train_event = np.array([0, 1, 0, 0, 1, 0, 1, 0, 1, 0], bool)
print("    // Uno's C on data set A with G from a training set")
swift("trainTime", train_time)
swift("trainEvent", train_event)
a_y = Surv.from_arrays(np.array([1, 1, 0, 1, 0, 1, 1, 0, 1, 1, 0, 1, 0, 0, 1, 0], bool),
                       np.array([1, 2, 2, 2, 3, 4, 4, 5, 5, 6, 7, 8, 8, 9, 10, 11], float))
a_risk = np.array([2.0, 1.5, 1.5, 0.3, 1.0, 1.5, 0.7, 0.7, 0.2, 0.9, 0.1, 0.2, -0.4, 0.0, -1.0, -0.2])
print(f"    static let aUnoTrained = {float(concordance_index_ipcw(Surv.from_arrays(train_event, train_time), a_y, a_risk)[0])!r}")

# AUROC with tied scores.
labels = np.array([1, 0, 1, 1, 0, 0, 1, 0, 0, 1, 0, 1], bool)
scores = np.array([0.9, 0.9, 0.8, 0.5, 0.5, 0.5, 0.4, 0.3, 0.3, 0.3, 0.1, 0.05])
print("    // AUROC (scikit-learn roc_auc_score)")
swift("labels", labels)
swift("scores", scores)
print(f"    static let auroc = {float(roc_auc_score(labels, scores))!r}")

# Every risk tied: Harrell's and Uno's C are 1/2.
print(f"    // all risks tied on data set A: Harrell {float(concordance_index_censored(a_y['event'], a_y['time'], np.zeros(16))[0])!r}, "
      f"Uno {float(concordance_index_ipcw(a_y, a_y, np.zeros(16))[0])!r}")
