// The stack PKI in one import: CA, agent (server + client) certificates, provider and monitoring client
// certificates, each naming its role; when a certificate is due for renewal.
export {
  DEFAULT_VALIDITY_DAYS,
  createCa,
  issueAgentCert,
  issueClientCert,
  issueMonitoringCert,
  renewalDue,
} from "./certs";
export type { AgentCertOptions, CaOptions, CertifiedKey, ClientCertOptions, Validity } from "./certs";
export { ROLES, ROLE_URI_PREFIX, roleUri, type Role } from "./roles";
