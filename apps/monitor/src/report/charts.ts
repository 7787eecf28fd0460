import { BAND_IDS, BAND_THRESHOLDS } from '@anomalia/severity';
import type { TopLevelSpec } from 'vega-lite';
import type { DailyReportData } from './data';

/** Vega-Lite specs for the daily report's plots (null when there is nothing to plot). */
const base = { $schema: 'https://vega.github.io/schema/vega-lite/v6.json', width: 420, height: 240 } as const;
export const BAND_COLORS = ['#9ecae1', '#fdd49e', '#fdae6b', '#f16913', '#a50f15'];
const bandScale = { domain: [...BAND_IDS], range: BAND_COLORS };

export function trendByBand(d: DailyReportData): TopLevelSpec | null {
  const values = d.trend.flatMap((t) =>
    BAND_IDS.map((band, i) => ({ day: t.day, band, order: i, count: t.counts[band] })),
  );
  if (!d.trend.some((t) => t.total > 0)) return null;
  return {
    ...base,
    title: `Records per band, last ${d.trend.length} days`,
    data: { values },
    mark: 'bar',
    encoding: {
      x: { field: 'day', type: 'ordinal', title: null },
      y: { field: 'count', type: 'quantitative', title: 'records' },
      color: { field: 'band', type: 'nominal', scale: bandScale, title: 'band' },
      order: { field: 'order', type: 'quantitative' },
    },
  } as TopLevelSpec;
}

export function alertTrend(d: DailyReportData): TopLevelSpec | null {
  const values = d.trend.flatMap((t) =>
    (['critical', 'high', 'medium'] as const).map((band) => ({ day: t.day, band, count: t.counts[band] })),
  );
  if (!values.some((v) => v.count > 0)) return null;
  return {
    ...base,
    title: 'Medium, high and critical findings per day',
    data: { values },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'day', type: 'ordinal', title: null },
      y: { field: 'count', type: 'quantitative', title: 'findings' },
      color: {
        field: 'band',
        type: 'nominal',
        scale: { domain: ['medium', 'high', 'critical'], range: BAND_COLORS.slice(2) },
      },
    },
  } as TopLevelSpec;
}

export function energyDistribution(d: DailyReportData): TopLevelSpec | null {
  if (!d.energies.length) return null;
  const thresholds = Object.entries(BAND_THRESHOLDS)
    .filter(([, v]) => v > 0)
    .map(([band, value]) => ({ band, value }));
  return {
    ...base,
    title: `Energy of the day's ${d.energies.length} records, with the band thresholds`,
    layer: [
      {
        data: { values: d.energies.map((energy) => ({ energy })) },
        mark: { type: 'bar', binSpacing: 0 },
        encoding: {
          x: {
            field: 'energy',
            type: 'quantitative',
            bin: { extent: [0, 3], step: 0.1 },
            title: 'energy (0–3 scale)',
          },
          y: {
            aggregate: 'count',
            type: 'quantitative',
            scale: { type: 'symlog' },
            title: 'records (symlog)',
          },
        },
      },
      {
        data: { values: thresholds },
        mark: { type: 'rule', strokeDash: [4, 4], color: 'black' },
        encoding: { x: { field: 'value', type: 'quantitative' } },
      },
    ],
  } as TopLevelSpec;
}

export function featureFrequency(d: DailyReportData): TopLevelSpec | null {
  const values = d.featureFrequency.slice(0, 15);
  if (!values.length) return null;
  return {
    ...base,
    height: 18 * values.length,
    title: 'Features behind the critical and high alerts',
    data: { values },
    mark: 'bar',
    encoding: {
      y: { field: 'feature', type: 'nominal', sort: '-x', title: null },
      x: { field: 'alerts', type: 'quantitative', title: 'alerts with the feature among their top five' },
    },
  } as TopLevelSpec;
}

export const REPORT_CHARTS = {
  'trend-by-band': trendByBand,
  'alert-trend': alertTrend,
  'energy-distribution': energyDistribution,
  'feature-frequency': featureFrequency,
} as const;
