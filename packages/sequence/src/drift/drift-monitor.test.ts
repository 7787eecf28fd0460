import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '@anomalia/core';
import { describe, expect, it } from 'vitest';
import { type AnomalyAlert, DriftMonitor, severityOf } from './drift-monitor';

/** A monitor on a fake clock (ms), with deterministic alert ids. */
function setup(options: ConstructorParameters<typeof DriftMonitor>[0] = {}) {
  const clock = { now: Date.parse('2026-01-01T00:00:00Z') };
  let id = 0;
  const alerts: AnomalyAlert[] = [];
  const monitor = new DriftMonitor(options, {
    clock: () => clock.now,
    newId: () => `alert-${++id}`,
    onAlert: (a) => alerts.push(a),
  });
  return { monitor, clock, alerts };
}

const cycle = ['read', 'process', 'write', 'fetch', 'transform', 'load'];

describe('DriftMonitor', () => {
  it('frequency: a burst over the limit within the window alerts, with a score growing with the rate', () => {
    const { monitor, clock, alerts } = setup({ frequencyBurstThreshold: 10, frequencyWindowSeconds: 60 });
    for (let i = 0; i < 9; i++) {
      clock.now += 5000; // 12 per minute: 9 actions over 45 s, still under the limit
      expect(monitor.recordAction('a', cycle[i % 6]!, 0.1)).toBeNull();
    }
    clock.now += 1000;
    const alert = monitor.recordAction('a', cycle[3]!, 0.1)!;
    expect(alert.anomalyType).toBe('frequency');
    expect(alert.anomalyScore).toBeCloseTo(0.5, 12); // exactly at the limit
    expect(alert.severity).toBe('info');
    expect(alert.evidence.actions).toBe(10);
    // Slow actions never burst.
    const slow = setup({ frequencyBurstThreshold: 10 });
    for (let i = 0; i < 100; i++) {
      slow.clock.now += 10_000;
      slow.monitor.recordAction('b', cycle[i % 6]!, 0.1);
    }
    expect(slow.alerts.filter((a) => a.anomalyType === 'frequency')).toHaveLength(0);
    expect(alerts).toHaveLength(1);
  });

  it('sequence: after warm-up, an n-gram never seen among recent n-grams alerts; a familiar one does not', () => {
    const { monitor, clock, alerts } = setup({ sequenceWarmup: 100, frequencyBurstThreshold: 100_000 });
    for (let i = 0; i < 600; i++) {
      clock.now += 1000;
      monitor.recordAction(`agent-${i % 3}`, cycle[i % 6]!, 0.1);
    }
    expect(alerts.filter((a) => a.anomalyType === 'sequence')).toHaveLength(0);
    clock.now += 1000;
    const alert = monitor.recordAction('agent-0', 'delete', 0.9);
    expect(alert?.anomalyType).toBe('sequence');
    expect(alert?.anomalyScore).toBe(1);
    expect(alert?.severity).toBe('critical');
    // agent-0 saw read, fetch, read, fetch, ...: its last 3-gram is [read, fetch, delete].
    expect(alert?.evidence.ngram).toEqual(['read', 'fetch', 'delete']);
    expect(alert?.evidence.count).toBe(0);
    expect(alert?.quarantineRecommended).toBe(true);
    // The same rare n-gram from the same agent within the cooldown: no second alert.
    clock.now += 1000;
    expect(monitor.recordAction('agent-0', 'exfiltrate', 0.9)).toBeNull();
  });

  it('behavioural: concentration on one action and low entropy alert; varied behaviour does not', () => {
    const { monitor, clock, alerts } = setup({ sequenceWarmup: 1_000_000, frequencyBurstThreshold: 100_000 });
    for (let i = 0; i < 30; i++) {
      clock.now += 1000;
      monitor.recordAction('varied', cycle[i % 6]!, 0.1);
    }
    expect(alerts).toHaveLength(0);
    let alert: AnomalyAlert | null = null;
    for (let i = 0; i < 10 && !alert; i++) alert = monitor.recordAction('stuck', 'retry', 0.2);
    expect(alert?.anomalyType).toBe('behavioral');
    expect(alert?.evidence.concentration).toBe(1);
    expect(alert?.evidence.normalizedEntropy).toBe(0);
    expect(alert?.anomalyScore).toBe(1);
    // Low entropy without one dominant action: 9 × a, then b: concentration 0.9 > 0.8 too; use thresholds to isolate entropy.
    const e = setup({ sequenceWarmup: 1_000_000, concentrationThreshold: 0.95, entropyThreshold: 0.5 });
    let ea: AnomalyAlert | null = null;
    for (let i = 0; i < 20 && !ea; i++) ea = e.monitor.recordAction('x', i % 10 === 9 ? 'b' : 'a', 0.1);
    expect(ea?.anomalyType).toBe('behavioral');
    const h = -(0.9 * Math.log(0.9) + 0.1 * Math.log(0.1)) / Math.log(2);
    expect(ea?.evidence.normalizedEntropy).toBeCloseTo(h, 12);
    expect(ea?.evidence.concentration).toBe(0.9);
  });

  it('cooldown: one alert per (type, agent, cohort) within the cooldown, another after it', () => {
    const { monitor, clock, alerts } = setup({ sequenceWarmup: 1_000_000, alertCooldownSeconds: 300 });
    for (let i = 0; i < 50; i++) monitor.recordAction('stuck', 'retry', 0.2);
    expect(alerts.filter((a) => a.anomalyType === 'behavioral')).toHaveLength(1);
    monitor.recordAction('stuck', 'retry', 0.2, 'other-cohort');
    expect(alerts.filter((a) => a.anomalyType === 'behavioral')).toHaveLength(2);
    clock.now += 301_000;
    monitor.recordAction('stuck', 'retry', 0.2);
    expect(alerts.filter((a) => a.anomalyType === 'behavioral')).toHaveLength(3);
  });

  it('distribution drift: PSI/KL/JS against a baseline, severity, buffer cleared after a check', () => {
    const { monitor } = setup({
      sequenceWarmup: 1_000_000,
      frequencyBurstThreshold: 100_000,
      behaviorMinActions: 100_000,
    });
    const rng = new Rng(4);
    monitor.setBaseline(Array.from({ length: 1000 }, () => rng.uniform(0, 0.3)));
    expect(monitor.checkDrift()).toBeNull(); // no current scores yet
    for (let i = 0; i < 29; i++) monitor.recordAction(`a${i}`, 'read', rng.uniform(0, 0.3));
    expect(monitor.checkDrift()).toBeNull(); // fewer than 30
    monitor.recordAction('a', 'read', 0.1);
    const calm = monitor.checkDrift()!;
    expect(calm.n).toBe(30);
    expect(calm.drift).toBe(false);
    expect(calm.alert).toBeNull();
    for (let i = 0; i < 200; i++) monitor.recordAction(`b${i}`, 'read', rng.uniform(0.7, 1));
    const shifted = monitor.checkDrift()!;
    expect(shifted.drift).toBe(true);
    expect(shifted.severity).toBe('critical');
    expect(shifted.alert?.anomalyType).toBe('distributional');
    expect(shifted.alert?.anomalyScore).toBe(Math.max(shifted.psi, shifted.kl, shifted.js));
    expect(monitor.checkDrift()).toBeNull(); // cleared
    expect(monitor.checkDrift('unknown')).toBeNull();
  });

  it('checks drift automatically every driftCheckEvery scores when asked to', () => {
    const { monitor, alerts } = setup({
      driftCheckEvery: 50,
      sequenceWarmup: 1_000_000,
      behaviorMinActions: 100_000,
    });
    monitor.setBaseline(Array.from({ length: 100 }, (_, i) => (i % 10) / 50));
    for (let i = 0; i < 50; i++) monitor.recordAction(`x${i}`, 'read', 0.95);
    expect(alerts.filter((a) => a.anomalyType === 'distributional')).toHaveLength(1);
  });

  it('appends alerts to a JSONL file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'drift-'));
    const path = join(dir, 'logs', 'anomaly_alerts.jsonl');
    const { monitor } = setup({ sequenceWarmup: 1_000_000, alertsPath: path, alertCooldownSeconds: 0 });
    for (let i = 0; i < 12; i++) monitor.recordAction('stuck', 'retry', 0.2);
    const lines = (await readFile(path, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(3); // actions 10, 11 and 12
    expect(lines[0]).toMatchObject({
      alertId: 'alert-1',
      anomalyType: 'behavioral',
      agentId: 'stuck',
      cohort: 'default',
      timestamp: '2026-01-01T00:00:00.000Z',
    });
  });

  it('keeps memory bounded: at most maxAgents agents, the least recently active evicted', () => {
    const { monitor } = setup({ maxAgents: 20 });
    for (let i = 0; i < 1000; i++) {
      monitor.recordAction(`agent-${i}`, 'read', 0.1);
      monitor.recordAction('agent-keep', 'read', 0.1);
      expect(monitor.agentCount).toBeLessThanOrEqual(20);
    }
    // agent-keep stayed active, so it was never evicted: its history still holds its 1000 actions (capped at 200).
    let alert: AnomalyAlert | null = null;
    alert = monitor.recordAction('agent-keep', 'read', 0.1);
    expect(alert === null || alert.evidence.windowActions === 200).toBe(true);
    expect(monitor.forgetAgent('agent-keep')).toBe(true);
  });

  it('validates inputs and options, naming the field', () => {
    const { monitor } = setup();
    expect(() => monitor.recordAction('', 'read', 0.1)).toThrow(/agentId/);
    expect(() => monitor.recordAction('a', 'read', 1.5)).toThrow(/riskScore/);
    expect(() => monitor.recordAction('a', 'read', Number.NaN)).toThrow(/riskScore/);
    expect(() => monitor.setBaseline([])).toThrow(/scores/);
    expect(() => new DriftMonitor({ maxAgents: 0 })).toThrow(/options\.maxAgents/);
    expect([0.95, 0.8, 0.5].map(severityOf)).toEqual(['critical', 'warning', 'info']);
  });
});
