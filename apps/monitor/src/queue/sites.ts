import type { MonitorConfig } from '../config/schema';
import type { Logger } from '../log';
import type { ScoringParts, ScoringPartsFactory } from '../service/assemble';

/** The sites of a config: `source`, then `queue.sites`. */
export function siteConfigs(config: MonitorConfig): MonitorConfig['source'][] {
  return [config.source, ...(config.queue?.sites ?? [])];
}

/**
 * Each site's change source and scorer, built on first use with the same factory as the
 * single-process mode (called with the config's `source` set to that site) and kept open.
 */
export class SiteParts {
  private readonly built = new Map<string, Promise<ScoringParts>>();
  private readonly sites: Map<string, MonitorConfig['source']>;

  constructor(
    private readonly config: MonitorConfig,
    private readonly factory: ScoringPartsFactory,
    private readonly logger: Logger,
  ) {
    this.sites = new Map(siteConfigs(config).map((s) => [s.name, s]));
  }

  get names(): string[] {
    return [...this.sites.keys()];
  }

  has(site: string): boolean {
    return this.sites.has(site);
  }

  async get(site: string): Promise<ScoringParts> {
    let parts = this.built.get(site);
    if (!parts) {
      const source = this.sites.get(site);
      if (!source)
        throw new Error(`site "${site}" is not in this worker's config (source.name or queue.sites)`);
      parts = this.factory({ ...this.config, source }, this.logger.child({ site }));
      this.built.set(site, parts);
      // A failed build (database unreachable) is retried on the next job, not cached.
      parts.catch(() => this.built.delete(site));
    }
    return parts;
  }

  async close(): Promise<void> {
    const all = [...this.built.values()];
    this.built.clear();
    for (const p of all) {
      const parts = await p.catch(() => null);
      await parts?.source.close?.();
      await parts?.scorer.close?.();
    }
  }
}
