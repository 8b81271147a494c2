import { Dashboard } from './dashboard';

const COL = 50;
const ROW = 30;
const PAD = 4;
const HEADER = 40;

const COLORS: Record<string, { fill: string; stroke: string; badge: string }> = {
  stat: { fill: '#e8f3ea', stroke: '#3d8b4f', badge: '#3d8b4f' },
  timeseries: { fill: '#e7eef8', stroke: '#3b6fb6', badge: '#3b6fb6' },
  table: { fill: '#f6efe2', stroke: '#b07a1f', badge: '#b07a1f' },
};

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Splits a title into lines of at most `max` characters, at spaces where possible. */
function wrap(text: string, max: number): string[] {
  const words = text.split(' ');
  const lines: string[] = [];
  let cur = '';
  for (const w of words) {
    if (cur && (cur + ' ' + w).length > max) {
      lines.push(cur);
      cur = w;
    } else {
      cur = cur ? `${cur} ${w}` : w;
    }
  }
  if (cur) lines.push(cur);
  return lines;
}

/**
 * An SVG picture of a dashboard's layout: every panel at its grid position (24 columns),
 * with its title, type and unit. For documentation; convert to PNG with `rsvg-convert`.
 */
export function dashboardLayoutSvg(d: Dashboard): string {
  const bottom = Math.max(...d.panels.map((p) => p.gridPos.y + p.gridPos.h));
  const width = 24 * COL;
  const height = HEADER + bottom * ROW + PAD;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, Arial, sans-serif">`);
  out.push(`<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`);
  out.push(`<text x="${PAD * 2}" y="26" font-size="18" font-weight="bold" fill="#222">${esc(d.title)}</text>`);
  const vars = (d.templating.list as Array<{ name: string }>).map((v) => `$${v.name}`).join('  ');
  out.push(`<text x="${width - PAD * 2}" y="26" font-size="13" text-anchor="end" fill="#555">variables: ${esc(vars)}</text>`);
  for (const p of d.panels) {
    const c = COLORS[p.type] ?? COLORS.timeseries;
    const x = p.gridPos.x * COL + PAD;
    const y = HEADER + p.gridPos.y * ROW + PAD;
    const w = p.gridPos.w * COL - 2 * PAD;
    const h = p.gridPos.h * ROW - 2 * PAD;
    out.push(`<rect x="${x}" y="${y}" width="${w}" height="${h}" rx="6" fill="${c.fill}" stroke="${c.stroke}" stroke-width="1.5"/>`);
    const maxChars = Math.max(8, Math.floor((w - 16) / 8));
    const lines = wrap(p.title, maxChars).slice(0, 3);
    lines.forEach((line, i) => {
      out.push(`<text x="${x + 8}" y="${y + 20 + i * 17}" font-size="14" font-weight="bold" fill="#1d1d1d">${esc(line)}</text>`);
    });
    // the metrics the panel reads, without the scope prefix (numRestarts, Heap_Used, ...)
    const metrics = [...new Set(p.targets.flatMap((t) => t.expr.match(/\b(?:flink_[A-Za-z0-9_]+|vector)(?=[{(])/g) ?? [])
      .map((n) => n.replace(/^flink_jobmanager_Status_JVM_/, 'JM ').replace(/^flink_taskmanager_Status_JVM_/, 'TM ')
        .replace(/^flink_(jobmanager_job_|jobmanager_|taskmanager_job_task_operator_|taskmanager_job_task_|taskmanager_)/, '')))];
    const room = Math.max(0, Math.floor((h - 20 - lines.length * 17 - 34) / 15));
    wrap(metrics.join(', '), Math.floor((w - 16) / 6.6)).slice(0, room).forEach((line, i) => {
      out.push(`<text x="${x + 8}" y="${y + 22 + lines.length * 17 + i * 15}" font-size="11" fill="#555">${esc(line)}</text>`);
    });
    const unit = String(p.fieldConfig.defaults.unit);
    out.push(`<rect x="${x + 8}" y="${y + h - 24}" width="${p.type.length * 7.5 + 12}" height="17" rx="3" fill="${c.badge}"/>`);
    out.push(`<text x="${x + 14}" y="${y + h - 11}" font-size="11" fill="#ffffff">${esc(p.type)}</text>`);
    out.push(`<text x="${x + w - 8}" y="${y + h - 11}" font-size="11" text-anchor="end" fill="#444">unit: ${esc(unit)} · #${p.id}</text>`);
  }
  out.push('</svg>');
  return out.join('\n') + '\n';
}
