// Traffic program: an HTTP server answering `GET /bytes/N` with N bytes (web objects, video segments).
// Usage: node http-server.js --host ADDR --port N
import { createServer } from "node:http";

import { args, onStop } from "./common";

const a = args(process.argv.slice(2), ["port"], ["host"]);
const chunk = Buffer.alloc(64 * 1024, 0x61);

const server = createServer((req, res) => {
  const m = /^\/bytes\/(\d{1,9})$/.exec(req.url ?? "");
  if (req.method !== "GET" || !m) {
    res.writeHead(404).end();
    return;
  }
  let left = Number(m[1]);
  res.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(left) });
  const pump = () => {
    while (left > 0) {
      const n = Math.min(left, chunk.length);
      left -= n;
      if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
        res.once("drain", pump);
        return;
      }
    }
    res.end();
  };
  pump();
});
server.keepAliveTimeout = 30_000;
server.listen(a.port, String(a.host ?? "0.0.0.0"));
onStop(() => server.close());
