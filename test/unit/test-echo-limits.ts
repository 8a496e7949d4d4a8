// Units of issue 13 items 2 and 7 (no root, no lab): the echo responder's token bucket and its bounded map of
// sources, the allow rule (session peers, peers probed, the configured list), the responder's address when
// the agent listens on a wildcard, and the path-MTU limiter and cache bounds with an injected probe.
import { strict as assert } from "node:assert";
import dgram from "node:dgram";

import {
  chooseEchoAddress,
  createEchoAllow,
  endpointHost,
  parseAllowList,
  RecentPeers,
  type SessionPeers,
} from "../../provider/agent/session/echo-allow";
import { LIMITS } from "../../provider/agent/rpc/limits";
import { encodeProbe, startEchoResponder } from "../../provider/agent/metrics/echo";
import type { PmtuResult } from "../../provider/agent/metrics/pmtu";
import { PmtuBusyError, PmtuCache, PmtuLimiter } from "../../provider/agent/metrics/pmtu-limit";
import { SourceLimiter, TokenBucket } from "../../provider/agent/metrics/rate";
import { createMetricsSource } from "../../provider/agent/metrics/wire";

const fakeResult = (address: string): PmtuResult => ({
  address,
  linkMtu: 1500,
  device: "eth0",
  pathMtu: 1500,
  blackhole: false,
  fragNeeded: false,
  probes: [],
});

describe("echo responder limits (units)", () => {
  describe("TokenBucket", () => {
    it("gives the burst at once, then the rate, and never more than the burst after a pause", () => {
      const b = new TokenBucket({ ratePerSecond: 10, burst: 5 }, 0);
      const takes = (now: number, n: number) =>
        Array.from({ length: n }, () => b.take(now)).filter(Boolean).length;
      assert.equal(takes(0, 20), 5);
      assert.equal(takes(100, 20), 1, "10/s: one token per 100 ms");
      assert.equal(takes(550, 20), 4);
      assert.equal(takes(60_000, 20), 5, "a long pause refills to the burst only");
      assert.equal(b.fullAt(60_000), false);
      assert.equal(b.fullAt(60_500), true);
    });

    it("does not refill when the clock goes back", () => {
      const b = new TokenBucket({ ratePerSecond: 1000, burst: 1 }, 1000);
      assert.equal(b.take(1000), true);
      assert.equal(b.take(500), false);
      assert.equal(b.take(1000), false);
      assert.equal(b.take(1001), true);
    });
  });

  describe("SourceLimiter", () => {
    it("limits each source on its own", () => {
      const l = new SourceLimiter({ ratePerSecond: 100, burst: 10, maxSources: 8, idleMs: 100 });
      const count = (src: string, n: number, now: number) =>
        Array.from({ length: n }, () => l.allow(src, now)).filter(Boolean).length;
      assert.equal(count("10.0.0.1", 50, 0), 10);
      assert.equal(count("10.0.0.2", 50, 0), 10, "another source has its own bucket");
      assert.equal(count("10.0.0.1", 50, 50), 5, "100/s over 50 ms");
    });

    it("keeps at most maxSources buckets (least recently seen dropped) and forgets idle ones", () => {
      const l = new SourceLimiter({ ratePerSecond: 100, burst: 10, maxSources: 4, idleMs: 100 });
      for (let i = 0; i < 1000; i++) {
        l.allow(`10.0.${i >> 8}.${i & 255}`, 0);
        assert.ok(l.size() <= 4);
      }
      assert.equal(l.size(), 4);
      assert.equal(l.evicted, 996);
      l.allow("10.9.9.9", 1000); // the sweep at the next datagram after idleMs
      assert.equal(l.size(), 1);
    });

    it("the LIMITS figures: a bucket idle for echoSourceIdleMs is full again (forgetting it loses nothing)", () => {
      assert.ok(LIMITS.echoSourceIdleMs >= (1000 * LIMITS.echoBurst) / LIMITS.echoPerSourcePerSecond);
      const b = new TokenBucket({ ratePerSecond: LIMITS.echoPerSourcePerSecond, burst: LIMITS.echoBurst }, 0);
      for (let i = 0; i < LIMITS.echoBurst; i++) assert.equal(b.take(0), true);
      assert.equal(b.fullAt(LIMITS.echoSourceIdleMs), true);
    });
  });

  describe("the allow rule", () => {
    const session = (state: string, peerAddress: string, sourceAgent = ""): SessionPeers => ({
      state,
      peerAddress,
      sourceAgent,
    });

    it("answers peers of active sessions and their source agents' hosts, not of final ones", () => {
      let sessions: Record<string, SessionPeers> = {
        a: session("SESSION_STATE_RUNNING", "10.0.1.10", "10.0.9.10:7443"),
        b: session("SESSION_STATE_CONVERGED", "10.0.1.20", "10.0.1.20:7443"),
        c: session("SESSION_STATE_PAUSED", "fd00::5", "[fd00::6]:7443"),
        d: session("SESSION_STATE_PENDING", "10.0.1.30", "agent.example:7443"),
      };
      const allowed = createEchoAllow({
        sessions: () => sessions,
        probed: new RecentPeers(),
        configured: parseAllowList("").list,
      });
      assert.deepEqual(
        [
          "10.0.1.10",
          "10.0.9.10",
          "10.0.1.20",
          "fd00::5",
          "fd00::6",
          "10.0.1.30",
          "::ffff:10.0.1.10",
          "10.0.1.11",
          "nonsense",
        ].map(allowed),
        [true, true, false, true, true, true, true, false, false],
      );
      sessions = { ...sessions, a: session("SESSION_STATE_ABORTED", "10.0.1.10", "10.0.9.10:7443") };
      assert.equal(allowed("10.0.1.10"), false, "the set is recomputed when the sessions change");
    });

    it("answers peers probed within the TTL, and the configured list", () => {
      let now = 0;
      const probed = new RecentPeers(1000, 3);
      const allowed = createEchoAllow({
        sessions: () => ({}),
        probed,
        configured: parseAllowList("192.0.2.0/28, 2001:db8::1").list,
        now: () => now,
      });
      probed.touch("10.0.2.2", 0);
      assert.equal(allowed("10.0.2.2"), true);
      now = 999;
      assert.equal(allowed("10.0.2.2"), true);
      now = 1000;
      assert.equal(allowed("10.0.2.2"), false, "ttl over");
      assert.deepEqual(["192.0.2.15", "192.0.2.16", "2001:db8::1", "2001:db8::2"].map(allowed), [
        true,
        false,
        true,
        false,
      ]);
      for (let i = 0; i < 10; i++) probed.touch(`10.0.3.${i}`, now);
      assert.equal(probed.size(), 3, "bounded");
      assert.equal(allowed("10.0.3.9"), true);
      assert.equal(allowed("10.0.3.0"), false, "the least recently probed was dropped");
    });

    it("parses --echo-allow and refuses a bad entry naming it", () => {
      assert.deepEqual(parseAllowList(" 10.0.0.0/8 ,fd00::/16,,").entries, ["10.0.0.0/8", "fd00::/16"]);
      for (const bad of [
        "10.0.0.0/33",
        "10.0.0/8",
        "fd00::/129",
        "host.example",
        "10.0.0.1/8/1",
        "10.0.0.0/x",
      ]) {
        assert.throws(
          () => parseAllowList(bad),
          new RegExp(
            `^Error: --echo-allow: '${bad.replace(/[.*/]/g, "\\$&")}' is not an IP address or CIDR prefix`,
          ),
        );
      }
      assert.equal(endpointHost("[fd00::1]:7443"), "fd00::1");
      assert.equal(endpointHost("a.example:7443"), undefined);
    });
  });

  describe("the responder's address", () => {
    const towards = async (peer: string) =>
      peer.includes(":") ? Promise.reject(new Error("ENETUNREACH")) : "10.0.0.5";

    it("is the listen address when concrete, the default route's source on a wildcard, --echo-address first", async () => {
      assert.deepEqual(await chooseEchoAddress("10.0.0.2", undefined, towards), {
        address: "10.0.0.2",
        why: "the listen address",
      });
      assert.deepEqual(await chooseEchoAddress("0.0.0.0", undefined, towards), {
        address: "10.0.0.5",
        why: "the source address of the default route (listen is 0.0.0.0)",
      });
      assert.equal(
        (await chooseEchoAddress("::", undefined, towards)).address,
        "10.0.0.5",
        ":: falls back to IPv4",
      );
      assert.deepEqual(await chooseEchoAddress("0.0.0.0", "10.0.0.7", towards), {
        address: "10.0.0.7",
        why: "--echo-address",
      });
      await assert.rejects(
        chooseEchoAddress("0.0.0.0", "0.0.0.0", towards),
        /--echo-address: '0\.0\.0\.0' must be one concrete/,
      );
      const none = await chooseEchoAddress("::", undefined, () => Promise.reject(new Error("ENETUNREACH")));
      assert.equal(none.address, undefined);
      assert.match(none.why, /^listen is :: and there is no default route .*: give --echo-address$/);
    });

    it("the responder refuses to bind a wildcard", async () => {
      await assert.rejects(
        startEchoResponder({ address: "0.0.0.0", port: 0, allowed: () => true }),
        /will not bind the wildcard address 0\.0\.0\.0/,
      );
    });

    it("answers allowed sources within their rate and nobody else (loopback, real datagrams)", async () => {
      let allow = false;
      const r = await startEchoResponder({
        address: "127.0.0.1",
        port: 0,
        allowed: () => allow,
        rate: { ratePerSecond: 1, burst: 5, maxSources: 4, idleMs: 5000 },
      });
      const sock = dgram.createSocket("udp4");
      let answers = 0;
      sock.on("message", () => answers++);
      await new Promise<void>((resolve) => sock.bind(0, "127.0.0.1", resolve));
      const send = async (n: number) => {
        for (let i = 0; i < n; i++)
          sock.send(encodeProbe({ token: 1, seq: i, sentNs: 0n }), r.port, "127.0.0.1");
        await new Promise((resolve) => setTimeout(resolve, 200));
      };
      try {
        await send(10);
        assert.equal(answers, 0);
        allow = true;
        await send(10);
        assert.equal(answers, 5, "the burst, then nothing within 200 ms at 1/s");
        assert.deepEqual(r.counts(), { echoed: 5, ignored: 0, refused: 10, limited: 5 });
        assert.equal(r.sources(), 1);
      } finally {
        sock.close();
        await r.close();
      }
    });
  });

  describe("path-MTU probes", () => {
    it("run at most `concurrent` at once; a full queue skips with PmtuBusyError", async () => {
      const limiter = new PmtuLimiter(2, 3);
      let running = 0;
      let peak = 0;
      const release: (() => void)[] = [];
      const job = () =>
        limiter.run(async () => {
          running++;
          peak = Math.max(peak, running);
          await new Promise<void>((resolve) => release.push(resolve));
          running--;
        });
      const jobs = Array.from({ length: 5 }, job);
      await assert.rejects(
        job(),
        (e: Error) =>
          e instanceof PmtuBusyError && /^2 path-MTU probes running and 3 waiting/.test(e.message),
      );
      assert.deepEqual(limiter.state(), { running: 2, waiting: 3 });
      while (release.length > 0 || limiter.state().running > 0) {
        release.shift()?.();
        await new Promise((resolve) => setImmediate(resolve));
      }
      await Promise.all(jobs);
      assert.deepEqual([peak, limiter.peak, limiter.skipped], [2, 2, 1]);
    });

    it("the cache keeps at most maxEntries and drops results older than ttlMs", async () => {
      let now = 0;
      const limiter = new PmtuLimiter(2, 1000);
      let probes = 0;
      const cache = new PmtuCache({
        everyMs: 1000,
        maxEntries: 8,
        ttlMs: 5000,
        limiter,
        now: () => now,
        probe: async (a) => (probes++, fakeResult(a)),
      });
      for (let i = 0; i < 100; i++) {
        cache.refresh(`10.1.0.${i}`);
        assert.ok(cache.size() <= 8);
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
      assert.equal(probes, 100);
      assert.equal(cache.get("10.1.0.99")?.pathMtu, 1500);
      assert.equal(cache.get("10.1.0.0"), undefined, "dropped: least recently asked for");
      cache.refresh("10.1.0.99");
      assert.equal(probes, 100, "younger than everyMs: not measured again");
      now = 5000;
      assert.equal(cache.get("10.1.0.98"), undefined, "older than ttlMs");
      cache.refresh("10.1.0.1");
      assert.ok(cache.size() <= 2, `expired entries are swept: ${cache.size()}`);
    });

    it("StreamMetrics' source measures many distinct peers through the limiter and a bounded cache", async () => {
      const limiter = new PmtuLimiter(LIMITS.pmtuConcurrent, LIMITS.pmtuQueued);
      let running = 0;
      let peak = 0;
      const probePmtu = async (address: string) => {
        running++;
        peak = Math.max(peak, running);
        await new Promise((resolve) => setTimeout(resolve, 100));
        running--;
        return fakeResult(address);
      };
      const source = createMetricsSource({ probePmtu, pmtuLimiter: limiter, timeoutMs: 50, spacingMs: 1 });
      const signal = new AbortController().signal;
      for (let round = 0; round < 12; round++) {
        // 16 distinct loopback peers per sample (nobody answers the echo probes: only the path MTU matters).
        const peers = Array.from({ length: 16 }, (_, i) => ({
          name: `p${i}`,
          address: `127.1.${round}.${i + 1}`,
        }));
        await source.sample(peers, 1, signal);
        assert.ok(source.pmtu.size() <= LIMITS.pmtuCacheEntries, `cache ${source.pmtu.size()}`);
      }
      while (limiter.state().running > 0) await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(peak, LIMITS.pmtuConcurrent);
      assert.ok(limiter.skipped > 0, "more than the queue holds were asked for at once: some were skipped");
      assert.ok(
        source.pmtu.size() <= LIMITS.pmtuCacheEntries && source.pmtu.size() >= 16,
        `cache ${source.pmtu.size()}`,
      );
    });
  });
});
