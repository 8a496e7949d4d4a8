// Entry point of the rollback watchdog outside the agent bundle: `node watchdog-main.js STATE_DIR APPLY_ID`
// (started detached by startWatchdog; the bundle runs the same code as `netpersona-agent.js --safe-apply-watchdog`).
import { runWatchdog } from "./watchdog";

const [dir, id] = process.argv.slice(2);
runWatchdog(dir, id);
