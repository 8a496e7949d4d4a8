// Traffic program: an HTTP/2 server (cleartext h2c, node:http2) answering `GET /bytes/N` with N bytes.
// Usage: node h2-server.js --host ADDR --port N
import { createServer } from "node:http2";

import { args, onStop } from "./common";

const a = args(process.argv.slice(2), ["port"], ["host"]);
const chunk = Buffer.alloc(64 * 1024, 0x62);

const server = createServer();
server.on("stream", (stream, headers) => {
  const m = /^\/bytes\/(\d{1,9})$/.exec(String(headers[":path"] ?? ""));
  if (!m) {
    stream.respond({ ":status": 404 });
    stream.end();
    return;
  }
  let left = Number(m[1]);
  stream.respond({ ":status": 200, "content-length": String(left) });
  const pump = () => {
    while (left > 0) {
      const n = Math.min(left, chunk.length);
      left -= n;
      if (!stream.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
        stream.once("drain", pump);
        return;
      }
    }
    stream.end();
  };
  pump();
});
server.on("error", () => undefined);
server.listen(a.port, String(a.host ?? "0.0.0.0"));
onStop(() => server.close());
