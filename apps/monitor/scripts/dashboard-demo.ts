/**
 * The dashboard over the in-memory demo clinic, and the script that takes the README's screenshots.
 *
 *   pnpm --filter @anomalia/monitor demo:dashboard              # serve on 127.0.0.1:8080 until Ctrl-C
 *   pnpm --filter @anomalia/monitor demo:dashboard --screenshot # write docs/dashboard.png and docs/dashboard-phone.png
 *   … --screenshot --url http://127.0.0.1:8080 --token <token>  # the same shots of a running monitor (the simulator)
 *
 * The demo runs the real monitor (state store in a temp directory, service loop, triage, outbox,
 * dashboard) over the in-memory change source; a new treatment arrives every few seconds, now and
 * then a corrupted one.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { launchChromium } from '@anomalia/test-browser';
import { startTestDashboard } from '../src/testing/dashboard';
import { DEMO_MODEL, DEMO_WEIGHTS, demoRecords } from '../src/testing/demo';

const { values } = parseArgs({
  options: {
    screenshot: { type: 'boolean' },
    out: { type: 'string' },
    url: { type: 'string' },
    token: { type: 'string' },
    bind: { type: 'string' },
  },
});

async function screenshots(url: string, token: string | undefined, out: string): Promise<void> {
  mkdirSync(out, { recursive: true });
  const browser = await launchChromium();
  try {
    const shots = [
      {
        file: 'dashboard.png',
        viewport: { width: 1440, height: 1000 },
        deviceScaleFactor: 1,
        isMobile: false,
      },
      {
        file: 'dashboard-phone.png',
        viewport: { width: 390, height: 844 },
        deviceScaleFactor: 2,
        isMobile: true,
      },
    ];
    for (const shot of shots) {
      const context = await browser.newContext(shot);
      const page = await context.newPage();
      await page.goto(url);
      if (new URL(page.url()).pathname === '/login') {
        if (!token) throw new Error('the dashboard asks for a token: pass --token');
        await page.fill('#token', token);
        await Promise.all([page.waitForURL(`${url}/`), page.click('button[type=submit]')]);
      }
      await page.waitForSelector('body[data-ready="true"]');
      await page.waitForSelector('#live[data-live="on"]');
      await page.waitForFunction(() => document.getElementById('status')?.textContent !== 'status …');
      await page.waitForFunction(
        () => (document.getElementById('timeline') as HTMLImageElement).naturalWidth > 0,
      );
      await page.screenshot({ path: join(out, shot.file) });
      console.log(`wrote ${join(out, shot.file)}`);
      await context.close();
    }
  } finally {
    await browser.close();
  }
}

const out = values.out ?? fileURLToPath(new URL('../docs/', import.meta.url));
if (values.url) {
  await screenshots(values.url.replace(/\/$/, ''), values.token, out);
} else {
  const token = values.token ?? randomBytes(18).toString('base64url');
  const bind = values.screenshot ? '127.0.0.1:0' : (values.bind ?? '127.0.0.1:8080');
  const demo = await startTestDashboard({
    http: { bind, users: [{ name: 'physicist', token }] },
    model: DEMO_MODEL,
    weights: DEMO_WEIGHTS,
    pollInterval: '500ms',
  });
  const now = Date.now();
  const records = demoRecords(now);
  for (const r of records) demo.source.upsert(r);
  while (demo.store.counts().scores < records.length) await new Promise((r) => setTimeout(r, 100));
  // One alert already in review, so the queue shows both states.
  const high = demo.store.reviewQueue().find((a) => a.band === 'high');
  if (high)
    await fetch(`${demo.url}/api/alerts/${high.id}/acknowledge`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ note: 'on it: checking the plan in the TPS' }),
    });
  if (values.screenshot) {
    await screenshots(demo.url, token, out);
    await demo.stop();
  } else {
    console.log(`dashboard: ${demo.url}  (sign in with the token ${token})`);
    console.log('a new treatment arrives every 3 s, a corrupted one now and then; Ctrl-C stops');
    let i = 0;
    const more = demoRecords(Date.now() + 86_400_000, { days: 1, perDay: 2_000, seed: 7 });
    const timer = setInterval(() => {
      const r = more[i++ % more.length]!;
      demo.source.upsert({ ...r, id: `${900_000 + i}`, occurredAt: Date.now() });
    }, 3_000);
    process.once('SIGINT', async () => {
      clearInterval(timer);
      await demo.stop();
      process.exit(0);
    });
  }
}
