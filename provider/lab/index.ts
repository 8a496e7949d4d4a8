// The lab as a library: tests, the demo and the benchmarks call these directly; the CLI wraps them.
export { labUp, type LabUpOptions } from "./up";
export { labDown, labDownAll, type DownResult } from "./down";
export { labImpair, detectNetem, NFT_TABLE } from "./impair";
export { type ImpairOptions, parseRate, parseDelay } from "./impair-spec";
export { labStatus, labList } from "./status";
export { queryA } from "./dns";
export {
  LABS_DIR,
  ANY_LAB_NETNS,
  labAgentPaths,
  labNetns,
  routerNetns,
  rootIfname,
  type LabAgentPaths,
} from "./plan";
export type {
  LabHost,
  LabInventory,
  LabNetwork,
  LabRouter,
  LabStatus,
  LabStatusHost,
  LinkImpairment,
} from "./types";
