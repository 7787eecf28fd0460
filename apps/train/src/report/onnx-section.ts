import { esc, passCell, table } from './html';
import type { ReportData } from './types';

const sci = (v: number | null) => (v === null ? '–' : v.toExponential(2));

/** The ONNX model evaluated without fitting, or the ONNX export and its parity check, as HTML sections. */
export function onnxSections(d: ReportData): string[] {
  const out: string[] = [];
  const m = d.onnx?.evaluated;
  if (m) {
    out.push(
      `<section data-section="onnx-model"><h2>ONNX model (evaluated, not fitted)</h2>${table(
        ['', ''],
        [
          ['path', `<code>${esc(m.path)}</code> (${m.form === 'artifact' ? 'onnx artifact' : 'ONNX file'})`],
          ['sha256', `<code>${esc(m.sha256)}</code>`],
          ['source', esc(m.source === 'external' ? 'made elsewhere' : `exported from ${m.source}`)],
          ['producer', esc(m.producer || 'unknown')],
          ['opset / IR', `${m.opset} / ${m.irVersion}`],
          [
            'input → score',
            `<code>${esc(m.input.name)}</code> (${esc(m.input.type)}, ${m.featureNames.length} columns) → <code>${esc(m.scoreOutput)}</code>`,
          ],
          [
            'feature names',
            esc(m.featureNamesFrom === 'model' ? "the model's own" : 'from model.featureNames'),
          ],
          ['scores are severities', m.scoresAreSeverities ? 'yes' : 'no'],
          [
            'carried threshold / calibrator',
            `${m.carried.threshold ?? '–'} / ${esc(m.carried.calibrator ?? '–')}`,
          ],
        ],
      )}</section>`,
    );
  }
  const e = d.onnx?.export;
  if (e) {
    const p = e.parity;
    out.push(`<section data-section="onnx-export"><h2>ONNX export</h2>
    <p><code>${esc(e.path)}/model.onnx</code>: opset ${e.opset}, ${esc(e.inputType)} input, ${e.bytes} bytes, sha256 <code>${esc(e.sha256)}</code>. Scored on onnxruntime-node against the model's own scores on ${esc(p.rows)}.</p>${table(
      ['check', 'value', 'bound', 'result'],
      [
        ['max |Δ score|', sci(p.maxAbsDiff), '', ''],
        [
          'max |Δ score| / max(1, |score|)',
          sci(p.maxScaledDiff),
          `≤ ${sci(p.tolerance)}`,
          passCell(p.maxScaledDiff <= p.tolerance),
        ],
        ['largest score', sci(p.maxScore), '', ''],
        [
          'decisions that differ (away from the threshold)',
          p.decisionsDiffer === null ? '–' : String(p.decisionsDiffer),
          '0',
          passCell(p.decisionsDiffer === null ? null : p.decisionsDiffer === 0),
        ],
        [
          'max |Δ probability|',
          sci(p.probabilityMaxAbsDiff),
          `≤ ${sci(p.tolerance)}`,
          passCell(p.probabilityMaxAbsDiff === null ? null : p.probabilityMaxAbsDiff <= p.tolerance),
        ],
      ],
    )}<p>Parity over ${p.n} rows: ${passCell(p.pass)}.</p></section>`);
  }
  return out;
}
