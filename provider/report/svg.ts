// An SVG chart of a migration session: latency and loss, path MTU, the blend weight, and a marker with its
// rule for every adjustment, over time. Pure: history in, SVG text out.
import type { HistoryEntry } from "../resources/migration";

const W = 960;
const PAD = { left: 70, right: 70, top: 40 };
const PANEL_H = 140;
const GAP = 34;

interface Panel {
  title: string;
  y0: number;
}

function esc(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);
}

function polyline(points: [number, number][], color: string, dash = ""): string {
  if (points.length === 0) return "";
  const d = points.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(" ");
  return `<polyline fill="none" stroke="${color}" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ""} points="${d}"/>`;
}

function axis(p: Panel, max: number, unit: string, side: "left" | "right", color: string): string {
  const x = side === "left" ? PAD.left : W - PAD.right;
  const anchor = side === "left" ? "end" : "start";
  const dx = side === "left" ? -6 : 6;
  const ticks = [0, 0.5, 1].map((f) => {
    const y = p.y0 + PANEL_H - f * PANEL_H;
    return `<text x="${x + dx}" y="${y + 4}" font-size="11" fill="${color}" text-anchor="${anchor}">${+(max * f).toFixed(max * f < 10 ? 1 : 0)}${unit}</text>`;
  });
  return ticks.join("");
}

function frame(p: Panel): string {
  const grid = [0.25, 0.5, 0.75].map((f) => {
    const y = p.y0 + PANEL_H * f;
    return `<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${y}" y2="${y}" stroke="#eee"/>`;
  });
  return `<rect x="${PAD.left}" y="${p.y0}" width="${W - PAD.left - PAD.right}" height="${PANEL_H}" fill="none" stroke="#999"/>${grid.join("")}<text x="${PAD.left}" y="${p.y0 - 8}" font-size="13" font-weight="bold">${esc(p.title)}</text>`;
}

/** Renders the session history (Migration.history) as a standalone SVG document. */
export function renderSessionSvg(
  history: readonly HistoryEntry[],
  title = "netpersona migration session",
): string {
  const times = history.map((h) => Date.parse(h.time));
  const t0 = Math.min(...times);
  const span = Math.max(1, Math.max(...times) - t0);
  const x = (t: number) => PAD.left + ((t - t0) / span) * (W - PAD.left - PAD.right);
  const panels: Panel[] = ["Latency (RTT p50/p90) and loss", "Path MTU", "Blend weight and adjustments"].map(
    (t, i) => ({
      title: t,
      y0: PAD.top + 44 + i * (PANEL_H + GAP),
    }),
  );
  const H = panels[2].y0 + PANEL_H + 60;
  const measured = history.filter((h) => h.metrics);
  const rttMax = Math.max(1, ...measured.map((h) => h.metrics!.rttP90Ms)) * 1.1;
  const lossMax = Math.max(0.05, ...measured.map((h) => h.metrics!.lossRatio)) * 1.1;
  const mtus = measured.map((h) => h.metrics!.pathMtu).filter((m) => m > 0);
  const mtuMax = Math.max(1500, ...mtus);
  const y = (p: Panel, v: number, max: number) => p.y0 + PANEL_H - (v / max) * PANEL_H;
  const at = (h: HistoryEntry) => x(Date.parse(h.time));

  const [lat, mtu, wgt] = panels;
  const parts: string[] = [];
  parts.push(
    frame(lat),
    axis(lat, rttMax, " ms", "left", "#1f77b4"),
    axis(lat, lossMax * 100, "%", "right", "#d62728"),
  );
  parts.push(
    polyline(
      measured.map((h) => [at(h), y(lat, h.metrics!.rttP50Ms, rttMax)]),
      "#1f77b4",
    ),
  );
  parts.push(
    polyline(
      measured.map((h) => [at(h), y(lat, h.metrics!.rttP90Ms, rttMax)]),
      "#1f77b4",
      "5,3",
    ),
  );
  parts.push(
    polyline(
      measured.map((h) => [at(h), y(lat, h.metrics!.lossRatio, lossMax)]),
      "#d62728",
    ),
  );
  parts.push(frame(mtu), axis(mtu, mtuMax, "", "left", "#2ca02c"));
  parts.push(
    polyline(
      measured.filter((h) => h.metrics!.pathMtu > 0).map((h) => [at(h), y(mtu, h.metrics!.pathMtu, mtuMax)]),
      "#2ca02c",
    ),
  );
  parts.push(frame(wgt), axis(wgt, 1, "", "left", "#9467bd"));
  const steps: [number, number][] = [];
  for (const h of history) {
    if (steps.length) steps.push([at(h), steps[steps.length - 1][1]]);
    steps.push([at(h), y(wgt, h.weight, 1)]);
  }
  parts.push(polyline(steps, "#9467bd"));
  const marks = history.filter(
    (h) => h.changes.length > 0 || ["rollback", "give-up", "converged", "feedback-lost"].includes(h.kind),
  );
  marks.forEach((h, i) => {
    const mx = at(h);
    const color =
      h.kind === "converged"
        ? "#2ca02c"
        : h.kind === "rollback" || h.kind === "give-up"
          ? "#d62728"
          : "#ff7f0e";
    const label = h.kind === "converged" ? "converged" : h.rule || h.kind;
    parts.push(
      `<line x1="${mx}" x2="${mx}" y1="${lat.y0}" y2="${wgt.y0 + PANEL_H}" stroke="${color}" stroke-dasharray="2,3"/>`,
    );
    const end = mx > W - PAD.right - 60; // labels near the right edge end at their line
    const ly = wgt.y0 + PANEL_H + 14 + (i % 3) * 12;
    const anchor = end ? ' text-anchor="end"' : "";
    parts.push(
      `<text x="${end ? mx - 3 : mx + 3}" y="${ly}" font-size="10" fill="${color}"${anchor}>${esc(label)}</text>`,
    );
  });
  const secs = span / 1000;
  parts.push(
    `<text x="${W / 2}" y="${H - 8}" font-size="11" text-anchor="middle">time (s), 0 to ${secs.toFixed(1)}</text>`,
  );
  const legend = [
    ["#1f77b4", "RTT p50 (solid) / p90 (dashed)"],
    ["#d62728", "loss"],
    ["#2ca02c", "path MTU"],
    ["#9467bd", "blend weight"],
    ["#ff7f0e", "adjustment (rule)"],
  ]
    .map(([c, t], i) => {
      const lx = PAD.left + [0, 230, 300, 400, 510][i];
      return `<rect x="${lx}" y="${PAD.top - 8}" width="10" height="10" fill="${c}"/><text x="${lx + 14}" y="${PAD.top + 1}" font-size="11">${esc(t)}</text>`;
    })
    .join("");
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${PAD.left}" y="22" font-size="16" font-weight="bold">${esc(title)}</text>`,
    legend,
    ...parts,
    "</svg>",
    "",
  ].join("\n");
}
