/// <reference path="./.sst/platform/config.d.ts" />
/**
 * The AWS deployment (`sst deploy --stage X`). This file only wires the stacks in `stacks/`, one concern
 * per file (network, queue, index, pipeline, collectors, archive, api); see docs/deploy.md.
 * The stacks themselves are not written yet: until they are, a deploy creates nothing.
 */
export default $config({
  app(input) {
    return {
      name: "unmeltable",
      home: "aws",
      removal: input?.stage === "production" ? "retain" : "remove",
      protect: input?.stage === "production",
    };
  },
  async run() {
    return {};
  },
});
