// The stack PKI in one import: CA, agent (server + client) certificates, provider client certificates.
export { createCa, issueAgentCert, issueClientCert } from "./certs";
export type { AgentCertOptions, CaOptions, CertifiedKey, ClientCertOptions, Validity } from "./certs";
