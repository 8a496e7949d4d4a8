// Personas in the formats of NetworkManager (nmstate), netplan and systemd-networkd, both ways.
export { exportPersona, FORMATS, type Export, type ExportedFile, type Format } from "./export";
export { importPersona, IMPORT_FORMATS, type Imported, type ImportFormat } from "./import";
