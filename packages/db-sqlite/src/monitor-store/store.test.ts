import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { runAndKill } from '../test-support/crash';
import { tempDir } from '../testing/fixtures';
import { alertKey, NotAMonitorStoreError, openMonitorStore } from './store';
import type { AlertInput, CommitInput } from './types';

const tmp = tempDir();
afterAll(() => tmp.cleanup());
let fileNo = 0;
const freshStore = () => openMonitorStore(tmp.path(`state-${++fileNo}.sqlite`));

const RANK: Record<string, number> = { low: 1, medium: 2, high: 3, critical: 4 };

function alert(recordId: string, band: string, patient: string, sinks = ['log']): AlertInput {
  const energy = { low: 0.6, medium: 1.2, high: 2.0, critical: 2.8 }[band]!;
  return {
    recordId,
    subject: patient,
    energy,
    severity: energy,
    band,
    bandRank: RANK[band]!,
    action: band === 'critical' ? 'page' : 'log',
    tier: band === 'critical' ? 'middle' : null,
    maliciousProbability: null,
    responseLabel: band === 'critical' ? '15–30 min' : 'days',
    deadlineAt: null,
    occurredAt: 1_000,
    labels: { patient, band },
    detail: { features: { mu: energy } },
    deliveries: sinks.map((sink) => ({
      sink,
      route: 'default',
      groupKey: `patient=${patient}`,
      groupLabels: { patient },
    })),
  };
}

function commit(over: Partial<CommitInput>): CommitInput {
  return {
    source: 'site-a',
    model: { name: 'ebm', version: '3' },
    at: 5_000,
    watermark: null,
    scores: [],
    alerts: [],
    ...over,
  };
}

const build = (alerts: readonly { key: string }[]) => ({ keys: alerts.map((a) => a.key) });

describe('openMonitorStore', () => {
  it('creates a store, reopens it with its data, and refuses files that are not monitor stores', () => {
    const path = tmp.path('reopen.sqlite');
    const store = openMonitorStore(path);
    store.commitScored(commit({ watermark: '42', alerts: [alert('1', 'high', 'P1')] }));
    store.close();
    const again = openMonitorStore(path);
    expect(again.watermark('site-a')).toBe('42');
    expect(again.alertByKey(alertKey('site-a', '1', 'ebm', '3'))?.band).toBe('high');
    again.close();

    const other = tmp.path('source.sqlite');
    const db = new Database(other);
    db.exec('CREATE TABLE TrackTreatment (TTX_ID INTEGER PRIMARY KEY)');
    db.close();
    const before = readFileSync(other);
    expect(() => openMonitorStore(other)).toThrow(NotAMonitorStoreError);
    expect(readFileSync(other).equals(before)).toBe(true);
    expect(existsSync(`${other}-wal`)).toBe(false);
    expect(() => openMonitorStore(other)).toThrow(/\(no monitor_meta table\); refusing to write/);
    const text = tmp.path('notes.txt');
    writeFileSync(text, 'x'.repeat(4096));
    expect(() => openMonitorStore(text)).toThrow(/not an SQLite file/);
    expect(() => openMonitorStore(':memory:')).toThrow(/state.path: expected a plain file path/);
  });
});

describe('openMonitorStore by several processes at once', () => {
  it('creates one store that every process opens (the workers of a distributed monitor starting together)', async () => {
    for (let round = 0; round < 4; round++) {
      const path = tmp.path(`together-${round}.sqlite`);
      // Far enough ahead that all four have started (tsx) and spin until the same instant.
      const at = Date.now() + 2500;
      const outcomes = await Promise.all(
        [0, 1, 2, 3].map(() => runAndKill(['open', path, String(at)], null)),
      );
      for (const o of outcomes) expect(o.stderr).toBe('');
      expect(outcomes.map((o) => o.code)).toEqual([0, 0, 0, 0]);
      // One store: every process read the same id.
      expect(new Set(outcomes.map((o) => o.stdout.trim())).size).toBe(1);
      const store = openMonitorStore(path);
      expect(store.storeId()).toBe(outcomes[0]!.stdout.trim());
      store.close();
    }
  }, 120_000);
});

describe('commitScored', () => {
  it('keys alerts by (source, record, model, version): a re-score queues nothing, a worse band escalates', () => {
    const store = freshStore();
    const first = store.commitScored(
      commit({
        watermark: 'w1',
        scores: [
          { recordId: '1', energy: 0.6, band: 'low', occurredAt: 1_000 },
          { recordId: '2', energy: 0.1, band: 'normal', occurredAt: 1_000 },
        ],
        alerts: [alert('1', 'low', 'P1', ['log', 'pager'])],
      }),
    );
    expect(first).toEqual({
      scored: 2,
      alertsCreated: 1,
      alertsEscalated: 0,
      alertsUnchanged: 0,
      deliveriesQueued: 2,
      bandsCreated: { low: 1 },
      bandsEscalated: {},
    });
    expect(store.watermark('site-a')).toBe('w1');

    const same = store.commitScored(
      commit({ watermark: 'w2', alerts: [alert('1', 'low', 'P1', ['log', 'pager'])] }),
    );
    expect(same).toMatchObject({
      alertsCreated: 0,
      alertsEscalated: 0,
      alertsUnchanged: 1,
      deliveriesQueued: 0,
      bandsCreated: {},
      bandsEscalated: {},
    });
    const lower = store.commitScored(commit({ alerts: [alert('1', 'low', 'P1')] }));
    expect(lower.alertsUnchanged).toBe(1);

    const worse = store.commitScored(
      commit({ at: 6_000, alerts: [alert('1', 'critical', 'P1', ['log', 'pager'])] }),
    );
    expect(worse).toMatchObject({ alertsEscalated: 1, deliveriesQueued: 2, bandsEscalated: { critical: 1 } });
    const a = store.alertByKey(alertKey('site-a', '1', 'ebm', '3'))!;
    expect(a).toMatchObject({
      band: 'critical',
      revision: 2,
      state: 'open',
      detectedAt: 5_000,
      updatedAt: 6_000,
    });
    // The revision-1 deliveries that were never sent are superseded: only the escalation goes out.
    const groups = store.pendingGroups('log');
    expect(groups).toEqual([expect.objectContaining({ pending: 1, groupLabels: { patient: 'P1' } })]);

    // Another model version is another alert.
    const v4 = store.commitScored(
      commit({ model: { name: 'ebm', version: '4' }, alerts: [alert('1', 'low', 'P1')] }),
    );
    expect(v4.alertsCreated).toBe(1);
    expect(store.counts()).toMatchObject({ scores: 2, alerts: 2 });
    store.close();
  });

  it('writes nothing when any part of a batch fails (scores, alerts and watermark move together)', () => {
    const store = freshStore();
    store.commitScored(commit({ watermark: 'w1' }));
    const bad = alert('9', 'high', 'P9');
    (bad as { detail: unknown }).detail = { n: 10n }; // JSON.stringify throws inside the transaction
    expect(() =>
      store.commitScored(
        commit({
          watermark: 'w2',
          scores: [{ recordId: '8', energy: 0.2, band: 'normal', occurredAt: null }],
          alerts: [alert('8', 'low', 'P8'), bad],
        }),
      ),
    ).toThrow(/BigInt/);
    expect(store.watermark('site-a')).toBe('w1');
    expect(store.counts()).toMatchObject({ scores: 0, alerts: 0, deliveries: 0 });
    store.close();
  });

  it('validates its input, naming the field, and refuses prototype keys', () => {
    const store = freshStore();
    expect(() => store.commitScored(commit({ source: 'a b' }))).toThrow(
      /commit.source: expected a name of letters, digits, _ . -/,
    );
    expect(() =>
      store.commitScored(
        commit({ scores: [{ recordId: '1', energy: Number.NaN, band: 'x', occurredAt: null }] }),
      ),
    ).toThrow(/commit.scores\[0\].energy/);
    const polluted = JSON.parse('{"recordId":"1","__proto__":{"x":1}}');
    expect(() => store.commitScored(commit({ scores: [polluted] }))).toThrow(/commit.scores\[0\].__proto__/);
    store.close();
  });
});

describe('notifications', () => {
  it('freezes a group into one notification, inhibits, retries and settles it', () => {
    const store = freshStore();
    store.commitScored(
      commit({ alerts: [alert('1', 'critical', 'P1'), alert('2', 'medium', 'P1'), alert('3', 'low', 'P1')] }),
    );
    const [group] = store.pendingGroups('log');
    expect(group).toMatchObject({
      route: 'default',
      groupKey: 'patient=P1',
      pending: 3,
      lastNotifiedAt: null,
    });
    const n = store.formNotification({
      id: 'n1',
      sink: 'log',
      route: 'default',
      groupKey: 'patient=P1',
      at: 7_000,
      isInhibited: (a) => a.band === 'low',
      build,
    })!;
    // Members ordered most severe first; the inhibited one is left out and marked.
    expect(n.payload).toEqual({
      keys: [alertKey('site-a', '1', 'ebm', '3'), alertKey('site-a', '2', 'ebm', '3')],
    });
    expect(n).toMatchObject({ status: 'pending', attempts: 0, nextAttemptAt: 7_000, kind: 'firing' });
    expect(store.notificationAlerts('n1').map((a) => a.recordId)).toEqual(['1', '2']);
    expect(store.pendingGroups('log')).toEqual([]);
    expect(store.backlog()).toEqual([
      { sink: 'log', queued: 0, pending: 1, dead: 0, oldestAt: 7_000, nextAttemptAt: 7_000 },
    ]);

    expect(store.dueNotifications('log', 6_999)).toEqual([]);
    expect(store.markFailed('n1', { at: 7_100, error: 'HTTP 503', nextAttemptAt: 9_000 })).toBe(true);
    expect(store.notification('n1')).toMatchObject({
      attempts: 1,
      lastError: 'HTTP 503',
      nextAttemptAt: 9_000,
    });
    expect(store.dueNotifications('log', 8_000)).toEqual([]);
    expect(store.nextAttemptAt('log')).toBe(9_000);
    expect(store.sinkStates()[0]).toMatchObject({
      sink: 'log',
      consecutiveFailures: 1,
      lastError: 'HTTP 503',
    });

    expect(store.dueNotifications('log', 9_000).map((x) => x.id)).toEqual(['n1']);
    expect(store.markDelivered('n1', 9_050)).toBe(true);
    expect(store.markDelivered('n1', 9_060)).toBe(false); // settled once only
    expect(store.notification('n1')).toMatchObject({ status: 'delivered', attempts: 2, deliveredAt: 9_050 });
    expect(store.sinkStates()[0]).toMatchObject({ consecutiveFailures: 0, lastSuccessAt: 9_050 });
    expect(store.backlog()).toEqual([]);

    // The next alert of the group knows when the group was last notified.
    store.commitScored(commit({ at: 10_000, alerts: [alert('4', 'high', 'P1')] }));
    expect(store.pendingGroups('log')[0]).toMatchObject({ pending: 1, lastNotifiedAt: 7_000 });
    store.close();
  });

  it('gives up on a notification only when told to, keeping it as dead', () => {
    const store = freshStore();
    store.commitScored(commit({ alerts: [alert('1', 'high', 'P1')] }));
    store.formNotification({ id: 'n1', sink: 'log', route: 'default', groupKey: 'patient=P1', at: 1, build });
    store.markFailed('n1', { at: 2, error: 'HTTP 400', nextAttemptAt: 3, dead: true });
    expect(store.dueNotifications('log', 10)).toEqual([]);
    expect(store.backlog()).toEqual([
      { sink: 'log', queued: 0, pending: 0, dead: 1, oldestAt: null, nextAttemptAt: null },
    ]);
    store.close();
  });

  it('repeats open delivered alerts until they are acknowledged, and audits who acknowledged', () => {
    const store = freshStore();
    store.commitScored(commit({ alerts: [alert('1', 'critical', 'P1'), alert('2', 'high', 'P2')] }));
    for (const g of store.pendingGroups('log')) {
      const n = store.formNotification({
        id: `n-${g.groupKey}`,
        sink: 'log',
        route: g.route,
        groupKey: g.groupKey,
        at: 100,
        build,
      })!;
      store.markDelivered(n.id, 110);
    }
    expect(store.repeatableGroups('log', ['other'])).toEqual([]);
    const groups = store.repeatableGroups('log', ['default']);
    expect(groups.map((g) => [g.groupKey, g.open, g.lastNotifiedAt])).toEqual([
      ['patient=P1', 1, 100],
      ['patient=P2', 1, 100],
    ]);
    const r = store.formRepeatNotification({
      id: 'r1',
      sink: 'log',
      route: 'default',
      groupKey: 'patient=P1',
      at: 500,
      build,
    })!;
    expect(r).toMatchObject({ kind: 'repeat', payload: { keys: [alertKey('site-a', '1', 'ebm', '3')] } });
    // While the reminder is pending the group is not repeatable again.
    expect(store.repeatableGroups('log', ['default']).map((g) => g.groupKey)).toEqual(['patient=P2']);

    const p2 = store.alertByKey(alertKey('site-a', '2', 'ebm', '3'))!;
    const acked = store.setAlertState(p2.id, {
      state: 'acknowledged',
      actor: 'dr.physicist',
      at: 600,
      note: 'checked',
    });
    expect(acked).toMatchObject({
      state: 'acknowledged',
      stateBy: 'dr.physicist',
      stateAt: 600,
      stateNote: 'checked',
    });
    expect(store.repeatableGroups('log', ['default'])).toEqual([]);
    expect(store.auditLog({ alertId: p2.id })).toEqual([
      {
        id: 1,
        at: 600,
        actor: 'dr.physicist',
        action: 'state:acknowledged',
        alertId: p2.id,
        detail: { from: 'open', note: 'checked' },
      },
    ]);
    expect(() => store.setAlertState(999, { state: 'resolved', actor: 'x', at: 1 })).toThrow(
      /alertId: expected the id/,
    );
    expect(() => store.setAlertState(p2.id, { state: 'closed' as 'resolved', actor: 'x', at: 1 })).toThrow(
      /change.state/,
    );
    expect(store.openAlerts(['critical']).map((a) => a.recordId)).toEqual(['1']);
    expect(store.openAlertLabels(['critical', 'high'])).toEqual([
      {
        id: store.alertByKey(alertKey('site-a', '1', 'ebm', '3'))!.id,
        band: 'critical',
        labels: { patient: 'P1', band: 'critical' },
      },
    ]);
    // inTransaction: all or nothing across several store calls.
    expect(() =>
      store.inTransaction(() => {
        store.recordAction({ at: 700, actor: 'x', action: 'note' });
        throw new Error('abort');
      }),
    ).toThrow('abort');
    expect(store.auditLog()).toHaveLength(1);
    store.close();
  });
});

describe('report queries', () => {
  it('selects scores and alerts by record time, falling back to scoring time', () => {
    const store = freshStore();
    store.commitScored(
      commit({
        at: 50_000,
        scores: [
          { recordId: '1', energy: 0.1, band: 'normal', occurredAt: 10_000 },
          { recordId: '2', energy: null, band: 'invalid', occurredAt: null },
        ],
        alerts: [alert('1', 'low', 'P1')],
      }),
    );
    expect(store.scoresBetween(0, 20_000).map((s) => s.recordId)).toEqual(['1']);
    expect(store.scoresBetween(20_000, 60_000)).toEqual([
      {
        source: 'site-a',
        recordId: '2',
        model: { name: 'ebm', version: '3' },
        energy: null,
        band: 'invalid',
        occurredAt: null,
        scoredAt: 50_000,
      },
    ]);
    expect(store.alertsBetween(0, 2_000).map((a) => a.recordId)).toEqual(['1']);
    store.close();
  });
});

describe('dashboard queries', () => {
  it('orders the review queue by band, then deadline (none last), then detection; filters by state', () => {
    const store = freshStore();
    const withDeadline = (a: AlertInput, deadlineAt: number | null): AlertInput => ({ ...a, deadlineAt });
    store.commitScored(
      commit({
        at: 1_000,
        alerts: [
          withDeadline(alert('1', 'high', 'P1'), 90_000),
          withDeadline(alert('2', 'high', 'P2'), null),
          withDeadline(alert('3', 'high', 'P3'), 30_000),
          withDeadline(alert('4', 'critical', 'P4'), 600_000),
          withDeadline(alert('5', 'low', 'P5'), 10_000),
        ],
      }),
    );
    store.commitScored(commit({ at: 2_000, alerts: [withDeadline(alert('6', 'high', 'P6'), null)] }));
    expect(store.reviewQueue().map((a) => a.recordId)).toEqual(['4', '3', '1', '2', '6', '5']);
    const three = store.alertByKey(alertKey('site-a', '3', 'ebm', '3'))!;
    const five = store.alertByKey(alertKey('site-a', '5', 'ebm', '3'))!;
    store.setAlertState(three.id, { state: 'acknowledged', actor: 'alice', at: 3_000 });
    store.setAlertState(five.id, { state: 'resolved', actor: 'bob', at: 3_000, note: 'fixed' });
    expect(store.reviewQueue().map((a) => [a.recordId, a.state])).toEqual([
      ['4', 'open'],
      ['3', 'acknowledged'],
      ['1', 'open'],
      ['2', 'open'],
      ['6', 'open'],
    ]);
    expect(store.reviewQueue({ states: ['resolved'] }).map((a) => a.recordId)).toEqual(['5']);
    expect(store.reviewQueue({ limit: 2 }).map((a) => a.recordId)).toEqual(['4', '3']);
    expect(() => store.reviewQueue({ states: ['closed' as never] })).toThrow(/reviewQueue.states\[0\]/);
    expect(store.alertCounts()).toEqual([
      { band: 'critical', state: 'open', alerts: 1 },
      { band: 'high', state: 'acknowledged', alerts: 1 },
      { band: 'high', state: 'open', alerts: 3 },
      { band: 'low', state: 'resolved', alerts: 1 },
    ]);
    store.close();
  });

  it('sums scores per time bucket and band, with invalid records counted without energies', () => {
    const store = freshStore();
    const hour = 3_600_000;
    store.commitScored(
      commit({
        at: 10 * hour,
        scores: [
          { recordId: '1', energy: 0.1, band: 'normal', occurredAt: 2 * hour + 5 },
          { recordId: '2', energy: 0.3, band: 'normal', occurredAt: 2 * hour + 600_000 },
          { recordId: '3', energy: 2.6, band: 'critical', occurredAt: 2 * hour + 9 },
          { recordId: '4', energy: 0.2, band: 'normal', occurredAt: 3 * hour },
          { recordId: '5', energy: null, band: 'invalid', occurredAt: 3 * hour + 1 },
          { recordId: '6', energy: 0.9, band: 'low', occurredAt: hour - 1 },
        ],
      }),
    );
    const rows = store.energyTimeline(hour, 4 * hour, hour);
    expect(
      rows.map((r) => ({ ...r, meanEnergy: r.meanEnergy === null ? null : +r.meanEnergy.toFixed(6) })),
    ).toEqual([
      { bucketStart: 2 * hour, band: 'critical', records: 1, maxEnergy: 2.6, meanEnergy: 2.6 },
      { bucketStart: 2 * hour, band: 'normal', records: 2, maxEnergy: 0.3, meanEnergy: 0.2 },
      { bucketStart: 3 * hour, band: 'invalid', records: 1, maxEnergy: null, meanEnergy: null },
      { bucketStart: 3 * hour, band: 'normal', records: 1, maxEnergy: 0.2, meanEnergy: 0.2 },
    ]);
    expect(() => store.energyTimeline(0, 1, 0)).toThrow(/energyTimeline.bucketMs/);
    store.close();
  });
});

describe('the range ledger (distributed mode)', () => {
  const plan = (
    store: ReturnType<typeof freshStore>,
    id: string,
    start: string | null,
    end: string,
    ids: string[],
  ) => store.planRange({ id, source: 'site-a', stream: 'changes', start, end, ids, at: 1_000 });

  it('plans contiguous ranges once per cursor position: a retried plan gets the first range, a stale one a conflict', () => {
    const store = freshStore();
    expect(store.streamCursor('site-a', 'changes')).toBeNull();
    const first = plan(store, 'r1', null, '3', ['1', '2', '3']);
    expect(first.status).toBe('created');
    expect(first.range).toMatchObject({
      id: 'r1',
      seq: 1,
      start: null,
      end: '3',
      ids: ['1', '2', '3'],
      committedAt: null,
    });
    expect(store.streamCursor('site-a', 'changes')).toBe('3');
    // A retried poll saw one more record (end 4): it still gets the range planned from null.
    const again = plan(store, 'r1-bis', null, '4', ['1', '2', '3', '4']);
    expect(again).toMatchObject({ status: 'existing', range: { id: 'r1', end: '3' }, cursor: '3' });
    expect(store.range('r1-bis')).toBeNull();
    // A planner still at an old position that has no range is told where the cursor is.
    expect(plan(store, 'rx', '2', '5', ['5'])).toEqual({ status: 'conflict', range: null, cursor: '3' });
    expect(plan(store, 'r2', '3', '5', ['4', '5']).range).toMatchObject({ seq: 2, start: '3' });
    expect(() => plan(store, 'r3', '5', '5', ['6'])).toThrow(/range\.end/);
    expect(() => plan(store, 'r3', '5', '6', [])).toThrow(/range\.ids/);
    store.close();
  });

  it('commits a range once (duplicates absorbed and counted) and moves the watermark over contiguous commits only', () => {
    const store = freshStore();
    plan(store, 'r1', null, '2', ['1', '2']);
    plan(store, 'r2', '2', '4', ['3', '4']);
    plan(store, 'r3', '4', '6', ['5', '6']);
    const scores = (ids: string[]) =>
      ids.map((recordId) => ({ recordId, energy: 0.1, band: 'normal', occurredAt: 1 }));
    // r2 first: r1 is still open, so the watermark stays where it was.
    const r2 = store.commitRange(
      'r2',
      commit({ scores: scores(['3', '4']), alerts: [alert('4', 'high', 'P4')] }),
    );
    expect(r2).toMatchObject({ duplicate: false, scored: 2, alertsCreated: 1, deliveriesQueued: 1 });
    expect(store.watermark('site-a')).toBeNull();
    expect(
      store.commitRange('r2', commit({ scores: scores(['3', '4']), alerts: [alert('4', 'high', 'P4')] })),
    ).toMatchObject({
      duplicate: true,
      scored: 0,
      alertsCreated: 0,
      deliveriesQueued: 0,
    });
    store.commitRange('r1', commit({ scores: scores(['1', '2']) }));
    expect(store.watermark('site-a')).toBe('4');
    // Records outside the range are refused, and nothing of that commit is written.
    expect(() => store.commitRange('r3', commit({ scores: scores(['5', '7']) }))).toThrow(
      /commit\.scores\[1\]\.recordId/,
    );
    expect(store.range('r3')!.committedAt).toBeNull();
    expect(() => store.commitRange('nope', commit({}))).toThrow(/rangeId/);
    // An idle advance while r3 is open moves the cursor only; committing r3 then takes the watermark to it.
    expect(store.advanceCursor('site-a', 'changes', '6', '9', 2_000)).toBe(true);
    expect(store.advanceCursor('site-a', 'changes', '6', '10', 2_000)).toBe(false);
    expect(store.watermark('site-a')).toBe('4');
    store.commitRange('r3', commit({ scores: scores(['5', '6']) }));
    expect(store.watermark('site-a')).toBe('9');
    expect(store.counts()).toMatchObject({ scores: 6, alerts: 1, deliveries: 1 });
    expect(store.streamSummaries()).toEqual([
      {
        source: 'site-a',
        stream: 'changes',
        cursor: '9',
        ranges: 3,
        open: 0,
        records: 6,
        scored: 6,
        duplicateCommits: 1,
        oldestOpenAt: null,
      },
    ]);
    expect(store.pruneRanges(10_000)).toBe(3);
    expect(store.streamCursor('site-a', 'changes')).toBe('9');
    store.close();
  });

  it('starts the changes stream at the watermark the single-process mode left, other streams at their beginning', () => {
    const store = freshStore();
    store.commitScored(commit({ watermark: '41' }));
    expect(store.streamCursor('site-a', 'changes')).toBe('41');
    expect(store.streamCursor('site-a', 'backfill/x')).toBeNull();
    expect(
      store.planRange({
        id: 'b1',
        source: 'site-a',
        stream: 'backfill/x',
        start: null,
        end: 'p1',
        ids: ['1'],
        at: 1,
      }).status,
    ).toBe('created');
    expect(store.openRanges('site-a', 'backfill/x').map((r) => r.id)).toEqual(['b1']);
    expect(store.openRanges('site-a', 'backfill/x', { createdBefore: 1 })).toEqual([]);
    expect(store.staleRanges(2).map((r) => r.id)).toEqual(['b1']);
    expect(store.staleRanges(1)).toEqual([]);
    expect(store.openRangeCount('site-a', 'backfill/')).toBe(1);
    expect(store.openRangeCount('site-a', 'changes')).toBe(0);
    expect(store.openRangeCount('site-b')).toBe(0);
    // Committing a backfill range leaves the source's watermark alone.
    store.commitRange(
      'b1',
      commit({ scores: [{ recordId: '1', energy: 0.2, band: 'normal', occurredAt: 1 }] }),
    );
    expect(store.watermark('site-a')).toBe('41');
    // A stream with no range (an empty backfill window) counts nothing open.
    expect(store.advanceCursor('site-a', 'backfill/empty', null, '~end', 5)).toBe(true);
    expect(store.streamSummaries('backfill/empty')).toEqual([
      {
        source: 'site-a',
        stream: 'backfill/empty',
        cursor: '~end',
        ranges: 0,
        open: 0,
        records: 0,
        scored: 0,
        duplicateCommits: 0,
        oldestOpenAt: null,
      },
    ]);
    store.close();
  });

  it('migrates a version-1 store (the ledger tables and a store id are added, data kept)', () => {
    const path = tmp.path('v1.sqlite');
    const store = openMonitorStore(path);
    store.commitScored(commit({ watermark: '7', alerts: [alert('1', 'low', 'P1')] }));
    store.close();
    const db = new Database(path);
    db.exec(`DROP TABLE ranges; DROP TABLE range_cursors; DELETE FROM monitor_meta WHERE key = 'store_id';
      UPDATE monitor_meta SET value = '1' WHERE key = 'schema_version'`);
    db.close();
    const again = openMonitorStore(path);
    expect(again.storeId()).toMatch(/^[0-9a-f-]{36}$/);
    expect(again.watermark('site-a')).toBe('7');
    expect(again.streamSummaries()).toEqual([]);
    again.close();
    const meta = new Database(path, { readonly: true });
    expect(meta.prepare(`SELECT value FROM monitor_meta WHERE key = 'schema_version'`).pluck().get()).toBe(
      '2',
    );
    meta.close();
    // The id is stable across opens.
    const third = openMonitorStore(path);
    const id = third.storeId();
    third.close();
    const fourth = openMonitorStore(path);
    expect(fourth.storeId()).toBe(id);
    fourth.close();
  });

  it('serialises planners on two connections to one file: one range per cursor position', () => {
    const path = tmp.path('two-handles.sqlite');
    const a = openMonitorStore(path);
    const b = openMonitorStore(path);
    const results = [a, b, a, b].map((s, i) =>
      s.planRange({
        id: `r${i}`,
        source: 'site-a',
        stream: 'changes',
        start: null,
        end: '5',
        ids: ['1'],
        at: 1,
      }),
    );
    expect(results.map((r) => r.status)).toEqual(['created', 'existing', 'existing', 'existing']);
    expect(new Set(results.map((r) => r.range!.id))).toEqual(new Set(['r0']));
    a.close();
    b.close();
  });
});
