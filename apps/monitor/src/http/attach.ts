import { dirname, join } from 'node:path';
import { ConfigError } from '../config/load';
import type { MonitorConfig } from '../config/schema';
import { MonitorEventBus } from '../events/bus';
import type { Logger } from '../log';
import type { RunningMonitor } from '../service/assemble';
import { type AccessPolicy, accessPolicy } from './access';
import { type Dashboard, startDashboard } from './server';

/** What the dashboard needs before the monitor is assembled (so a bad policy stops the start early). */
export interface DashboardPlan {
  readonly policy: AccessPolicy;
  readonly labelsPath: string;
  readonly timelineDays: number;
  /** The bus the service and dispatcher report to; metrics and the live stream listen. */
  readonly events: MonitorEventBus;
}

/**
 * The dashboard to start for `config` and `--http` (which overrides `http.bind`); null when
 * neither asks for one. Throws a ConfigError naming the setting when the bind would expose it
 * beyond localhost without credentials, or a token is unusable.
 */
export function planDashboard(
  config: MonitorConfig,
  bindFlag: string | undefined,
  logger: Logger,
  env: NodeJS.ProcessEnv = process.env,
): DashboardPlan | null {
  if (!config.http && bindFlag === undefined) return null;
  const http = config.http ?? { bind: bindFlag!, timelineDays: 7 };
  return {
    policy: accessPolicy(http, { ...(bindFlag === undefined ? {} : { bindOverride: bindFlag }), env }),
    labelsPath: http.labels ?? join(dirname(config.state.path), 'labels.jsonl'),
    timelineDays: http.timelineDays,
    events: new MonitorEventBus((error, type) =>
      logger.warn({ err: (error as Error).message, event: type }, 'a listener of monitor events failed'),
    ),
  };
}

/**
 * Starts the dashboard over an assembled monitor; the returned monitor closes the dashboard
 * (its live streams first) before the store. If the dashboard cannot listen, the monitor is
 * closed and the error thrown.
 */
export async function withDashboard(
  monitor: RunningMonitor,
  plan: DashboardPlan,
  logger: Logger,
): Promise<RunningMonitor & { readonly dashboard: Dashboard }> {
  let dashboard: Dashboard;
  try {
    dashboard = await startDashboard({
      store: monitor.store,
      health: () => monitor.service.health(),
      events: plan.events,
      policy: plan.policy,
      logger,
      labelsPath: plan.labelsPath,
      timelineDays: plan.timelineDays,
    });
  } catch (e) {
    await monitor.close();
    const code = (e as NodeJS.ErrnoException).code;
    const { host, port } = plan.policy.bind;
    if (code === 'EADDRINUSE' || code === 'EADDRNOTAVAIL' || code === 'EACCES')
      throw new ConfigError(
        'config',
        plan.policy.bindKey,
        `cannot listen on ${host}:${port} (${code === 'EADDRINUSE' ? 'the port is in use' : code === 'EACCES' ? 'permission denied' : 'no such address on this machine'})`,
      );
    throw e;
  }
  return {
    service: monitor.service,
    store: monitor.store,
    dispatcher: monitor.dispatcher,
    dashboard,
    async close() {
      await dashboard.close();
      await monitor.close();
    },
  };
}
