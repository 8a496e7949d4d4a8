// Loads the agent API at run time from the descriptor set embedded in gen/descriptor.ts (generated from
// proto/ by scripts/gen-proto.sh), so neither the daemon bundle nor the provider needs .proto files on disk.
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

import type { ProtoGrpcType } from "./gen/agent";
import { AGENT_DESCRIPTOR_SET_BASE64 } from "./gen/descriptor";
import type { AgentClient, AgentDefinition } from "./gen/netpersona/agent/v1/Agent";

/** The options the generated types were made for (scripts/gen-proto.sh passes the same flags). */
export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

export interface AgentApi {
  /** The service definition, for `server.addService`. */
  service: AgentDefinition;
  /** The client constructor: `new Client(target, credentials, options)`. */
  Client: new (
    address: string,
    credentials: grpc.ChannelCredentials,
    options?: grpc.ClientOptions,
  ) => AgentClient;
}

let cached: AgentApi | undefined;

export function loadAgentApi(): AgentApi {
  if (!cached) {
    const set = Buffer.from(AGENT_DESCRIPTOR_SET_BASE64, "base64");
    const def = protoLoader.loadFileDescriptorSetFromBuffer(set, LOADER_OPTIONS);
    const pkg = grpc.loadPackageDefinition(def) as unknown as ProtoGrpcType;
    const Agent = pkg.netpersona.agent.v1.Agent;
    cached = { service: Agent.service, Client: Agent as unknown as AgentApi["Client"] };
  }
  return cached;
}
