import type { MinuteCount } from '../../metrics/cas-metrics';
import { html, type Html } from '../html';

const MINUTE_MS = 60_000;
/** The chart's span: the current minute and the 59 before it. */
export const CHART_MINUTES = 60;

/** One line of a chart: its values by minute (oldest first) and how it is drawn. */
export interface ChartSeries {
  label: string;
  /** A class of the page's CSS naming its colour (stroke and legend swatch). */
  className: string;
  /** Drawn dashed, so the lines differ by more than their colour. */
  dashed?: boolean;
  values: number[];
}

/**
 * The cluster's counts per minute over the last hour, oldest first: the minutes of every node
 * summed (each node's heartbeat carries its own, `minute` being the minute's start in UTC); a
 * minute no node reported is zeros.
 */
export function clusterMinutes(perNode: MinuteCount[][], now: Date): MinuteCount[] {
  const current = Math.floor(now.getTime() / MINUTE_MS);
  const first = current - CHART_MINUTES + 1;
  const minutes: MinuteCount[] = [];
  for (let i = first; i <= current; i++) minutes.push({ minute: new Date(i * MINUTE_MS).toISOString(), logins: 0, loginFailures: 0, validations: 0 });
  for (const counts of perNode) {
    for (const c of counts) {
      const index = Math.floor(Date.parse(c.minute) / MINUTE_MS) - first;
      if (!(index >= 0 && index < CHART_MINUTES)) continue;
      const m = minutes[index];
      m.logins += c.logins;
      m.loginFailures += c.loginFailures;
      m.validations += c.validations;
    }
  }
  return minutes;
}

/** The smallest of 1, 2, 5, 10, 20, 50, … at least `n` (and at least 1): the top of the axis. */
export function axisTop(n: number): number {
  for (let scale = 1; ; scale *= 10) {
    for (const step of [1, 2, 5]) if (step * scale >= n) return step * scale;
  }
}

// The drawing's own units: the chart is scaled to its column (about 440 px on a desktop, 330 on a
// phone), so its 14-unit labels read at 10–13 px.
const W = 480;
const H = 200;
const LEFT = 34;
const RIGHT = 22;
const TOP = 12;
const BOTTOM = 30;

/**
 * A line chart of per-minute series over the last hour as inline SVG: no script, no library, and
 * nothing the CSP has to allow (presentation attributes and the page's CSS classes only). It is an
 * image to assistive technology, labelled by its title and by `summary`; the figures themselves are
 * in the table the page puts beside it.
 */
export function minuteChart(id: string, title: string, summary: string, minutes: string[], series: ChartSeries[]): Html {
  const plotW = W - LEFT - RIGHT;
  const plotH = H - TOP - BOTTOM;
  const top = axisTop(Math.max(0, ...series.flatMap((s) => s.values)));
  const x = (i: number) => LEFT + (i * plotW) / (CHART_MINUTES - 1);
  const y = (v: number) => TOP + plotH - (v / top) * plotH;
  // Counts are whole: the middle line only where it is a whole number too.
  const grid = (top % 2 ? [0, top] : [0, top / 2, top]).map(
    (v) => html`<line class="chart-grid" x1="${LEFT}" x2="${W - RIGHT}" y1="${y(v)}" y2="${y(v)}"/><text class="chart-axis" x="${LEFT - 6}" y="${y(v) + 5}" text-anchor="end">${v}</text>`,
  );
  // The minutes' clock times (UTC), to match against logs and alerts.
  const ticks = [0, 15, 30, 45, 59].map(
    (i) => html`<text class="chart-axis" x="${x(i)}" y="${H - 8}" text-anchor="${i === 0 ? 'start' : i === 59 ? 'end' : 'middle'}">${minutes[i]?.slice(11, 16)}</text>`,
  );
  const lines = series.map(
    (s) =>
      html`<polyline class="chart-line ${s.className}" fill="none" stroke-width="2" stroke-linejoin="round"${s.dashed ? html` stroke-dasharray="6 4"` : ''} points="${s.values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ')}"/>`,
  );
  return html`<svg class="chart" viewBox="0 0 ${W} ${H}" role="img" aria-labelledby="${id}-title ${id}-desc" focusable="false"><title id="${id}-title">${title}</title><desc id="${id}-desc">${summary}</desc>${grid}${ticks}${lines}</svg>`;
}
