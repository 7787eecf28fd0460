#!/usr/bin/python3
"""Reference values for @anomalia/longitudinal's tests, from SciPy and statsmodels.

Run from packages/longitudinal with Debian's python (python3-scipy, python3-statsmodels):

    /usr/bin/python3 scripts/reference.py > fixtures/reference.json   (or: pnpm --filter @anomalia/longitudinal reference)

Every synthetic input series is generated here with a fixed seed and written into the fixture
beside the expected outputs, so the TypeScript tests need no Python. Real series are read from
../shared/data (or $ANOMALIA_SHARED_DIR/data) and named by `source` ({file, column}) instead of
copied: the tests read the same column in place. Where SciPy /
statsmodels have no function (Mann-Kendall with its continuity correction, Hamed-Rao, tabular
CUSUM, EWMA, exact runs distribution), the formula is written out here from its pieces (scipy's
norm / rankdata / comb, statsmodels' acf) following the cited papers and pymannkendall 1.4.
"""
import json
import math
import os
import sys

import numpy as np
import scipy
import statsmodels
from scipy import special, stats
from statsmodels.sandbox.stats.runs import runstest_1samp
from statsmodels.stats.multitest import multipletests
from statsmodels.tsa.stattools import acf

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.path.join(os.environ.get('ANOMALIA_SHARED_DIR') or os.path.join(HERE, '..', '..', '..', '..', 'shared'), 'data')
rng = np.random.RandomState(20240917)


def floats(a):
    return [float(v) for v in np.asarray(a, dtype=float).ravel()]


def fnum(v):
    """JSON has no Infinity; encode infinities as strings the tests decode."""
    v = float(v)
    if math.isinf(v):
        return 'Infinity' if v > 0 else '-Infinity'
    return v


# ---------------------------------------------------------------- distributions
def distributions():
    zs = [-40.0, -10.0, -5.0, -1.959963984540054, -0.5, 0.0, 0.3, 1.0, 3.0, 8.0, 37.0]
    ts = [(-30.0, 3.0), (-4.2, 7.0), (-1.0, 1.0), (0.0, 5.0), (0.7, 2.5), (2.1, 12.3), (5.0, 29.0), (12.0, 200.0)]
    chi = [(0.0, 8.0), (0.5, 8.0), (7.3, 8.0), (15.507313055865453, 8.0), (40.0, 8.0), (300.0, 8.0), (3.2, 1.0), (25.0, 3.0)]
    ps = [1e-12, 0.001, 0.025, 0.5, 0.9, 0.975, 0.999999]
    return {
        'normalCdf': [{'z': z, 'cdf': float(stats.norm.cdf(z)), 'sf': float(stats.norm.sf(z))} for z in zs],
        'normalQuantile': [{'p': p, 'q': float(stats.norm.ppf(p))} for p in ps],
        'tCdf': [{'t': t, 'df': df, 'cdf': float(stats.t.cdf(t, df))} for t, df in ts],
        'tQuantile': [{'p': p, 'df': df, 'q': float(stats.t.ppf(p, df))} for p in ps for df in (2.0, 9.5, 60.0)],
        'chiSquareSf': [{'x': x, 'df': df, 'sf': float(stats.chi2.sf(x, df))} for x, df in chi],
    }


# ---------------------------------------------------------------- CUSUM / EWMA
MONTGOMERY_9_1 = [
    9.45, 7.99, 9.29, 11.66, 12.16, 10.18, 8.04, 11.46, 9.20, 10.34,
    9.03, 11.47, 10.51, 9.40, 10.08, 9.37, 10.62, 10.31, 8.52, 10.84,
    10.90, 9.33, 12.29, 11.50, 10.60, 11.08, 10.38, 11.62, 11.31, 10.52,
]
# C+ as tabulated by Montgomery (Introduction to Statistical Quality Control, 6th ed., Table 9.2)
# for periods 1-30, rounded to 2 decimals; the chart first exceeds h = 5 at period 29.
MONTGOMERY_9_2_UPPER = [
    0.0, 0.0, 0.0, 1.16, 2.82, 2.50, 0.04, 1.00, 0.0, 0.0, 0.0, 0.97, 0.98, 0.0, 0.0,
    0.0, 0.12, 0.0, 0.0, 0.34, 0.74, 0.0, 1.79, 2.79, 2.89, 3.47, 3.35, 4.47, 5.28, 5.30,
]


def cusum_ref(x, target, sigma, k, h, head_start=0.0, reset=False):
    cp = cm = head_start
    up, lo, sig = [], [], []
    for i, v in enumerate(x):
        z = (v - target) / sigma
        cp = max(0.0, cp + z - k)
        cm = max(0.0, cm - z - k)
        up.append(cp)
        lo.append(cm)
        if cp > h or cm > h:
            sig.append(i)
            if reset:
                cp = cm = head_start
    return {'upper': up, 'lower': lo, 'signalIndices': sig}


def ewma_ref(x, target, sigma, lam, L, exact=True):
    zs, lo, hi, sig = [], [], [], []
    z = target
    for i, v in enumerate(x):
        z = lam * v + (1 - lam) * z
        var = lam / (2 - lam) * ((1 - (1 - lam) ** (2 * (i + 1))) if exact else 1.0)
        half = L * sigma * math.sqrt(var)
        zs.append(z)
        lo.append(target - half)
        hi.append(target + half)
        if z > target + half or z < target - half:
            sig.append(i)
    return {'ewma': zs, 'lowerLimit': lo, 'upperLimit': hi, 'signalIndices': sig}


def charts():
    drift = floats(np.r_[rng.normal(100, 2, 20), 100 + 2 * 0.35 * np.arange(1, 21) + rng.normal(0, 2, 20)])
    down = floats(np.r_[rng.normal(0, 1, 15), rng.normal(-1.5, 1, 15)])
    cases = [
        {'name': 'montgomery-9.1', 'values': MONTGOMERY_9_1, 'options': {'target': 10, 'sigma': 1, 'k': 0.5, 'h': 5}},
        {'name': 'drift-fir', 'values': drift, 'options': {'target': 100, 'sigma': 2, 'k': 0.5, 'h': 4, 'headStart': 2}},
        {'name': 'down-reset', 'values': down, 'options': {'target': 0, 'sigma': 1, 'k': 0.25, 'h': 3, 'resetOnSignal': True}},
    ]
    for c in cases:
        o = c['options']
        c['expected'] = cusum_ref(c['values'], o['target'], o['sigma'], o['k'], o['h'],
                                  o.get('headStart', 0.0), o.get('resetOnSignal', False))
    ewmas = [
        {'name': 'montgomery-9.2', 'values': MONTGOMERY_9_1, 'options': {'target': 10, 'sigma': 1, 'lambda': 0.1, 'L': 2.7}},
        {'name': 'drift-asymptotic', 'values': drift,
         'options': {'target': 100, 'sigma': 2, 'lambda': 0.2, 'L': 3, 'exactLimits': False}},
        {'name': 'down', 'values': down, 'options': {'target': 0, 'sigma': 1, 'lambda': 0.3, 'L': 2.8}},
    ]
    for c in ewmas:
        o = c['options']
        c['expected'] = ewma_ref(c['values'], o['target'], o['sigma'], o['lambda'], o['L'], o.get('exactLimits', True))
    return {'montgomeryUpper': MONTGOMERY_9_2_UPPER, 'cusum': cases, 'ewma': ewmas}


# ---------------------------------------------------------------- Mann-Kendall / Sen
def mk_ref(x, alpha=0.05, hamed_rao=False, lags=None, alternative='two-sided'):
    x = np.asarray(x, dtype=float)
    n = len(x)
    # S from scipy's Kendall tau-b against time (time has no ties): S = tau_b * sqrt(n0 * (n0 - n_ties_x))
    n0 = n * (n - 1) / 2
    _, counts = np.unique(x, return_counts=True)
    tied_pairs = float(np.sum(counts * (counts - 1) / 2))
    tau_b = stats.kendalltau(np.arange(n), x).statistic
    s = float(round(tau_b * math.sqrt(n0 * (n0 - tied_pairs)))) if tied_pairs < n0 else 0.0
    var_s = (n * (n - 1) * (2 * n + 5) - float(np.sum(counts * (counts - 1) * (2 * counts + 5)))) / 18
    factor = 1.0
    if hamed_rao and len(counts) > 1:
        slope = float(np.median([(x[j] - x[i]) / (j - i) for i in range(n) for j in range(i + 1, n)]))
        ranks = stats.rankdata(x - np.arange(1, n + 1) * slope)
        max_lag = n - 1 if lags is None else lags
        r = acf(ranks, nlags=max_lag, fft=False, adjusted=False)
        bound = stats.norm.ppf(1 - alpha / 2) / math.sqrt(n)
        total = sum((n - i) * (n - i - 1) * (n - i - 2) * r[i] for i in range(1, max_lag + 1) if abs(r[i]) > bound)
        factor = 1 + 2 / (n * (n - 1) * (n - 2)) * abs(total)
        var_s *= factor
    z = (s - 1) / math.sqrt(var_s) if s > 0 else (s + 1) / math.sqrt(var_s) if s < 0 else 0.0
    p = {'two-sided': 2 * stats.norm.sf(abs(z)), 'greater': stats.norm.sf(z), 'less': stats.norm.cdf(z)}[alternative]
    return {'s': s, 'varS': var_s, 'z': z, 'pValue': float(p), 'tau': s / n0, 'varianceCorrection': factor}


def ar1(n, phi, trend, sd=1.0):
    e = rng.normal(0, sd, n)
    y = np.zeros(n)
    for i in range(n):
        y[i] = (phi * y[i - 1] if i else 0) + e[i]
    return floats(y + trend * np.arange(n))


def shared_column(file, column):
    path = os.path.join(SHARED, file)
    with open(path) as f:
        header = f.readline().strip().split(',')
    return floats(np.genfromtxt(path, delimiter=',', skip_header=1, usecols=header.index(column)))


REAL = {}
IMS_BEARING1 = {'file': 'ims/ims_2nd_test_resmaple_10minutes.csv', 'column': 'Bearing 1'}
NYC_TAXI = {'file': 'timeseries/nab/labeled/nyc_taxi.csv', 'column': 'value'}
REAL.update({'ims-bearing1-2nd': IMS_BEARING1, 'nab nyc_taxi': NYC_TAXI})


def with_input(case, name, x):
    """Names a real series by its source instead of copying it into the fixture."""
    if name in REAL:
        case['source'] = REAL[name]
    else:
        case['values'] = x
    return case


def trends():
    series = {
        'noise30': floats(rng.normal(10, 1, 30)),
        'trend30': floats(rng.normal(10, 1, 30) + 0.08 * np.arange(30)),
        'down-ties40': floats(np.round(rng.normal(5, 1.5, 40) - 0.05 * np.arange(40))),
        'small4': [3.0, 1.0, 4.0, 1.5],
        'ar1-100': ar1(100, 0.7, 0.02),
        'ar1-trend-60': ar1(60, 0.5, 0.1, 0.8),
    }
    series['ims-bearing1-2nd'] = shared_column(**IMS_BEARING1)
    mk = []
    for name, x in series.items():
        mk.append(with_input({'name': name, 'options': {}, 'expected': mk_ref(x)}, name, x))
        if name.startswith('ar1') or name.startswith('ims') or name == 'trend30':
            mk.append(with_input({'name': name + ' hamed-rao', 'options': {'autocorrelation': 'hamed-rao'},
                                  'expected': mk_ref(x, hamed_rao=True)}, name, x))
        if name.startswith('ar1-100'):
            mk.append({'name': name + ' hamed-rao lags=3 alpha=0.1', 'values': x,
                       'options': {'autocorrelation': 'hamed-rao', 'lags': 3, 'alpha': 0.1},
                       'expected': mk_ref(x, alpha=0.1, hamed_rao=True, lags=3)})
        if name == 'trend30':
            for alt in ('greater', 'less'):
                mk.append({'name': name + ' ' + alt, 'values': x, 'options': {'alternative': alt},
                           'expected': mk_ref(x, alternative=alt)})
    sen = []
    for name, x in series.items():
        for conf in (0.95, 0.9):
            r = stats.theilslopes(x, alpha=conf)
            sen.append(with_input({'name': f'{name} {conf}', 'options': {'confidence': conf},
                                   'expected': {'slope': float(r.slope), 'intercept': float(r.intercept),
                                                'lower': float(r.low_slope), 'upper': float(r.high_slope)}},
                                  name, x))
    # Irregular times with ties (two fractions on one day).
    t = floats(np.sort(rng.choice(np.arange(60), 25, replace=True)))
    y = floats(rng.normal(0, 1, 25) + 0.05 * np.asarray(t))
    r = stats.theilslopes(y, t, alpha=0.95)
    sen.append({'name': 'irregular times', 'values': y, 'times': t, 'options': {'confidence': 0.95},
                'expected': {'slope': float(r.slope), 'intercept': float(r.intercept),
                             'lower': float(r.low_slope), 'upper': float(r.high_slope)}})
    return {'mannKendall': mk, 'senSlope': sen}


# ---------------------------------------------------------------- t-tests
def welch_ref(a, b, alternative, confidence):
    r = stats.ttest_ind(a, b, equal_var=False, alternative=alternative)
    va, vb = np.var(a, ddof=1) / len(a), np.var(b, ddof=1) / len(b)
    df = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
    se = math.sqrt(va + vb)
    d = float(np.mean(a) - np.mean(b))
    if alternative == 'two-sided':
        q = stats.t.ppf(1 - (1 - confidence) / 2, df) * se
        ci = (d - q, d + q)
    elif alternative == 'greater':
        ci = (d - stats.t.ppf(confidence, df) * se, math.inf)
    else:
        ci = (-math.inf, d + stats.t.ppf(confidence, df) * se)
    return {'statistic': float(r.statistic), 'pValue': float(r.pvalue), 'df': float(df), 'difference': d,
            'standardError': se, 'confidenceInterval': [fnum(ci[0]), fnum(ci[1])]}


def ttests():
    welch = []
    pairs = [
        ('before-after shift', rng.normal(200, 3, 15), rng.normal(203, 6, 10), 'two-sided', 0.95),
        ('no shift', rng.normal(0, 1, 12), rng.normal(0, 2, 30), 'two-sided', 0.9),
        ('greater', rng.normal(1, 1, 8), rng.normal(0, 1, 9), 'greater', 0.95),
        ('less', rng.normal(1, 1, 6), rng.normal(0, 0.5, 7), 'less', 0.99),
        ('tiny p', rng.normal(10, 0.1, 40), rng.normal(0, 0.1, 40), 'two-sided', 0.95),
    ]
    for name, a, b, alt, conf in pairs:
        welch.append({'name': name, 'a': floats(a), 'b': floats(b), 'options': {'alternative': alt, 'confidence': conf},
                      'expected': welch_ref(floats(a), floats(b), alt, conf)})
    one = []
    singles = [
        ('bias 1.5%', rng.normal(101.5, 1.2, 20), 100.0, 'two-sided', 0.95),
        ('on plan', rng.normal(60, 0.5, 30), 60.0, 'two-sided', 0.95),
        ('greater', rng.normal(0.4, 1, 10), 0.0, 'greater', 0.9),
        ('less', rng.normal(-0.2, 1, 25), 0.0, 'less', 0.95),
    ]
    for name, x, mu, alt, conf in singles:
        r = stats.ttest_1samp(x, mu, alternative=alt)
        ci = r.confidence_interval(conf)
        one.append({'name': name, 'values': floats(x), 'planned': mu, 'options': {'alternative': alt, 'confidence': conf},
                    'expected': {'statistic': float(r.statistic), 'pValue': float(r.pvalue), 'df': float(r.df),
                                 'difference': float(np.mean(x) - mu),
                                 'confidenceInterval': [fnum(ci.low - mu), fnum(ci.high - mu)]}})
    planned = floats(rng.uniform(50, 300, 20))
    delivered = floats(np.asarray(planned) * (1 + rng.normal(0.01, 0.005, 20)))
    r = stats.ttest_1samp(np.asarray(delivered) - np.asarray(planned), 0.0)
    ci = r.confidence_interval(0.95)
    one.append({'name': 'per-point planned', 'values': delivered, 'planned': planned, 'options': {},
                'expected': {'statistic': float(r.statistic), 'pValue': float(r.pvalue), 'df': float(r.df),
                             'difference': float(np.mean(np.asarray(delivered) - np.asarray(planned))),
                             'confidenceInterval': [float(ci.low), float(ci.high)]}})
    return {'welch': welch, 'oneSample': one}


# ---------------------------------------------------------------- Benford
def first_digit(v):
    s = repr(abs(float(v)))  # shortest round-trip repr, as JavaScript's toExponential()
    for ch in s:
        if ch in '123456789':
            return int(ch)
    raise ValueError(v)


def benford_ref(x):
    x = [v for v in x if v != 0]
    n = len(x)
    counts = np.zeros(9)
    for v in x:
        counts[first_digit(v) - 1] += 1
    p = np.log10(1 + 1 / np.arange(1, 10))
    r = stats.chisquare(counts, p * n)
    obs = counts / n
    dev = np.abs(obs - p)
    corr = 1 / (2 * n)
    z = np.where(corr < dev, dev - corr, dev) / np.sqrt(p * (1 - p) / n)
    a = np.abs(np.asarray(x, dtype=float))
    return {'n': n, 'counts': floats(counts), 'statistic': float(r.statistic), 'pValue': float(r.pvalue),
            'mad': float(np.mean(dev)), 'digitZ': floats(z), 'ordersOfMagnitude': float(np.log10(a.max()) - np.log10(a.min()))}


def benford():
    cases = [
        ('lognormal spanning 5 decades', floats(np.exp(rng.normal(3, 2.5, 3000)))),
        ('uniform 80-120 (narrow)', floats(rng.uniform(80, 120, 500))),
        ('signed with zeros', floats(np.r_[-np.exp(rng.normal(0, 3, 400)), np.zeros(7), np.exp(rng.normal(2, 3, 400))])),
        ('decimal edge values', [0.3, 0.7, 1e-7, 2.9999999999999996, 1000.0, 0.001, 9.999, 5e-324, 1.7976931348623157e308]
         + floats(np.exp(rng.normal(0, 4, 200)))),
        ('nab nyc_taxi', shared_column(**NYC_TAXI)),
    ]
    return [with_input({'name': name, 'expected': benford_ref(x)}, name, x) for name, x in cases]


# ---------------------------------------------------------------- runs
def runs_exact_p(r, n1, n2):
    total = special.comb(n1 + n2, n1, exact=True)
    probs = {}
    for rr in range(2, n1 + n2 + 1):
        if rr % 2 == 0:
            k = rr // 2
            c = 2 * special.comb(n1 - 1, k - 1, exact=True) * special.comb(n2 - 1, k - 1, exact=True)
        else:
            k = (rr - 1) // 2
            c = (special.comb(n1 - 1, k, exact=True) * special.comb(n2 - 1, k - 1, exact=True)
                 + special.comb(n1 - 1, k - 1, exact=True) * special.comb(n2 - 1, k, exact=True))
        probs[rr] = c
    lower = sum(c for rr, c in probs.items() if rr <= r) / total
    upper = sum(c for rr, c in probs.items() if rr >= r) / total
    return float(min(1.0, 2 * min(lower, upper)))


def count_runs(labels):
    return 1 + int(np.sum(labels[1:] != labels[:-1]))


def runs():
    out = []
    series = {
        'noise25': floats(rng.normal(0, 1, 25)),
        'trend40': floats(rng.normal(0, 1, 40) + 0.1 * np.arange(40)),
        'alternating30': floats(np.tile([1.0, -1.0], 15) + rng.normal(0, 0.2, 30)),
        'noise80': floats(rng.normal(0, 1, 80)),
        'ties-at-median': [1.0, 2.0, 2.0, 2.0, 3.0, 1.0, 2.0, 4.0, 0.0, 2.0, 5.0, 2.0, 1.0, 3.0, 2.0, 6.0, 2.0],
    }
    for name, x in series.items():
        xa = np.asarray(x)
        med = float(np.median(xa))
        # ties 'above': statsmodels runstest_1samp counts x >= cutoff as above.
        z, p = runstest_1samp(xa, cutoff='median', correction=True)
        labels = (xa >= med).astype(int)
        out.append({'name': name + ' above', 'values': x, 'options': {'ties': 'above'},
                    'expected': {'statistic': float(z), 'pValue': float(p), 'runs': count_runs(labels),
                                 'nAbove': int(labels.sum()), 'nBelow': int(len(labels) - labels.sum()),
                                 'cutoff': med}})
        # ties 'drop': statsmodels on the values that differ from the median, same cutoff.
        kept = xa[xa != med]
        z, p = runstest_1samp(kept, cutoff=med, correction=True)
        labels = (kept >= med).astype(int)
        n1, n2 = int(labels.sum()), int(len(labels) - labels.sum())
        r = count_runs(labels)
        out.append({'name': name + ' drop', 'values': x, 'options': {},
                    'expected': {'statistic': float(z), 'pValue': float(p), 'runs': r, 'nAbove': n1, 'nBelow': n2,
                                 'cutoff': med}})
        z, p = runstest_1samp(kept, cutoff=med, correction=False)
        out.append({'name': name + ' drop uncorrected', 'values': x, 'options': {'continuityCorrection': False},
                    'expected': {'statistic': float(z), 'pValue': float(p), 'runs': r, 'nAbove': n1, 'nBelow': n2,
                                 'cutoff': med}})
        out.append({'name': name + ' drop exact', 'values': x, 'options': {'method': 'exact'},
                    'expected': {'pValue': runs_exact_p(r, n1, n2), 'runs': r, 'nAbove': n1, 'nBelow': n2,
                                 'cutoff': med}})
    return out


# ---------------------------------------------------------------- multiple testing
def multiple():
    sets = {
        'mixed': [0.01, 0.04, 0.03, 0.005, 0.2, 0.5, 0.04, 0.9, 1.0, 0.0, 0.0001, 0.049],
        'uniform200': floats(rng.uniform(0, 1, 200) ** 1.5),
        'with-ties': [0.02, 0.02, 0.02, 0.5, 0.001, 0.001, 0.3],
    }
    out = []
    for name, p in sets.items():
        for method, ours in (('fdr_bh', 'bh'), ('fdr_by', 'by'), ('holm', 'holm'), ('bonferroni', 'bonferroni')):
            for alpha in (0.05, 0.1):
                reject, adj, _, _ = multipletests(p, alpha=alpha, method=method)
                out.append({'name': f'{name} {ours} {alpha}', 'pValues': p, 'options': {'method': ours, 'alpha': alpha},
                            'expected': {'adjusted': floats(adj), 'rejected': [bool(v) for v in reject]}})
    return out


def main():
    fixture = {
        'generator': {
            'script': 'packages/longitudinal/scripts/reference.py',
            'python': sys.version.split()[0],
            'numpy': np.__version__,
            'scipy': scipy.__version__,
            'statsmodels': statsmodels.__version__,
        },
        'distributions': distributions(),
        'charts': charts(),
        'trends': trends(),
        'tTests': ttests(),
        'benford': benford(),
        'runs': runs(),
        'multipleTesting': multiple(),
    }
    json.dump(fixture, sys.stdout, indent=1, allow_nan=False)
    sys.stdout.write('\n')


if __name__ == '__main__':
    main()
