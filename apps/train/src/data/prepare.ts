import type { TrainConfig } from '../config/schema';
import type { Progress } from '../progress';
import { prepareMosaiq } from './mosaiq';
import { prepareSequences } from './sequences';
import { prepareTabular } from './tabular';
import { prepareTimeseries } from './timeseries';
import type { PreparedData } from './types';

/** Loads and splits the configured data set. */
export async function prepareData(
  config: TrainConfig,
  runDir: string,
  progress: Progress,
): Promise<PreparedData> {
  const d = config.dataset;
  switch (d.kind) {
    case 'tabular':
      return prepareTabular(d, config.seed);
    case 'timeseries': {
      const { normalizers, ...data } = await prepareTimeseries(d);
      return {
        ...data,
        files: { 'normalizer.json': `${JSON.stringify(normalizers, null, 2)}\n` },
      };
    }
    case 'sequences':
      return prepareSequences(d, config.seed);
    case 'mosaiq':
      return prepareMosaiq(d, config.seed, runDir, progress);
  }
}
