import { sharedDataPath } from '@anomalia/core/testing';
import { describe, expect, it } from 'vitest';
import { imsAttribution, readImsRun } from './ims-attribution';

// Real data: the IMS bearing run-to-failure tests (NASA / University of Cincinnati), resampled to
// 10 minutes. The protocol (training on the first half, late = the last tenth, threshold at the
// 95th percentile of the training scores) is IMS_PROTOCOL, fixed before the first run.
const ims = (file: string) => sharedDataPath(import.meta.url, 'ims', file);

describe('channel attribution on the IMS bearings (VAE, IMS_PROTOCOL)', () => {
  for (const [file, failed] of [
    ['ims_2nd_test_resmaple_10minutes.csv', 'Bearing 1'],
    ['ims_3rd_test_resmaple_10minutes.csv', 'Bearing 3'],
  ] as const) {
    it(`${file}: the late anomalous windows blame ${failed}, the bearing that failed, by both methods`, async () => {
      const r = await imsAttribution(ims(file), 'vae');
      expect(r.channels).toEqual(['Bearing 1', 'Bearing 2', 'Bearing 3', 'Bearing 4']);
      expect(r.lateAnomalous).toBeGreaterThan(0);
      for (const a of [r.reconstruction!, r.gradient!]) {
        expect(a.ranking[0]!.channel, `${a.method}: ${JSON.stringify(a.ranking)}`).toBe(failed);
        expect(a.perWindow.rows).toBe(r.lateAnomalous);
      }
    });
  }

  it('reads the runs as they are: timestamps and the bearing channels in file order', async () => {
    const first = await readImsRun(ims('ims_1st_test_resmaple_10minutes.csv'));
    expect(first.channels).toEqual([
      'Bearing 1-A',
      'Bearing 1-B',
      'Bearing 2-A',
      'Bearing 2-B',
      'Bearing 3-A',
      'Bearing 3-B',
      'Bearing 4-A',
      'Bearing 4-B',
    ]);
    expect(first.series.rows).toBe(2156);
    expect(first.times[0]).toBe('2003.10.22.12.06.24');
    expect(first.series.get(0, 0)).toBeCloseTo(0.10414785878216577, 12);
  });
});
