// The end-to-end harness of the tests: a real Pulumi project through the real CLI with a local backend.
export { PulumiProject as E2EProject, REPO, type ProjectOptions } from "../provider/automation/project";
