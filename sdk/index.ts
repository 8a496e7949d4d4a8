// pulumi-netpersona: what users import in their Pulumi programs.
export { Persona, type PersonaArgs, type PersonaDefinition, type RouteHintArgs } from "./persona";
export { PACKAGE_VERSION } from "./shim";
export { loadPersonas, PersonaFileError } from "../provider/persona/files";
