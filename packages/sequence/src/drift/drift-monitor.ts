import { randomUUID } from 'node:crypto';
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseWith, ValidationError } from '@anomalia/core';
import { z } from 'zod';
import { AgentState, cLogCTable } from './agent-state';
import { binOf, DRIFT_BINS, type DriftMetrics, driftMetrics, histogram } from './drift-metrics';
import { WindowedNGramModel } from './windowed-ngram-model';

export const ALERT_TYPES = ['sequence', 'frequency', 'behavioral', 'distributional'] as const;
export type AnomalyType = (typeof ALERT_TYPES)[number];
export type AlertSeverity = 'info' | 'warning' | 'critical';

export interface AnomalyAlert {
  alertId: string;
  /** ISO 8601, UTC. */
  timestamp: string;
  anomalyType: AnomalyType;
  severity: AlertSeverity;
  /** The agent, or "*" for a cohort-wide distribution alert. */
  agentId: string;
  cohort: string;
  anomalyScore: number;
  /** The score above which this type of alert fires. */
  threshold: number;
  description: string;
  evidence: Record<string, unknown>;
  autoEscalated: boolean;
  quarantineRecommended: boolean;
}

export const DriftMonitorOptionsSchema = z.object({
  /** N-gram length of the sequence check. */
  sequenceN: z.number().int().min(1).max(16).default(3),
  /** N-grams (all agents) the sequence model remembers. */
  sequenceWindowSize: z.number().int().min(1).default(10_000),
  sequenceAlpha: z.number().positive().default(1),
  sequenceMinFrequency: z.number().int().nonnegative().default(2),
  sequenceThreshold: z.number().min(0).max(1).default(0.8),
  /** N-grams the model must have seen before sequence alerts can fire (a cold model finds everything new). */
  sequenceWarmup: z.number().int().nonnegative().default(500),
  /** Actions per agent kept for the sequence and behavioural checks. */
  historySize: z.number().int().min(2).max(100_000).default(200),
  frequencyWindowSeconds: z.number().positive().default(60),
  /** Actions within the frequency window that make a burst. */
  frequencyBurstThreshold: z.number().int().min(1).max(100_000).default(30),
  behaviorMinActions: z.number().int().min(1).default(10),
  /** Behavioural alert when one action takes more than this share of the window... */
  concentrationThreshold: z.number().min(0).max(1).default(0.8),
  /** ...or when the normalised entropy of the window falls below this. */
  entropyThreshold: z.number().min(0).max(1).default(0.2),
  psiThreshold: z.number().nonnegative().default(0.2),
  klThreshold: z.number().nonnegative().default(0.1),
  jsThreshold: z.number().nonnegative().default(0.1),
  /** Current scores a cohort needs before its distribution is compared with the baseline. */
  driftMinSamples: z.number().int().min(1).default(30),
  /** Check drift automatically every this many scores per cohort (0 = only when checkDrift is called). */
  driftCheckEvery: z.number().int().nonnegative().default(0),
  alertCooldownSeconds: z.number().nonnegative().default(300),
  /** Agents tracked at once; the least recently active one is forgotten beyond this. */
  maxAgents: z.number().int().min(1).default(10_000),
  /** Cohorts tracked at once; the least recently active one (and its baseline) is forgotten beyond this. */
  maxCohorts: z.number().int().min(1).default(1_000),
  /** Alerts kept in memory (`recentAlerts`). */
  maxStoredAlerts: z.number().int().nonnegative().default(1_000),
  /** Appends every alert as one JSON line to this file. */
  alertsPath: z.string().min(1).optional(),
});
export type DriftMonitorOptions = z.infer<typeof DriftMonitorOptionsSchema>;

export interface DriftMonitorDependencies {
  /** Current time in milliseconds (default Date.now); inject a fake clock in tests. */
  clock?: () => number;
  /** Alert ids (default random UUIDs). */
  newId?: () => string;
  /** Called for every alert produced. */
  onAlert?: (alert: AnomalyAlert) => void;
}

export interface DriftReport extends DriftMetrics {
  cohort: string;
  /** Current scores compared (the buffer is cleared after each check). */
  n: number;
  drift: boolean;
  severity: AlertSeverity | null;
  alert: AnomalyAlert | null;
}

interface CohortState {
  baseline: Float64Array | null;
  current: Float64Array;
  n: number;
  lastAlert: number;
}

/**
 * Watches a stream of agent actions for anomalies:
 * - frequency: a burst of actions from one agent within a short window;
 * - sequence: an n-gram of the agent's last actions that is rare among everyone's recent n-grams;
 * - behavioral: an agent whose recent actions concentrate on one action or have low entropy;
 * - distributional: risk scores of a cohort drifting from a baseline (PSI, KL, JS on 10 bins).
 * Alerts have a severity, respect a cooldown per (type, agent, cohort), and can be appended to a
 * JSONL file. Memory is bounded: fixed-size state per agent and at most `maxAgents` agents (the
 * least recently active are evicted).
 */
export class DriftMonitor {
  readonly options: Readonly<DriftMonitorOptions>;
  private readonly clock: () => number;
  private readonly newId: () => string;
  private readonly onAlert?: (alert: AnomalyAlert) => void;
  private readonly sequenceModel: WindowedNGramModel;
  private readonly actionIds = new Map<string, number>();
  private readonly actionNames: string[] = [];
  private readonly agents = new Map<string, AgentState>();
  private readonly cohorts = new Map<string, CohortState>();
  private tick = 0;
  private readonly stored: AnomalyAlert[] = [];
  private readonly timeCapacity: number;
  private readonly cLogC: Float64Array;

  constructor(options: z.input<typeof DriftMonitorOptionsSchema> = {}, deps: DriftMonitorDependencies = {}) {
    this.options = Object.freeze(parseWith(DriftMonitorOptionsSchema, options ?? {}, 'options'));
    const o = this.options;
    this.clock = deps.clock ?? Date.now;
    this.newId = deps.newId ?? randomUUID;
    this.onAlert = deps.onAlert;
    this.sequenceModel = new WindowedNGramModel(
      o.sequenceN,
      o.sequenceWindowSize,
      o.sequenceAlpha,
      o.sequenceMinFrequency,
    );
    // Enough times to see a burst of 5× the threshold, where the frequency score saturates.
    this.timeCapacity = o.frequencyBurstThreshold * 5;
    this.cLogC = cLogCTable(o.historySize);
    if (o.alertsPath) mkdirSync(dirname(o.alertsPath), { recursive: true });
  }

  get agentCount(): number {
    return this.agents.size;
  }
  get recentAlerts(): readonly AnomalyAlert[] {
    return this.stored;
  }

  /**
   * Records one action of an agent with its risk score in [0, 1]; returns the first alert it
   * raised (frequency, then sequence, then behavioural), or null. Every alert raised is stored,
   * written to the JSONL file and passed to onAlert.
   */
  recordAction(
    agentId: string,
    actionType: string,
    riskScore: number,
    cohort = 'default',
  ): AnomalyAlert | null {
    if (typeof agentId !== 'string' || agentId === '')
      throw new ValidationError('agentId', 'a non-empty string', agentId);
    if (typeof actionType !== 'string') throw new ValidationError('actionType', 'a string', actionType);
    if (!(riskScore >= 0 && riskScore <= 1))
      throw new ValidationError('riskScore', 'a number in [0, 1]', riskScore);
    if (typeof cohort !== 'string') throw new ValidationError('cohort', 'a string', cohort);
    const o = this.options;
    const now = this.clock();
    const action = this.actionId(actionType);
    const agent = this.agent(agentId);
    this.recordScore(cohort, riskScore);
    let first: AnomalyAlert | null = null;

    // Frequency: actions in the last window; score 1 − limit/(2·count): 0.5 at the limit, 0.75 at twice it, 0.9 at five times.
    const recent = agent.recordTime(now, now - o.frequencyWindowSeconds * 1000);
    if (recent >= o.frequencyBurstThreshold) {
      const score = 1 - o.frequencyBurstThreshold / (2 * recent);
      first ??= this.alert(
        agent,
        'frequency',
        agentId,
        cohort,
        score,
        0.5,
        now,
        `${recent} actions in ${o.frequencyWindowSeconds} s`,
        {
          actions: recent,
          windowSeconds: o.frequencyWindowSeconds,
          burstThreshold: o.frequencyBurstThreshold,
        },
      );
    }

    // Sequence: score the agent's latest n-gram against everyone's recent n-grams, then add it.
    agent.push(action);
    const n = o.sequenceN;
    if (agent.length >= n) {
      const cap = agent.actions.length;
      const offset = (agent.head - n + cap) % cap;
      const model = this.sequenceModel;
      if (model.size >= o.sequenceWarmup) {
        const score = model.score(agent.actions, offset, cap);
        if (score >= o.sequenceThreshold) {
          const alert = this.alert(
            agent,
            'sequence',
            agentId,
            cohort,
            score,
            o.sequenceThreshold,
            now,
            'rare action sequence',
            {
              ngram: Array.from(
                { length: n },
                (_, k) => this.actionNames[agent.actions[(offset + k) % cap]!],
              ),
              count: model.count(agent.actions, offset, cap),
              windowNgrams: model.size,
            },
          );
          first ??= alert;
        }
      }
      model.add(agent.actions, offset, cap);
    }

    // Behavioural: concentration and normalised entropy of the agent's recent actions.
    if (agent.length >= o.behaviorMinActions) {
      const conc = agent.concentration();
      const hn = agent.normalizedEntropy();
      if (conc > o.concentrationThreshold || hn < o.entropyThreshold) {
        const score = Math.max(conc, 1 - hn);
        const alert = this.alert(
          agent,
          'behavioral',
          agentId,
          cohort,
          score,
          Math.max(o.concentrationThreshold, 1 - o.entropyThreshold),
          now,
          'repetitive behaviour',
          {
            concentration: conc,
            normalizedEntropy: hn,
            distinctActions: agent.distinct,
            windowActions: agent.length,
          },
        );
        first ??= alert;
      }
    }

    if (o.driftCheckEvery > 0) {
      const c = this.cohorts.get(cohort)!;
      if (c.baseline && c.n >= o.driftCheckEvery) this.checkDrift(cohort);
    }
    return first;
  }

  /** Sets the reference distribution of risk scores for a cohort (10-bin histogram). */
  setBaseline(scores: ArrayLike<number>, cohort = 'default'): void {
    if (scores.length === 0) throw new ValidationError('scores', 'at least one baseline risk score', 0);
    this.cohort(cohort).baseline = histogram(scores);
  }

  /**
   * Compares the risk scores recorded since the last check with the baseline. Needs a baseline
   * and at least `driftMinSamples` scores (otherwise returns null and keeps the scores); clears
   * the current scores after comparing.
   */
  checkDrift(cohort = 'default'): DriftReport | null {
    const c = this.cohorts.get(cohort);
    const o = this.options;
    if (!c?.baseline || c.n < o.driftMinSamples) return null;
    const m = driftMetrics(c.baseline, c.current);
    const n = c.n;
    const current = Array.from(c.current);
    c.current.fill(0);
    c.n = 0;
    const drift = m.psi > o.psiThreshold || m.kl > o.klThreshold || m.js > o.jsThreshold;
    let severity: AlertSeverity | null = null;
    let alert: AnomalyAlert | null = null;
    if (drift) {
      severity =
        m.psi > 0.5 || m.kl > 0.3 || m.js > 0.25
          ? 'critical'
          : m.psi > 0.3 || m.kl > 0.15 || m.js > 0.18
            ? 'warning'
            : 'info';
      const now = this.clock();
      if (now - c.lastAlert >= o.alertCooldownSeconds * 1000) {
        c.lastAlert = now;
        alert = this.emit({
          alertId: this.newId(),
          timestamp: new Date(now).toISOString(),
          anomalyType: 'distributional',
          severity,
          agentId: '*',
          cohort,
          anomalyScore: Math.max(m.psi, m.kl, m.js),
          threshold: Math.min(o.psiThreshold, o.klThreshold, o.jsThreshold),
          description: `risk-score distribution drifted (PSI ${m.psi.toFixed(3)}, KL ${m.kl.toFixed(3)}, JS ${m.js.toFixed(3)})`,
          evidence: { ...m, n, baseline: Array.from(c.baseline), current },
          autoEscalated: severity === 'critical',
          quarantineRecommended: false,
        });
      }
    }
    return { cohort, ...m, n, drift, severity, alert };
  }

  /** Forgets one agent's state (e.g. when it is retired). */
  forgetAgent(agentId: string): boolean {
    return this.agents.delete(agentId);
  }

  private actionId(action: string): number {
    let id = this.actionIds.get(action);
    if (id === undefined) {
      id = this.actionNames.length;
      this.actionNames.push(action);
      this.actionIds.set(action, id);
    }
    return id;
  }

  /**
   * The agent's state, created if new. Beyond maxAgents the least recently active tenth of the
   * agents is forgotten at once (a sort every maxAgents/10 new agents, instead of LRU
   * bookkeeping on every call).
   */
  private agent(agentId: string): AgentState {
    let s = this.agents.get(agentId);
    if (s === undefined) {
      s = new AgentState(this.options.historySize, this.timeCapacity, this.cLogC);
      if (this.agents.size >= this.options.maxAgents) this.evictAgents();
      this.agents.set(agentId, s);
    }
    s.lastSeen = ++this.tick;
    return s;
  }

  private evictAgents(): void {
    const max = this.options.maxAgents;
    const keep = max - Math.max(1, Math.floor(max / 10));
    const byAge = [...this.agents].sort((a, b) => a[1].lastSeen - b[1].lastSeen);
    for (let i = 0; i < byAge.length - keep; i++) this.agents.delete(byAge[i]![0]);
  }

  private cohort(name: string): CohortState {
    let c = this.cohorts.get(name);
    if (c === undefined) {
      c = {
        baseline: null,
        current: new Float64Array(DRIFT_BINS),
        n: 0,
        lastAlert: Number.NEGATIVE_INFINITY,
      };
      this.cohorts.set(name, c);
      if (this.cohorts.size > this.options.maxCohorts) this.cohorts.delete(this.cohorts.keys().next().value!);
    }
    return c;
  }

  private recordScore(cohort: string, score: number): void {
    const c = this.cohort(cohort);
    c.current[binOf(score)]!++;
    c.n++;
  }

  private alert(
    agent: AgentState,
    type: AnomalyType,
    agentId: string,
    cohort: string,
    score: number,
    threshold: number,
    now: number,
    description: string,
    evidence: Record<string, unknown>,
  ): AnomalyAlert | null {
    let last = agent.lastAlert.get(cohort);
    if (last === undefined) {
      last = new Float64Array(ALERT_TYPES.length).fill(Number.NEGATIVE_INFINITY);
      agent.lastAlert.set(cohort, last);
    }
    const k = ALERT_TYPES.indexOf(type);
    if (now - last[k]! < this.options.alertCooldownSeconds * 1000) return null;
    last[k] = now;
    const severity = severityOf(score);
    return this.emit({
      alertId: this.newId(),
      timestamp: new Date(now).toISOString(),
      anomalyType: type,
      severity,
      agentId,
      cohort,
      anomalyScore: score,
      threshold,
      description,
      evidence,
      autoEscalated: severity === 'critical',
      quarantineRecommended: severity === 'critical',
    });
  }

  private emit(alert: AnomalyAlert): AnomalyAlert {
    const max = this.options.maxStoredAlerts;
    if (max > 0) {
      if (this.stored.length >= max) this.stored.shift();
      this.stored.push(alert);
    }
    if (this.options.alertsPath) appendFileSync(this.options.alertsPath, `${JSON.stringify(alert)}\n`);
    this.onAlert?.(alert);
    return alert;
  }
}

/** Critical at ≥ 0.9, warning at ≥ 0.75, info below. */
export function severityOf(score: number): AlertSeverity {
  return score >= 0.9 ? 'critical' : score >= 0.75 ? 'warning' : 'info';
}
