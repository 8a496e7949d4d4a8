// Server streams as async iterables, with typed errors: breaking out of the loop cancels the call.
import * as grpc from "@grpc/grpc-js";

import type { FeedbackAck__Output } from "../../proto/gen/netpersona/agent/v1/FeedbackAck";
import type { FeedbackReport } from "../../proto/gen/netpersona/agent/v1/FeedbackReport";
import { fromServiceError } from "./errors";

export interface FeedbackChannel {
  /** Sends one report; returns false when the stream's buffer is full (wait a little). */
  send(report: FeedbackReport): boolean;
  /** Half-closes: no more reports; the acks end after the last one. */
  end(): void;
  /** The destination's acknowledgements, in order. */
  acks: AsyncIterable<FeedbackAck__Output>;
}

type Readable<T> = NodeJS.ReadableStream & AsyncIterable<T> & { cancel(): void };

export function clientStream<T>(
  open: (md: grpc.Metadata, co: grpc.CallOptions) => unknown,
  deadlineMs?: number,
): AsyncIterable<T> {
  return {
    async *[Symbol.asyncIterator]() {
      const co: grpc.CallOptions = deadlineMs ? { deadline: new Date(Date.now() + deadlineMs) } : {};
      const call = open(new grpc.Metadata(), co) as Readable<T>;
      let finished = false;
      try {
        for await (const msg of call) yield msg;
        finished = true;
      } catch (err) {
        finished = true;
        throw "code" in (err as object) ? fromServiceError(err as grpc.ServiceError) : err;
      } finally {
        if (!finished) call.cancel();
      }
    },
  };
}
