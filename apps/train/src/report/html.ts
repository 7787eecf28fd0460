/** HTML building blocks of the report: escaping, number formatting, tables, pass/fail cells. */
export const esc = (s: unknown) =>
  String(s).replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );

export const fmt = (v: number | null | undefined, digits = 3) =>
  v === null || v === undefined || !Number.isFinite(v)
    ? '–'
    : Number.isInteger(v) || Math.abs(v) >= 1000
      ? v.toFixed(0)
      : v.toFixed(digits);

export function table(headers: string[], rows: Array<Array<string | number>>): string {
  return `<table><thead><tr>${headers.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${typeof c === 'number' ? fmt(c) : c}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

export const passCell = (p: boolean | null) =>
  p === null
    ? '<span class="na">n/a</span>'
    : p
      ? '<span class="pass">pass</span>'
      : '<span class="fail">fail</span>';
