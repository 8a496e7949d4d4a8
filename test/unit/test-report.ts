// The session chart: exact structure from a known history, and clear errors for files that hold none.
import * as assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { readHistory } from "../../provider/cli/report";
import { renderSessionSvg } from "../../provider/report/svg";
import type { HistoryEntry } from "../../provider/resources/migration";

const m = (rtt: number, loss: number, mtu: number) => ({
  rttP50Ms: rtt / 2,
  rttP90Ms: rtt,
  lossRatio: loss,
  jitterMs: 0,
  throughputBps: 0,
  pathMtu: mtu,
});
const history: HistoryEntry[] = [
  {
    seq: 1,
    time: "2026-11-28T10:00:00.000Z",
    kind: "apply",
    weight: 0,
    rule: "",
    changes: [],
    reason: "shadow persona",
    metrics: m(2, 0, 1500),
  },
  {
    seq: 2,
    time: "2026-11-28T10:00:02.000Z",
    kind: "adjust",
    weight: 0.25,
    rule: "lossMedium",
    changes: ["qos.class: standard → high-throughput-data"],
    reason: "loss 12% > 3%",
    metrics: m(3, 0.12, 1500),
  },
  {
    seq: 3,
    time: "2026-11-28T10:00:04.000Z",
    kind: "adjust",
    weight: 0.5,
    rule: "pmtuBlackHole",
    changes: ["mtu: 1500 → 1400"],
    reason: "pathMtu 1400 < mtu 1500",
    metrics: m(2, 0, 1400),
  },
  {
    seq: 4,
    time: "2026-11-28T10:00:10.000Z",
    kind: "converged",
    weight: 1,
    rule: "",
    changes: [],
    reason: "quiet",
    metrics: m(2, 0, 1400),
  },
];

describe("session report (SVG)", () => {
  it("draws metrics, path MTU, the weight and one marker per adjustment", () => {
    const svg = renderSessionSvg(history, "t & <demo>");
    assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" width="960" height="\d+"/);
    assert.match(svg, /<text x="70" y="22" font-size="16" font-weight="bold">t &amp; &lt;demo&gt;<\/text>/);
    assert.equal((svg.match(/<polyline /g) ?? []).length, 5); // rtt p50, rtt p90, loss, path MTU, weight
    const labels = [
      ...svg.matchAll(/font-size="10" fill="#[0-9a-f]{6}"(?: text-anchor="end")?>([^<]+)</g),
    ].map((x) => x[1]);
    assert.deepEqual(labels, ["lossMedium", "pmtuBlackHole", "converged"]);
    assert.match(svg, /time \(s\), 0 to 10\.0/);
    // The weight line is a step function ending at the top of its panel (w = 1).
    const weight = [
      ...svg.matchAll(/<polyline fill="none" stroke="#9467bd" stroke-width="2" points="([^"]+)"/g),
    ][0][1].split(" ");
    assert.equal(weight.length, 7);
    assert.equal(weight.at(-1), `890.0,${(40 + 44 + 2 * (140 + 34)).toFixed(1)}`);
  });

  it("reads a history from stack outputs or a bare list, and names the fix otherwise", () => {
    const dir = mkdtempSync(join(tmpdir(), "np-report-"));
    try {
      writeFileSync(join(dir, "outputs.json"), JSON.stringify({ converged: true, history }));
      writeFileSync(join(dir, "list.json"), JSON.stringify(history));
      writeFileSync(join(dir, "bad.json"), JSON.stringify({ converged: true }));
      assert.equal(readHistory(join(dir, "outputs.json")).length, 4);
      assert.equal(readHistory(join(dir, "list.json")).length, 4);
      assert.throws(() => readHistory(join(dir, "bad.json")), {
        message: `${dir}/bad.json holds no session history: give a JSON array of history entries, or \`pulumi stack output --json\` of a stack that exports a Migration's history`,
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
