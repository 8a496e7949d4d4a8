// pulumi-netpersona: what users import in their Pulumi programs.
export { Persona, type PersonaArgs, type PersonaDefinition, type RouteHintArgs } from "./persona";
export { StackCa, type StackCaArgs } from "./stack-ca";
export { Agent, type AgentArgs, type AgentEchoArgs, type ConnectionArgs, type InterfaceInfo } from "./agent";
export { PersonaAttachment, type PersonaAttachmentArgs } from "./attachment";
export { Migration, type MigrationArgs, type HistoryEntry, type PolicyInput } from "./migration";
export { discover, type AgentDiscovery, type DiscoverArgs, type FromDiscoveryOptions } from "./discovery";
export { loadPersonas, PersonaFileError } from "./persona-files";
export { PACKAGE_VERSION } from "./shim";
export {
  NetpersonaResource,
  setDefaultProviderKind,
  type NetpersonaResourceOptions,
  type ProviderKind,
} from "./resource";
export { labInventory, labAgentArgs, type LabHost, type LabInventory } from "./lab";
