// The provider profile's summary (bench/profile/summarise.ts) adds up every part of a directory and charges
// each sample's time to its function and to the package its code lives in.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

import { summarise } from "../../bench/profile/summarise";

const frame = (id: number, functionName: string, url: string) => ({
  id,
  callFrame: { functionName, url, lineNumber: 9 },
});

describe("provider profile summary", () => {
  it("adds the parts up by function and by package, idle apart", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "netpersona-prof-"));
    try {
      const nodes = [
        frame(1, "(idle)", ""),
        frame(2, "check", "file:///p/node_modules/pulumi-netpersona/dist/provider/resources/agent.js"),
        frame(3, "write", "file:///p/node_modules/@grpc/grpc-js/build/src/call.js"),
      ];
      const part = (samples: number[]) => ({
        nodes,
        startTime: 0,
        endTime: 0,
        samples,
        timeDeltas: samples.map(() => 1000),
      });
      writeFileSync(path.join(dir, "provider-1.0.cpuprofile"), JSON.stringify(part([1, 1, 2, 3])));
      writeFileSync(path.join(dir, "provider-1.1.cpuprofile"), JSON.stringify(part([2, 2, 1, 1])));
      const text = summarise(dir, 2);
      assert.match(text, /^profiled 0\.0 s of the provider process/);
      assert.match(text, / 50\.0 % {2}0\.00 s {2}\(idle\)/);
      assert.match(text, / 37\.5 % {2}0\.00 s {2}netpersona provider/);
      assert.match(text, / 12\.5 % {2}0\.00 s {2}@grpc\/grpc-js/);
      assert.match(
        text,
        /top 2 functions by self time:\n +50\.0 % +4 ms {2}\(idle\) \n +37\.5 % +3 ms {2}check pulumi-netpersona\/dist\/provider\/resources\/agent\.js:10/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
