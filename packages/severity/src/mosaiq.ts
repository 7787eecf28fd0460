/**
 * `@anomalia/severity/mosaiq`: the Elekta Mosaiq (radiotherapy record) catalogue and its scale.
 * The main entry stays a domain-free scale; this subpath is the one place Mosaiq failure-mode ids
 * and their severities are defined.
 */

import { MOSAIQ_CATALOGUE } from './mosaiq-catalogue';
import { createSeverityScale, type SeverityScale } from './scale';

export {
  MOSAIQ_CATALOGUE,
  MOSAIQ_FAILURE_MODE_IDS,
  type MosaiqFailureModeId,
  type MosaiqVariantId,
} from './mosaiq-catalogue';

/** The scale over the Mosaiq catalogue. */
export const mosaiqScale: SeverityScale = createSeverityScale(MOSAIQ_CATALOGUE);
