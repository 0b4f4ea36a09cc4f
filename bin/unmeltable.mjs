#!/usr/bin/env node
// The `unmeltable` command. The TypeScript sources are bundled into dist/ by `npm run build`
// (run automatically by `npm install` and `npm start`).
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const bundle = new URL("../dist/unmeltable.mjs", import.meta.url);
if (!existsSync(fileURLToPath(bundle))) {
  process.stderr.write("unmeltable: dist/unmeltable.mjs is missing; run `npm run build` first\n");
  process.exit(1);
}
process.setSourceMapsEnabled?.(true);
await import(bundle.href);
