// A `--require` hook that CPU-profiles the dynamic-provider process during a benchmark (Node 20 refuses
// --cpu-prof in NODE_OPTIONS; --require is allowed): NODE_OPTIONS="--require <abs>/dist/bench/profile/provider-hook.js"
// with NETPERSONA_PROFILE_DIR=<dir>. Other processes that inherit NODE_OPTIONS (the program, the bench itself)
// are left alone. The profile is cut into 5-second parts (stop, write, start), so a provider the engine kills
// still leaves all but its last seconds; summarise.ts adds the parts up.
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector";
import path from "node:path";

const dir = process.env.NETPERSONA_PROFILE_DIR;

if (dir && process.argv.some((a) => /dynamic-provider/.test(a))) {
  const session = new Session();
  session.connect();
  session.post("Profiler.enable");
  session.post("Profiler.setSamplingInterval", { interval: 1000 });
  session.post("Profiler.start");
  let part = 0;
  // The main-thread session answers synchronously, so this works inside 'exit' too.
  const cut = (again: boolean) =>
    session.post("Profiler.stop", (err, res) => {
      if (!err && res) {
        const file = path.join(dir, `provider-${process.pid}.${part++}.cpuprofile`);
        writeFileSync(file, JSON.stringify(res.profile));
      }
      if (again) session.post("Profiler.start");
    });
  setInterval(() => cut(true), 5000).unref();
  process.on("exit", () => cut(false));
}
