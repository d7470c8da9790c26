#!/usr/bin/env python3
# dp_accounting_reference.py: prints the reference (ε, order) table of Tests/FedCTCoreTests/RDPAccountantTests.swift.
#
# Generated with dp-accounting 0.6.0 (PyPI), scipy 1.17.1, numpy, Python 3.11:
#     pip install dp-accounting==0.6.0
#     python3 Tests/Reference/dp_accounting_reference.py
# Paste the printed lines over the `references` literal in RDPAccountantTests.swift.
# Each case composes Poisson-sampled Gaussian events (q, σ, steps) in order, with the default
# orders of dp_accounting.rdp.RdpAccountant, then asks for ε at δ.
import math

from absl import logging
import dp_accounting

# dp-accounting warns on stderr when a fractional order does not converge; the table covers such cases.
logging.set_verbosity(logging.ERROR)

CASES = [
    # (events [(q, sigma, steps)], delta, what it covers)
    ([(0.01, 1.1, 1000)], 1e-5, "DP-SGD, MNIST-like"),
    ([(1.0, 1.0, 10)], 1e-5, "site-level, q = 1 (plain Gaussian)"),
    ([(1.0, 5.0, 100)], 1e-6, "site-level, q = 1, more noise"),
    ([(1.0, 0.3, 1)], 1e-5, "q = 1, sigma < 1"),
    ([(1.0, 100.0, 1000000)], 1e-5, "q = 1, large sigma, a million steps"),
    ([(1e-5, 0.5, 1000000)], 1e-6, "tiny q, sigma < 1, a million steps"),
    ([(1e-5, 1.0, 1000)], 1e-5, "tiny q, few steps"),
    ([(0.001, 0.3, 10000)], 1e-5, "sigma = 0.3"),
    ([(0.5, 2.0, 50)], 1e-5, "q = 0.5 (orders 1.1-1.8 do not converge and are left out)"),
    ([(0.1, 100.0, 1000000)], 1e-5, "sigma = 100, a million steps"),
    ([(0.256, 0.8, 3000)], 1e-5, "sigma < 1, moderate q"),
    ([(0.004, 1.3, 100000)], 1e-7, "many steps, small delta"),
    ([(0.9, 3.0, 20)], 1e-3, "q close to 1"),
    ([(0.05, 0.7, 200)], 1e-6, "sigma < 1, small q"),
    ([(0.3, 1.5, 5000)], 1e-10, "delta = 1e-10"),
    ([(0.02, 10.0, 1)], 1e-5, "one step, lots of noise"),
    ([(1.0, 1.2, 5), (0.02, 1.1, 400)], 1e-5, "site-level then patient-level, composed"),
    ([(0.0, 1.0, 100)], 1e-5, "q = 0 spends nothing"),
    ([(0.01, 0.0, 10)], 1e-5, "sigma = 0: no privacy"),
]


def swift_double(x: float) -> str:
    if math.isinf(x):
        return ".infinity"
    return repr(float(x))


def main() -> None:
    for events, delta, what in CASES:
        accountant = dp_accounting.rdp.RdpAccountant()
        for q, sigma, steps in events:
            accountant.compose(
                dp_accounting.PoissonSampledDpEvent(q, dp_accounting.GaussianDpEvent(sigma)), steps
            )
        epsilon, order = accountant.get_epsilon_and_optimal_order(delta)
        swift_events = ", ".join(
            f"(q: {swift_double(q)}, sigma: {swift_double(sigma)}, steps: {steps})" for q, sigma, steps in events
        )
        print(
            f"        Reference(events: [{swift_events}], delta: {swift_double(delta)}, "
            f"epsilon: {swift_double(epsilon)}, order: {swift_double(order)}),  // {what}"
        )


if __name__ == "__main__":
    main()
