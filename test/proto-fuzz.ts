// Fuzzing helpers for the agent's gRPC service, driven by its descriptor set (proto/ → provider/proto/gen):
// for any method of netpersona.agent.v1.Agent, arbitraries of request bytes — valid-shaped messages with
// hostile values, hand-made wire encodings with wrong wire types and unknown fields, truncated and random
// bytes, and messages over the agent's size limit — and a raw call that sends those bytes as they are
// (pass-through serializer) and reports how the call ended. A new RPC in the .proto is fuzzed with no
// change here.
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import fc from "fast-check";

import { AGENT_DESCRIPTOR_SET_BASE64 } from "../provider/proto/gen/descriptor";
import { LOADER_OPTIONS } from "../provider/proto/load";
import { SERVER_LIMITS } from "../provider/agent/rpc/limits";

const PACKAGE = "netpersona.agent.v1";
const DEFS = protoLoader.loadFileDescriptorSetFromBuffer(
  Buffer.from(AGENT_DESCRIPTOR_SET_BASE64, "base64"),
  LOADER_OPTIONS,
);

/** Every method of the service, by name (new RPCs included). */
export const SERVICE = DEFS[`${PACKAGE}.Agent`] as protoLoader.ServiceDefinition;

interface FieldDesc {
  name: string;
  number: number;
  label: string;
  type: string;
  typeName: string;
}

function definition(typeName: string): { field?: FieldDesc[]; value?: { name: string; number: number }[] } {
  const name = typeName.replace(/^\./, "");
  const d = (DEFS[name] ?? DEFS[`${PACKAGE}.${name}`]) as
    protoLoader.MessageTypeDefinition<object, object> | undefined;
  if (!d) throw new Error(`no type ${typeName} in the agent's descriptor set`);
  return d.type as { field?: FieldDesc[]; value?: { name: string; number: number }[] };
}

/** Words the agent knows, so that shaped messages are sometimes valid and reach deep into the handlers. */
const WORDS = [
  ...["", "bbr", "cubic", "reno", "route", "link", "both", "standard", "telephony", "low-latency-data"],
  ...["10.0.0.1", "192.0.2.7", "fd00::1", "::ffff:10.0.0.1", "0.0.0.0", "10.20.0.0/16", "0.0.0.0/0"],
  ...["lo", "eth0", "timeout:1", "example.org", "fz-1", "fz-2", "127.0.0.1:1", "[::1]:7443", "a:99999"],
  ...["{}", "[]", "null", "1e999", '{"latency":{"highMs":-1}}', '{"__proto__":{"polluted":true}}'],
  "[".repeat(5000) + "]".repeat(5000),
  '{"a":'.repeat(3000) + "1" + "}".repeat(3000),
];

/** Long strings: some under the agent's 1 MiB message limit (the handlers' own bounds), some over it. */
const hugeString = fc.integer({ min: 1_000, max: 800_000 }).map((n) => "\u00e9x".repeat(n >> 1));
const shortStrings = fc.oneof(
  { weight: 2, arbitrary: fc.constantFrom(...WORDS.filter((w) => w.length < 100)) },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 40 }) },
);
const strings = fc.oneof(
  { weight: 12, arbitrary: fc.constantFrom(...WORDS) },
  { weight: 6, arbitrary: fc.string({ unit: "binary", maxLength: 40 }) },
  { weight: 1, arbitrary: hugeString },
);
const u32 = fc.oneof(
  fc.constantFrom(0, 1, 99, 100, 101, 576, 1280, 3600, 3601, 9000, 65535, 65536, 2 ** 31, 2 ** 32 - 1),
  fc.integer({ min: 0, max: 2 ** 32 - 1 }),
  fc.integer({ min: -(2 ** 31), max: -1 }), // wraps to a huge uint32 on the wire
);
const i64 = (signed: boolean) =>
  fc
    .oneof(
      fc.constantFrom(0n, 1n, 2n ** 53n + 1n, signed ? -(2n ** 63n) : 2n ** 64n - 1n),
      signed
        ? fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })
        : fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
    )
    .map(String);

/** A field's value; `small` (inside a long repeated field) keeps it to a few bytes. */
function scalar(f: FieldDesc, depth: number, small: boolean): fc.Arbitrary<unknown> {
  switch (f.type) {
    case "TYPE_STRING":
      return small ? shortStrings : strings;
    case "TYPE_BYTES":
      return fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b));
    case "TYPE_BOOL":
      return fc.boolean();
    case "TYPE_DOUBLE":
    case "TYPE_FLOAT":
      return fc.oneof(fc.double(), fc.constantFrom(NaN, Infinity, -Infinity, -0, 1e308, 0.5, 1));
    case "TYPE_INT64":
    case "TYPE_SINT64":
    case "TYPE_SFIXED64":
      return i64(true);
    case "TYPE_UINT64":
    case "TYPE_FIXED64":
      return i64(false);
    case "TYPE_ENUM": {
      const values = definition(f.typeName).value ?? [];
      return fc.oneof(
        fc.constantFrom(...values.map((v) => v.name)),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
      );
    }
    case "TYPE_MESSAGE":
      return depth >= 3 || (small && depth >= 1) ? fc.constant({}) : shaped(f.typeName, depth + 1, small);
    default: // int32, uint32, sint32, fixed32, sfixed32
      return u32;
  }
}

function fieldValue(f: FieldDesc, depth: number, small: boolean): fc.Arbitrary<unknown> {
  const one = scalar(f, depth, small);
  if (f.label !== "LABEL_REPEATED") return one;
  if (small) return fc.array(one, { maxLength: 2 });
  const many = fc.tuple(scalar(f, depth, true), fc.integer({ min: 17, max: 100_000 }));
  return fc.oneof(
    { weight: 8, arbitrary: fc.array(one, { maxLength: 4 }) },
    // Many small entries: some under the agent's 1 MiB message limit (the handlers' own bounds), some over.
    { weight: 1, arbitrary: many.map(([v, n]) => new Array<unknown>(n).fill(v)) },
  );
}

/** Personas the agent accepts, so that some applies, plans and sessions go all the way (random fields alone
 *  almost never make a valid one). No DNS: the lab host has no resolver at a made-up address, so safe apply's
 *  DNS probe would roll every such apply back. */
const validPersona = fc.record(
  {
    congestion_control: fc.constantFrom("cubic", "bbr", "reno"),
    mtu: fc.integer({ min: 1280, max: 1500 }),
    mtu_scope: fc.constantFrom("route", "link", "both"),
    qos: fc.record({ class: fc.constantFrom("standard", "telephony", "low-latency-data") }),
  },
  { requiredKeys: [] },
);

/** A message of the type (as a plain object for the method's serializer), every field present or not. */
export function shaped(typeName: string, depth = 0, small = false): fc.Arbitrary<Record<string, unknown>> {
  const fields = definition(typeName).field ?? [];
  const model: Record<string, fc.Arbitrary<unknown>> = {};
  for (const f of fields) model[f.name] = fieldValue(f, depth, small);
  const any = fc.record(model, { requiredKeys: [] });
  return typeName === "Persona" && !small
    ? fc.oneof({ weight: 3, arbitrary: any }, { weight: 2, arbitrary: validPersona })
    : any;
}

// ---- Wire level: protobuf encoding by hand, so that the bytes need not follow the schema.

function varint(v: bigint): Buffer {
  const out: number[] = [];
  let x = BigInt.asUintN(64, v);
  do {
    const b = Number(x & 0x7fn);
    x >>= 7n;
    out.push(x > 0n ? b | 0x80 : b);
  } while (x > 0n);
  return Buffer.from(out);
}

const WIRE_OF: Record<string, number> = {
  TYPE_DOUBLE: 1,
  TYPE_FIXED64: 1,
  TYPE_SFIXED64: 1,
  TYPE_FLOAT: 5,
  TYPE_FIXED32: 5,
  TYPE_SFIXED32: 5,
  TYPE_STRING: 2,
  TYPE_BYTES: 2,
  TYPE_MESSAGE: 2,
};

function wireField(fields: FieldDesc[], depth: number): fc.Arbitrary<Buffer> {
  const known = fields.length > 0 ? fc.constantFrom(...fields) : fc.constant(undefined);
  return fc
    .tuple(
      fc.oneof({ weight: 4, arbitrary: known }, { weight: 1, arbitrary: fc.constant(undefined) }),
      fc.integer({ min: 1, max: 2 ** 29 - 1 }),
      fc.oneof(
        { weight: 3, arbitrary: fc.constant(-1) },
        { weight: 1, arbitrary: fc.integer({ min: 0, max: 7 }) },
      ),
      fc.oneof(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n }), fc.constantFrom(0n, 1n, -1n)),
      fc.oneof(
        { weight: 3, arbitrary: fc.uint8Array({ maxLength: 48 }).map((b) => Buffer.from(b)) },
        { weight: 2, arbitrary: fc.constantFrom(...WORDS).map((w) => Buffer.from(w)) },
        { weight: 1, arbitrary: fc.constant(Buffer.from([0xc3, 0x28, 0xed, 0xa0, 0x80, 0xff])) }, // invalid UTF-8
      ),
      fc.option(fc.integer({ min: 0, max: 2 ** 32 - 1 }), { nil: undefined }), // a lying length
    )
    .chain(([field, number, wt, v, bytes, lie]) => {
      const wire = wt >= 0 ? wt : field ? (WIRE_OF[field.type] ?? 0) : 2;
      const nested: fc.Arbitrary<Buffer> =
        field?.type === "TYPE_MESSAGE" && wire === 2 && depth < 3
          ? wireMessage(field.typeName, depth + 1)
          : fc.constant(bytes);
      return nested.map((payload) => {
        const tag = varint(BigInt((field?.number ?? number) * 8 + wire));
        if (wire === 0) return Buffer.concat([tag, varint(v)]);
        if (wire === 1) return Buffer.concat([tag, payload.subarray(0, 8)]);
        if (wire === 5) return Buffer.concat([tag, payload.subarray(0, 4)]);
        if (wire === 2) return Buffer.concat([tag, varint(BigInt(lie ?? payload.length)), payload]);
        return Buffer.concat([tag, payload]); // groups (3, 4) and the invalid wire types 6 and 7
      });
    });
}

/** Bytes in the type's encoding, built field by field: known and unknown numbers, any wire type. */
export function wireMessage(typeName: string, depth = 0): fc.Arbitrary<Buffer> {
  const fields = definition(typeName).field ?? [];
  return fc.array(wireField(fields, depth), { maxLength: 6 }).map((parts) => Buffer.concat(parts));
}

export type RequestKind = "shaped" | "wire" | "truncated" | "garbage" | "oversize";

export interface FuzzRequest {
  kind: RequestKind;
  bytes: Buffer;
}

/** A request as fast-check shows it in a counterexample: the bytes in hex, long ones cut (the seed and the
 *  path reproduce them exactly). */
export function fuzzRequest(kind: RequestKind, bytes: Buffer): FuzzRequest {
  const hex =
    bytes.length <= 64
      ? bytes.toString("hex")
      : `${bytes.subarray(0, 48).toString("hex")}… (${bytes.length} B)`;
  return { kind, bytes, [fc.toStringMethod]: () => `${kind}:${hex}` } as FuzzRequest;
}

/** One request message as bytes, and how it was made (for the report). */
export function requestBytes(
  method: protoLoader.MethodDefinition<object, object>,
): fc.Arbitrary<FuzzRequest> {
  const typeName = (method.requestType.type as { name: string }).name;
  const encode = (m: object) => method.requestSerialize(m);
  const shapedBytes = shaped(typeName).map(encode);
  const tag = (kind: RequestKind) => (bytes: Buffer) => fuzzRequest(kind, bytes);
  return fc.oneof(
    { weight: 6, arbitrary: shapedBytes.map(tag("shaped")) },
    { weight: 3, arbitrary: wireMessage(typeName).map(tag("wire")) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(shapedBytes, fc.nat())
        .map(([b, n]) => (b.length > 1 ? b.subarray(0, n % b.length) : Buffer.from([0x0a, 0x05])))
        .map(tag("truncated")),
    },
    {
      weight: 1,
      arbitrary: fc
        .uint8Array({ maxLength: 300 })
        .map((b) => Buffer.from(b))
        .map(tag("garbage")),
    },
    {
      weight: 1,
      arbitrary: fc
        .integer({ min: 1, max: 512 * 1024 })
        .map((extra) =>
          Buffer.concat([
            varint(BigInt(15 * 8 + 2)),
            varint(BigInt(SERVER_LIMITS.maxReceiveBytes + extra)),
            Buffer.alloc(SERVER_LIMITS.maxReceiveBytes + extra, 0x61),
          ]),
        )
        .map(tag("oversize")),
    },
  );
}

/** How a call ended: its status, whether the test cut it, and the first response's bytes (if any). */
export interface Outcome {
  code: grpc.status;
  details: string;
  /** The test cancelled the call (after the first response or its time budget). */
  cancelled: boolean;
  responses: Buffer[];
}

const pass = (b: Buffer) => b;

/** Calls `method` with the raw request bytes: unary, server-streaming (cancelled after the first message or
 *  `streamMs`), client/bidi streaming (each of `messages` written, then half-closed). */
export function rawCall(
  client: grpc.Client,
  method: protoLoader.MethodDefinition<object, object>,
  messages: Buffer[],
  deadlineMs: number,
  streamMs = 200,
): Promise<Outcome> {
  const deadline = Date.now() + deadlineMs;
  return new Promise((resolve) => {
    const responses: Buffer[] = [];
    let cancelled = false;
    let timer: NodeJS.Timeout | undefined = undefined; // set once the call is under way
    const done = (code: grpc.status, details: string) => {
      clearTimeout(timer);
      resolve({ code, details, cancelled, responses });
    };
    const onStatus = (s: grpc.StatusObject) => done(s.code, s.details);
    if (!method.requestStream && !method.responseStream) {
      client.makeUnaryRequest(
        method.path,
        pass,
        pass,
        messages[0],
        new grpc.Metadata(),
        { deadline },
        (err, res) => {
          if (res) responses.push(res);
          done(err ? err.code : grpc.status.OK, err ? err.details : "");
        },
      );
      return;
    }
    let call: grpc.ClientReadableStream<Buffer> | grpc.ClientDuplexStream<Buffer, Buffer>;
    if (!method.requestStream) {
      call = client.makeServerStreamRequest(method.path, pass, pass, messages[0], new grpc.Metadata(), {
        deadline,
      });
    } else {
      const duplex = client.makeBidiStreamRequest(method.path, pass, pass, new grpc.Metadata(), { deadline });
      for (const m of messages) duplex.write(m);
      duplex.end();
      call = duplex;
    }
    const cut = () => {
      if (cancelled) return;
      cancelled = true;
      call.cancel();
    };
    call.on("data", (b: Buffer) => {
      responses.push(b);
      cut();
    });
    call.on("error", () => undefined); // the status below says it all
    call.on("status", onStatus);
    timer = setTimeout(cut, streamMs);
  });
}
