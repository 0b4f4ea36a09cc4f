/**
 * Web: the UI (issue 8, `packages/web`, built by Vite into `dist/web`) on S3 behind CloudFront, with
 * `sst.aws.StaticSite` served through an `sst.aws.Router` (one CloudFront distribution) that also sends
 * `/apiv2/*` and `/ui/*` to the API. The UI calls those paths on its own origin, as it does when the
 * program serves it locally: no CORS and no API URL baked into the build. Under `sst dev` the site
 * is not deployed; run `npx vite packages/web` instead.
 */
import type * as aws from "@pulumi/aws";
import type * as pulumi from "@pulumi/pulumi";
import { ALARMED_KINDS, WEB_WAF, type StageConfig } from "./config";

/** Where the UI is and how it is built: `output` is relative to `path` (vite.config.ts writes ../../dist/web). */
export const WEB = {
  path: "packages/web",
  command: "npx vite build",
  output: "../../dist/web",
};

/** Paths the router sends to the API instead of the bucket. */
export const API_PATHS = ["/apiv2", "/ui", "/auth"];

/** The part of SST's cache policy arguments this changes (SST passes them as plain values). */
interface HeadersConfig {
  headerBehavior?: string;
  headers?: { items?: string[] };
}

/**
 * The router's cache policy with `Authorization` in its key. CloudFront forwards that header on GET and
 * HEAD only when the cache policy keys on it (an origin request policy may not name it), and the UI's
 * calls carry the API token there: without this every UI GET through the router would answer 401.
 * The TTLs stay at 0 unless the origin says otherwise (the API sends no Cache-Control, /ui/config says
 * no-store), and a cached answer would be found only with the same token. Not all TTLs 0: CloudFront
 * refuses headers in the key of a policy with caching disabled ("HeaderBehavior is invalid for policy
 * with caching disabled"), and the UI's own files, under the same policy, are worth caching.
 */
export function authorizationCachePolicy(args: aws.cloudfront.CachePolicyArgs): undefined {
  const headers = (args.parametersInCacheKeyAndForwardedToOrigin as unknown as { headersConfig: HeadersConfig }).headersConfig;
  const items = headers.headerBehavior === "whitelist" ? (headers.headers?.items ?? []) : [];
  headers.headerBehavior = "whitelist";
  headers.headers = { items: [...new Set([...items, "authorization"])] };
  args.defaultTtl = 0;
  args.minTtl = 0;
  return undefined;
}

export function createWeb(cfg: StageConfig, apiUrl: pulumi.Output<string>) {
  const router = new sst.aws.Router("WebRouter", {
    ...(cfg.domain?.web ? { domain: cfg.domain.web } : {}),
    transform: { cachePolicy: authorizationCachePolicy },
    // A per-IP rate rule on shared stages (stacks/config.ts, WEB_WAF); a developer's stage does without.
    ...(ALARMED_KINDS.includes(cfg.kind) ? { waf: WEB_WAF } : {}),
  });
  for (const p of API_PATHS) router.route(p, apiUrl);
  const site = new sst.aws.StaticSite("Web", {
    path: WEB.path,
    build: { command: WEB.command, output: WEB.output },
    router: { instance: router },
  });
  return { router, site, url: router.url };
}
