// PathProbes on loopback (real UDP sockets, no root): a session's first decision waits for a probe that was
// answered or timed out, so a silent peer reads as loss, never as a clean 0 %.
import { strict as assert } from "node:assert";
import dgram from "node:dgram";

import { PathProbes } from "../../provider/agent/session/probes";

describe("session path probes", () => {
  let silent: dgram.Socket;
  let port: number;
  before(async () => {
    // Bound, so the kernel sends no port-unreachable; it never answers.
    silent = dgram.createSocket("udp4");
    await new Promise<void>((resolve) => silent.bind(0, "127.0.0.1", resolve));
    port = silent.address().port;
  });
  after(() => silent.close());

  it("firstDecided waits out the probe timeout of a peer that never answers; the summary then says 100 % loss", async () => {
    const probes = new PathProbes({
      peer: "127.0.0.1",
      port,
      spacingMs: 20,
      windowMs: 2000,
      timeoutMs: 300,
      pmtuEveryMs: 0,
    });
    try {
      await probes.start();
      // Before: what the first decision saw, every probe pending.
      assert.equal((await probes.summary()).lossRatio, 0);
      const started = Date.now();
      await probes.firstDecided(new AbortController().signal);
      assert.ok(Date.now() - started >= 200, `returned after ${Date.now() - started} ms`);
      const m = await probes.summary();
      assert.deepEqual([m.lossRatio, m.rttP90Ms], [1, 0]);
    } finally {
      await probes.stop();
    }
  });

  it("firstDecided returns on abort", async () => {
    const probes = new PathProbes({ peer: "127.0.0.1", port, spacingMs: 20, windowMs: 2000, pmtuEveryMs: 0 });
    try {
      await probes.start();
      const abort = new AbortController();
      setTimeout(() => abort.abort(), 50);
      const started = Date.now();
      await probes.firstDecided(abort.signal);
      assert.ok(Date.now() - started < 900, `returned after ${Date.now() - started} ms`);
    } finally {
      await probes.stop();
    }
  });
});
