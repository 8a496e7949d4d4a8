// The agent's gRPC face: the server (every handler behind one authorization interceptor and the transport
// limits), the client the provider and other agents use, the typed errors both sides speak, and the TLS
// material. Handlers live with what they serve (../persona, ../session); this folder is only the plumbing.
export { authorizationInterceptor, RPC_POLICY, type Caller } from "./authz";
export { connectAgent, type AgentConnection, type CallOptions, type ConnectOptions } from "./client";
export { AgentError, fromServiceError, toAgentError, toServiceError } from "./errors";
export { LIMITS, SERVER_LIMITS } from "./limits";
export { serverCredentials, type TlsMaterial } from "./tls";
