import {
  adjustTestOutcomes,
  benfordFirstDigit,
  createCusum,
  estimateBaseline,
  mannKendall,
  oneSampleTTest,
  senSlope,
  welchTTest,
} from '../src/index';

// Delivered monitor units of one field across 25 fractions (planned 120 MU): on plan for 12
// fractions, then creeping up by about 0.6 MU per fraction.
const planned = 120;
const noise = [
  0.3, -0.5, 0.1, 0.6, -0.2, -0.4, 0.2, 0.5, -0.1, -0.6, 0.4, 0, -0.3, 0.2, 0.5, -0.4, 0.1, 0.3, -0.2, 0.6,
  -0.5, 0.2, 0, -0.1, 0.4,
];
const mu = noise.map((e, i) => planned + e + (i >= 12 ? 0.6 * (i - 11) : 0));

// Trend: Mann–Kendall and Sen's slope (MU per fraction, with its 95 % interval).
const trend = mannKendall(mu);
const slope = senSlope(mu);
if (trend.status === 'ok' && slope.status === 'ok') {
  console.log(trend.trend, trend.pValue < 1e-6, slope.slope.toFixed(2));
}

// Streaming CUSUM against a baseline from the first 8 fractions: feed fractions as they arrive.
const baseline = estimateBaseline(mu, { count: 8 });
if (baseline.status !== 'ok') throw new Error(baseline.reason);
const monitor = createCusum({ target: baseline.mean, sigma: baseline.sigma, k: 0.5, h: 5 });
const firedAt = mu.map((x) => monitor.push(x)).find((s) => s.signal !== null)?.index;
console.log('CUSUM fired at fraction', firedAt);

// Before/after: the last 10 fractions against the first 12, and all fractions against the plan.
const shift = welchTTest(mu.slice(15), mu.slice(0, 12), { alternative: 'greater' });
const bias = oneSampleTTest(mu, planned);
console.log(shift.status === 'ok' && shift.pValue < 0.001, bias.status === 'ok' && bias.difference > 0);

// Too few points is a result, not NaN.
console.log(mannKendall([120, 121]));

// Many series at once: control the false discovery rate across them (Benjamini–Hochberg).
const courses = [mu, noise.map((e) => planned + e), noise.map((e) => 80 + e).reverse(), [120, 121]];
const fdr = adjustTestOutcomes(
  courses.map((c) => mannKendall(c)),
  { method: 'bh', alpha: 0.05 },
);
console.log(fdr.rejectedOutcomes, fdr.adjustedByOutcome[3]);

// Benford applies only to data spanning orders of magnitude: monitor units do not.
const benford = benfordFirstDigit(mu, { minCount: 10 });
console.log(benford.status === 'ok' && benford.warning);
