import { launchChromium } from '@anomalia/test-browser';

export interface RenderedPlot {
  id: string;
  width: number;
  height: number;
  marks: number;
}

/** Opens a report file and measures every plot: its SVG's rendered size and the number of drawn marks. */
export async function inspectReport(
  path: string,
): Promise<{ title: string; plots: RenderedPlot[]; errors: string[] }> {
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    await page.goto(`file://${path}`);
    const plots = await page.$$eval('figure.plot', (figs) =>
      figs.map((f) => {
        const svg = f.querySelector('svg');
        const box = svg?.getBoundingClientRect();
        return {
          id: f.getAttribute('data-plot') ?? '',
          width: box?.width ?? 0,
          height: box?.height ?? 0,
          marks: svg
            ? svg.querySelectorAll(
                '.mark-line path, .mark-rect path, .mark-symbol path, .mark-rule line, .mark-text text, .mark-area path',
              ).length
            : 0,
        };
      }),
    );
    return { title: await page.title(), plots, errors };
  } finally {
    await browser.close();
  }
}
