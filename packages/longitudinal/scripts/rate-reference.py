#!/usr/bin/python3
"""Reference values for rate-tests.ts (binomialTest, poissonRateTest) from SciPy.

Run from packages/longitudinal with Debian's python (python3-scipy):

    /usr/bin/python3 scripts/rate-reference.py > fixtures/rate-reference.json

poissonRateTest is the conditional exact test: binomtest(x, x + y, e / (e + f)).
"""
import json

import scipy
from scipy import stats

binomial_cases = [
    (0, 0, 0.5), (0, 10, 0.3), (3, 10, 0.3), (10, 10, 0.3), (1, 1, 0.01),
    (7, 20, 0.1), (40, 1000, 0.02), (8, 8, 0.05), (25, 40, 0.9), (0, 500, 0.001),
    (60, 200, 0.08), (500, 1000, 0.4), (3, 3000, 0.0005), (120, 150, 0.5),
]
poisson_cases = [
    (8, 300.0, 0, 3300.0), (0, 120.0, 5, 900.0), (4, 50.0, 12, 400.0), (30, 1000.0, 300, 11000.0),
    (2, 7.5, 2, 7.5), (15, 1.0, 40, 10.0), (1, 400.0, 0, 4400.0), (12, 260.0, 90, 2900.0),
]

out = {'scipy': scipy.__version__, 'binomial': [], 'poisson': []}
for k, n, p in binomial_cases:
    row = {'successes': k, 'trials': n, 'probability': p}
    for alt in ('greater', 'less'):
        row[alt] = float(stats.binomtest(k, n, p, alternative=alt).pvalue) if n > 0 else 1.0
    out['binomial'].append(row)
for x, e, y, f in poisson_cases:
    row = {'count': x, 'exposure': e, 'otherCount': y, 'otherExposure': f}
    for alt in ('greater', 'less'):
        n = x + y
        row[alt] = float(stats.binomtest(x, n, e / (e + f), alternative=alt).pvalue) if n > 0 else 1.0
    out['poisson'].append(row)
json.dump(out, __import__('sys').stdout, indent=1)
print()
