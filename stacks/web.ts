/**
 * Web: the UI (issue 8, `packages/web`, built by Vite into `dist/web`) on S3 behind CloudFront, with
 * `sst.aws.StaticSite` served through an `sst.aws.Router` (one CloudFront distribution) that also sends
 * `/apiv2/*` and `/ui/*` to the API. The UI calls those paths on its own origin, as it does when the
 * program serves it locally: no CORS and no API URL baked into the build. Under `sst dev` the site
 * is not deployed; run `npx vite packages/web` instead.
 */
import type * as pulumi from "@pulumi/pulumi";
import type { StageConfig } from "./config";

/** Where the UI is and how it is built: `output` is relative to `path` (vite.config.ts writes ../../dist/web). */
export const WEB = {
  path: "packages/web",
  command: "npx vite build",
  output: "../../dist/web",
};

/** Paths the router sends to the API instead of the bucket. */
export const API_PATHS = ["/apiv2", "/ui"];

export function createWeb(cfg: StageConfig, apiUrl: pulumi.Output<string>) {
  const router = new sst.aws.Router("WebRouter", cfg.domain?.web ? { domain: cfg.domain.web } : {});
  for (const p of API_PATHS) router.route(p, apiUrl);
  const site = new sst.aws.StaticSite("Web", {
    path: WEB.path,
    build: { command: WEB.command, output: WEB.output },
    router: { instance: router },
  });
  return { router, site, url: router.url };
}
