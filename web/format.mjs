// What every section of the demo page uses to show numbers.

export function fmtNs(ns) {
  if (!Number.isFinite(ns)) return '–';
  if (ns < 1e3) return `${ns.toFixed(0)} ns`;
  if (ns < 1e6) return `${(ns / 1e3).toFixed(1)} µs`;
  if (ns < 1e9) return `${(ns / 1e6).toFixed(2)} ms`;
  return `${(ns / 1e9).toFixed(2)} s`;
}

// Labelled values in a row: [[label, text], ...].
export function renderCells(el, cells) {
  el.replaceChildren(...cells.map(([k, v]) => {
    const span = document.createElement('span');
    const b = document.createElement('b');
    b.textContent = k;
    span.append(b, v);
    return span;
  }));
}
