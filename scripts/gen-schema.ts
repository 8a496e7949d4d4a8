// Writes schema.json (the Pulumi package schema) from the zod schemas: `make schema`.
import { writeFileSync } from "node:fs";
import { join } from "node:path";

import { renderSchema } from "../provider/schema/pulumi-schema";

const root = join(__dirname, "..", "..");
const version: string = require(join(root, "package.json")).version;
writeFileSync(join(root, "schema.json"), renderSchema(version));
console.log(`schema.json written for version ${version}`);
