import type { EnergyBucket, MonitorStore } from '@anomalia/db-sqlite/monitor-store';
import { BAND_IDS, BAND_THRESHOLDS } from '@anomalia/severity';
import type { TopLevelSpec } from 'vega-lite';
import { BAND_COLORS } from '../report/charts';
import { renderSvg } from '../report/render';

const HOUR = 3_600_000;

/** Bucket size for a timeline of `days`: hourly up to a week, then 6-hourly, then daily. */
export function bucketFor(days: number): number {
  return days <= 7 ? HOUR : days <= 30 ? 6 * HOUR : 24 * HOUR;
}

/**
 * The dashboard's timeline as a Vega-Lite spec (the library of the daily report): per time bucket
 * and band, a point at the highest energy, sized by the number of records, over the band
 * thresholds. Energies are drawn on the 0–3 scale (clipped, as triage clips them).
 */
export function timelineSpec(
  rows: readonly EnergyBucket[],
  o: { from: number; to: number; days: number; bucketMs: number },
): TopLevelSpec {
  const base = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    width: 480,
    height: 220,
    background: 'white',
  } as const;
  const values = rows
    .filter((r) => r.maxEnergy !== null && (BAND_IDS as readonly string[]).includes(r.band))
    .map((r) => ({
      t: r.bucketStart + o.bucketMs / 2,
      band: r.band,
      records: r.records,
      energy: Math.min(3, Math.max(0, r.maxEnergy!)),
    }));
  const per = o.bucketMs === HOUR ? 'hour' : o.bucketMs === 24 * HOUR ? 'day' : `${o.bucketMs / HOUR} h`;
  const title = `Energy per band, last ${o.days} day${o.days === 1 ? '' : 's'} (highest per ${per}; size: records)`;
  if (values.length === 0)
    return {
      ...base,
      height: 60,
      title,
      data: { values: [{ text: `No records scored in the last ${o.days} days.` }] },
      mark: { type: 'text', fontSize: 13, color: '#555' },
      encoding: { text: { field: 'text', type: 'nominal' } },
    } as TopLevelSpec;
  const thresholds = Object.entries(BAND_THRESHOLDS)
    .filter(([, v]) => v > 0)
    .map(([band, value]) => ({ band, value }));
  return {
    ...base,
    title,
    layer: [
      {
        data: { values: thresholds },
        mark: { type: 'rule', strokeDash: [4, 4], color: '#999' },
        encoding: { y: { field: 'value', type: 'quantitative' } },
      },
      {
        data: { values },
        mark: { type: 'circle', opacity: 0.8, stroke: '#333', strokeWidth: 0.4 },
        encoding: {
          x: {
            field: 't',
            type: 'temporal',
            title: null,
            scale: { domain: [o.from, o.to] },
            axis: { format: o.days <= 2 ? '%H:%M' : '%b %d', labelOverlap: true },
          },
          y: {
            field: 'energy',
            type: 'quantitative',
            scale: { domain: [0, 3] },
            title: 'energy (0–3)',
          },
          color: {
            field: 'band',
            type: 'nominal',
            scale: { domain: [...BAND_IDS], range: BAND_COLORS },
            title: 'band',
          },
          size: {
            field: 'records',
            type: 'quantitative',
            scale: { type: 'sqrt', range: [15, 320] },
            title: 'records',
          },
          order: { field: 'energy', type: 'quantitative' },
        },
      },
    ],
  } as TopLevelSpec;
}

/** Renders the timeline SVG from the store, cached for `ttlMs` (plots are costly; many pages may ask). */
export class TimelineRenderer {
  private cache = new Map<number, { at: number; svg: Promise<string> }>();

  constructor(
    private readonly store: MonitorStore,
    private readonly now: () => number = Date.now,
    private readonly ttlMs = 3_000,
  ) {}

  svg(days: number): Promise<string> {
    const now = this.now();
    const hit = this.cache.get(days);
    if (hit && now - hit.at < this.ttlMs) return hit.svg;
    const bucketMs = bucketFor(days);
    const from = now - days * 24 * HOUR;
    const rows = this.store.energyTimeline(Math.floor(from / bucketMs) * bucketMs, now + 1, bucketMs);
    const svg = renderSvg(timelineSpec(rows, { from, to: now, days, bucketMs }));
    this.cache.set(days, { at: now, svg });
    svg.catch(() => this.cache.delete(days));
    return svg;
  }
}
