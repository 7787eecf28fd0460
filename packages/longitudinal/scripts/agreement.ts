/**
 * Compares every result of this package with the reference values in fixtures/reference.json
 * (SciPy / statsmodels, written by scripts/reference.py; Montgomery's published CUSUM table).
 * `referenceComparisons()` lists each compared number; the tests assert them all, and
 *   pnpm --filter @anomalia/longitudinal agreement
 * prints the largest absolute and relative difference per test family as JSON lines.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseCsvTable } from '@anomalia/core';
import { sharedDataPath } from '@anomalia/core/testing';
import {
  adjustPValues,
  benfordFirstDigit,
  chiSquareSf,
  cusum,
  ewma,
  mannKendall,
  oneSampleTTest,
  runsTest,
  senSlope,
  standardNormalCdf,
  standardNormalQuantile,
  standardNormalSf,
  studentTCdf,
  studentTQuantile,
  type TestOutcome,
  welchTTest,
} from '../src/index';

export interface Comparison {
  readonly family: string;
  readonly case: string;
  readonly field: string;
  readonly expected: number;
  readonly actual: number;
  /** |actual − expected| (0 when both are the same infinity). */
  readonly absDiff: number;
  /** absDiff / |expected| (absDiff when expected is 0). */
  readonly relDiff: number;
  /** Counts, indices and decisions must be equal, not close. */
  readonly exact: boolean;
}

type Json = Record<string, unknown>;
const fixturePath = fileURLToPath(new URL('../fixtures/reference.json', import.meta.url));

function num(v: unknown): number {
  if (v === 'Infinity') return Infinity;
  if (v === '-Infinity') return -Infinity;
  return v as number;
}

function ok<T>(outcome: TestOutcome<T>, where: string): T {
  if (outcome.status !== 'ok') throw new Error(`${where}: ${outcome.reason}`);
  return outcome;
}

const columns = new Map<string, number[]>();
/** A column of a CSV under ../shared/data, read in place. */
export function sharedColumn(source: { file: string; column: string }): number[] {
  const key = `${source.file}#${source.column}`;
  const cached = columns.get(key);
  if (cached) return cached;
  const path = sharedDataPath(import.meta.url, ...source.file.split('/'));
  const table = parseCsvTable(readFileSync(path, 'utf8'), { source: path });
  const c = table.header.indexOf(source.column);
  if (c < 0) throw new Error(`${path}: no column ${source.column}`);
  const values = table.rows.map((r) => Number(r[c]));
  columns.set(key, values);
  return values;
}

function inputOf(c: Json): number[] {
  return c.values ? (c.values as number[]) : sharedColumn(c.source as { file: string; column: string });
}

export function referenceComparisons(): Comparison[] {
  const fx = JSON.parse(readFileSync(fixturePath, 'utf8')) as Json;
  const out: Comparison[] = [];
  const add = (
    family: string,
    kase: string,
    field: string,
    expected: unknown,
    actual: number,
    exact = false,
  ) => {
    const e = num(expected);
    const absDiff = e === actual ? 0 : Math.abs(actual - e);
    out.push({
      family,
      case: kase,
      field,
      expected: e,
      actual,
      absDiff: Number.isNaN(absDiff) ? Infinity : absDiff,
      relDiff: e === 0 || !Number.isFinite(e) ? absDiff : absDiff / Math.abs(e),
      exact,
    });
  };
  const addArray = (
    family: string,
    kase: string,
    field: string,
    expected: unknown[],
    actual: ArrayLike<number>,
  ) => {
    add(family, kase, `${field}.length`, expected.length, actual.length, true);
    expected.forEach((e, i) => {
      add(family, kase, `${field}[${i}]`, e, actual[i]!);
    });
  };

  // Distribution functions (scipy.stats).
  const d = fx.distributions as Record<string, Json[]>;
  for (const r of d.normalCdf!) {
    add('distributions', `normal z=${r.z}`, 'cdf', r.cdf, standardNormalCdf(r.z as number));
    add('distributions', `normal z=${r.z}`, 'sf', r.sf, standardNormalSf(r.z as number));
  }
  for (const r of d.normalQuantile!)
    add('distributions', `normal p=${r.p}`, 'ppf', r.q, standardNormalQuantile(r.p as number));
  for (const r of d.tCdf!)
    add('distributions', `t t=${r.t} df=${r.df}`, 'cdf', r.cdf, studentTCdf(r.t as number, r.df as number));
  for (const r of d.tQuantile!)
    add(
      'distributions',
      `t p=${r.p} df=${r.df}`,
      'ppf',
      r.q,
      studentTQuantile(r.p as number, r.df as number),
    );
  for (const r of d.chiSquareSf!)
    add('distributions', `chi2 x=${r.x} df=${r.df}`, 'sf', r.sf, chiSquareSf(r.x as number, r.df as number));

  // CUSUM (Montgomery's table and the recursion) and EWMA.
  const charts = fx.charts as Json;
  for (const c of charts.cusum as Json[]) {
    const name = c.name as string;
    const r = ok(cusum(c.values as number[], c.options as never), name);
    const e = c.expected as Json;
    addArray('cusum', name, 'upper', e.upper as number[], r.upper);
    addArray('cusum', name, 'lower', e.lower as number[], r.lower);
    addArray('cusum', name, 'signalIndices', e.signalIndices as number[], r.signalIndices);
    if (name === 'montgomery-9.1') {
      (charts.montgomeryUpper as number[]).forEach((v, i) => {
        const rounded = Math.round(r.upper[i]! * 100) / 100;
        add('cusum', 'montgomery table 9.2 (published, 2 decimals)', `upper[${i}]`, v, rounded, true);
      });
      add('cusum', 'montgomery table 9.2 (published)', 'signal period', 29, r.runLength ?? -1, true);
    }
  }
  for (const c of charts.ewma as Json[]) {
    const name = c.name as string;
    const r = ok(ewma(c.values as number[], c.options as never), name);
    const e = c.expected as Json;
    addArray('ewma', name, 'ewma', e.ewma as number[], r.ewma);
    addArray('ewma', name, 'lowerLimit', e.lowerLimit as number[], r.lowerLimit);
    addArray('ewma', name, 'upperLimit', e.upperLimit as number[], r.upperLimit);
    addArray('ewma', name, 'signalIndices', e.signalIndices as number[], r.signalIndices);
  }

  // Mann–Kendall (with Hamed–Rao) and Sen's slope.
  const trends = fx.trends as Json;
  for (const c of trends.mannKendall as Json[]) {
    const name = c.name as string;
    const r = ok(mannKendall(inputOf(c), c.options as never), name);
    const e = c.expected as Json;
    const family = name.includes('hamed-rao') ? 'mann-kendall hamed-rao' : 'mann-kendall';
    add(family, name, 's', e.s, r.s, true);
    for (const f of ['varS', 'z', 'pValue', 'tau', 'varianceCorrection'] as const)
      add(family, name, f, e[f], r[f]);
  }
  for (const c of trends.senSlope as Json[]) {
    const name = c.name as string;
    const r = ok(senSlope(inputOf(c), c.options as never, c.times as number[] | undefined), name);
    const e = c.expected as Json;
    add('sen-slope', name, 'slope', e.slope, r.slope);
    add('sen-slope', name, 'intercept', e.intercept, r.intercept);
    add('sen-slope', name, 'lower', e.lower, r.lower ?? Number.NaN);
    add('sen-slope', name, 'upper', e.upper, r.upper ?? Number.NaN);
  }

  // t-tests.
  const t = fx.tTests as Json;
  for (const c of t.welch as Json[]) {
    const name = c.name as string;
    const r = ok(welchTTest(c.a as number[], c.b as number[], c.options as never), name);
    const e = c.expected as Json;
    for (const f of ['statistic', 'pValue', 'df', 'difference', 'standardError'] as const)
      add('welch', name, f, e[f], r[f]);
    const ci = e.confidenceInterval as unknown[];
    add('welch', name, 'ci.low', ci[0], r.confidenceInterval[0]);
    add('welch', name, 'ci.high', ci[1], r.confidenceInterval[1]);
  }
  for (const c of t.oneSample as Json[]) {
    const name = c.name as string;
    const r = ok(
      oneSampleTTest(c.values as number[], c.planned as number | number[], c.options as never),
      name,
    );
    const e = c.expected as Json;
    for (const f of ['statistic', 'pValue', 'df', 'difference'] as const)
      add('one-sample t', name, f, e[f], r[f]);
    const ci = e.confidenceInterval as unknown[];
    add('one-sample t', name, 'ci.low', ci[0], r.confidenceInterval[0]);
    add('one-sample t', name, 'ci.high', ci[1], r.confidenceInterval[1]);
  }

  // Benford (minCount 1 so the small edge-value case runs too).
  for (const c of fx.benford as Json[]) {
    const name = c.name as string;
    const r = ok(benfordFirstDigit(inputOf(c), { minCount: 1 }), name);
    const e = c.expected as Json;
    add('benford', name, 'n', e.n, r.n, true);
    addArray('benford', name, 'counts', e.counts as number[], r.counts);
    for (const f of ['statistic', 'pValue', 'mad', 'ordersOfMagnitude'] as const)
      add('benford', name, f, e[f], r[f]);
    addArray('benford', name, 'digitZ', e.digitZ as number[], r.digitZ);
  }

  // Runs test (statsmodels runstest_1samp; exact from the Swed–Eisenhart formula with scipy.special.comb).
  for (const c of fx.runs as Json[]) {
    const name = c.name as string;
    const r = ok(runsTest(c.values as number[], c.options as never), name);
    const e = c.expected as Json;
    for (const f of ['runs', 'nAbove', 'nBelow'] as const) add('runs', name, f, e[f], r[f], true);
    add('runs', name, 'cutoff', e.cutoff, r.cutoff);
    if (e.statistic !== undefined) add('runs', name, 'statistic', e.statistic, r.statistic);
    add('runs', name, 'pValue', e.pValue, r.pValue);
  }

  // Multiple testing (statsmodels multipletests).
  for (const c of fx.multipleTesting as Json[]) {
    const name = c.name as string;
    const r = adjustPValues(c.pValues as number[], c.options as never);
    const e = c.expected as Json;
    addArray('multiple testing', name, 'adjusted', e.adjusted as number[], r.adjusted);
    (e.rejected as boolean[]).forEach((v, i) => {
      add('multiple testing', name, `rejected[${i}]`, v ? 1 : 0, r.rejected[i] ? 1 : 0, true);
    });
  }
  return out;
}

/** Largest absolute and relative difference per family. */
export function agreementSummary(comparisons: readonly Comparison[]) {
  const families = new Map<
    string,
    { family: string; compared: number; maxAbsDiff: number; maxRelDiff: number; worst: string }
  >();
  for (const c of comparisons) {
    const s = families.get(c.family) ?? {
      family: c.family,
      compared: 0,
      maxAbsDiff: 0,
      maxRelDiff: 0,
      worst: '',
    };
    s.compared++;
    if (c.absDiff > s.maxAbsDiff) {
      s.maxAbsDiff = c.absDiff;
      s.worst = `${c.case}: ${c.field}`;
    }
    // Relative differences of values that agree to 1e-15 absolutely (e.g. 7e-17 against 0) say nothing.
    if (c.absDiff > 1e-15) s.maxRelDiff = Math.max(s.maxRelDiff, c.relDiff);
    families.set(c.family, s);
  }
  return [...families.values()];
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const line of agreementSummary(referenceComparisons())) console.log(JSON.stringify(line));
}
