# cox_breslow_reference.py: reference values for Tests/FedCTCoreTests/CoxBreslowTests.swift (Cox fit and Breslow baseline).
#
# Computed with lifelines (version printed below), numpy, pandas (Python 3).
# Run:   pip install lifelines && python3 Tests/Reference/cox_breslow_reference.py
# It prints the inputs and expected values as Swift literals; the test file holds a copy of that output.
# The data have distinct times, so Efron's and Breslow's partial likelihoods agree and an unpenalised lifelines fit is
# the same model as CoxRegression.fit(l2: 0). lifelines' baseline_cumulative_hazard_ is Breslow's estimate with the
# covariates centred at their means, as CoxRegression.risk centres them.
import lifelines
import numpy as np
import pandas as pd
from lifelines import CoxPHFitter

rng = np.random.default_rng(3)
n = 24
x1 = np.round(rng.normal(size=n), 2)
x2 = np.round(rng.uniform(0, 4, size=n), 2)
event_time = rng.exponential(scale=5 * np.exp(-0.7 * x1 + 0.3 * x2))
censor_time = rng.uniform(0, 12, size=n)
time = np.round(np.minimum(event_time, censor_time), 3)
assert len(set(time)) == n, "times must be distinct"
event = event_time <= censor_time
frame = pd.DataFrame({"x1": x1, "x2": x2, "time": time, "event": event.astype(int)})
cph = CoxPHFitter(penalizer=0.0).fit(frame, duration_col="time", event_col="event")
baseline = cph.baseline_cumulative_hazard_["baseline cumulative hazard"]
event_times = sorted(time[event])


def swift(name, values, kind="Double"):
    body = ", ".join(("true" if v else "false") if kind == "Bool" else repr(float(v)) for v in values)
    print(f"    static let {name}: [{kind}] = [{body}]")


print(f"    // lifelines {lifelines.__version__}")
swift("x1", x1)
swift("x2", x2)
swift("time", time)
swift("event", event, "Bool")
swift("coefficients", cph.params_.values)
swift("eventTimes", event_times)
swift("baselineCumulativeHazard", [baseline.loc[t] for t in event_times])
