/**
 * API: Loggly's retrieval API (apiv2), the alerts and saved searches APIs and the UI's `/ui/config`, all answered by
 * `functions/search.handler` in the VPC (it queries the tier domains), behind an API Gateway HTTP API
 * (its own domain for API clients; the web UI reaches it through the web router, same origin).
 * Authentication is the tenant's bearer API token, checked by the function against the tenants.
 * API Gateway answers within 30 s and does not stream: live tail (`/apiv2/tail`, server-sent events)
 * needs the function URL with response streaming instead (docs/deploy.md, "Known limits").
 */
import type * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { accountsStore, alertsMail, alertsStore, singleSignOnEnvironment } from "./alerts";
import { API_THROTTLE, concurrencyPlan } from "./config";
import { functionArgs, openSearchPermissions, type FunctionContext } from "./functions";
import type { PrivateBucket } from "./storage";

export function createApi(ctx: FunctionContext, index: { domainArns: pulumi.Output<string>[] }, config: PrivateBucket) {
  const alerts = alertsStore(config);
  const accounts = accountsStore(config);
  const cfg = ctx.cfg;
  // The stage is made in the API's constructor, the routes after it; API Gateway refuses a stage whose
  // route settings name routes that do not exist yet ("Unable to find Route by key …", anomalyco/sst#4501):
  // the stage waits for the routes through a dependency resolved once they are declared.
  const routes = deferred<pulumi.Resource[]>();
  const fn = new sst.aws.Function(
    "Search",
    functionArgs(ctx, {
      handler: "functions/search.handler",
      description: "Loggly apiv2 search API",
      memoryMb: 1024,
      timeoutSeconds: 29,
      // The API also serves the alerts and the saved searches they are built on (`/apiv2/alerts`,
      // `/apiv2/savedsearches`), kept where the alert checks read them, and the UI's `/ui/config`, which
      // tells senders the collectors' name; and the users (`/auth/*`, `/apiv2/users`, `/apiv2/me`), whose
      // sessions and API tokens it authenticates besides the tenants' own tokens.
      // Invitations are emailed (SES, as alert emails) where the stage names its sender and the UI's domain
      // (the link's address: the router's own URL is made after this function, from the API's).
      environment: {
        ...alerts.environment,
        ...accounts.environment,
        ...(cfg.domain ? { UNMELTABLE_COLLECTOR_HOST: cfg.domain.collectors } : {}),
        ...(cfg.domain?.web ? { UNMELTABLE_PUBLIC_URL: `https://${cfg.domain.web}` } : {}),
        // Single sign-on where the deploy names a provider (stacks/alerts.ts singleSignOnEnvironment).
        ...singleSignOnEnvironment(cfg.domain?.web),
        // Admins add and remove their tenant's ingest tokens from the UI: written into tenants.json.
        UNMELTABLE_MANAGE_INGEST_TOKENS: "true",
      },
      permissions: [
        ...openSearchPermissions(index.domainArns),
        ...alerts.permissions,
        ...accounts.permissions,
        ...alertsMail().permissions,
        // The ingest tokens (only hashes are written), one conditional write on tenants.json's ETag each, as
        // the lifecycle function writes slice lengths there.
        { actions: ["s3:PutObject"], resources: [ctx.tenantsObjectArn] },
      ],
      openSearch: true,
      // Its own executions, whatever the pipeline takes (stacks/config.ts, SEARCH_RESERVED).
      reservedConcurrency: concurrencyPlan(cfg)?.search,
    }),
  );
  const api = new sst.aws.ApiGatewayV2("Api", {
    ...(cfg.domain?.api ? { domain: cfg.domain.api } : {}),
    cors: {
      allowOrigins: cfg.domain?.web ? [`https://${cfg.domain.web}`] : ["*"],
      allowHeaders: ["authorization", "content-type", "x-requested-with"],
      allowMethods: ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
      maxAge: "1 hour",
    },
    accessLog: { retention: "1 month" },
    transform: { stage: throttledStage(routes.promise) },
  });
  const handler = fn.arn.apply((arn) => arn as `arn:${string}`);
  // The expensive reads as routes of their own (same function), so each has its own throttle.
  routes.resolve(["$default", ...Object.keys(API_THROTTLE.routes)].map((key) => api.route(key, handler)));
  return { fn, api };
}

/**
 * The `$default` stage's throttles (`transform.stage`): the default for every route and a tighter one
 * for each expensive read (stacks/config.ts, API_THROTTLE). HTTP APIs throttle per stage and per route
 * only (no per-client usage plans, no WAF): see docs/deploy.md, "Throttling and exposure".
 */
export function throttleStage(args: aws.apigatewayv2.StageArgs): undefined {
  args.defaultRouteSettings = { throttlingRateLimit: API_THROTTLE.default.rate, throttlingBurstLimit: API_THROTTLE.default.burst };
  args.routeSettings = Object.entries(API_THROTTLE.routes).map(([routeKey, t]) => ({ routeKey, throttlingRateLimit: t.rate, throttlingBurstLimit: t.burst }));
  return undefined;
}

/** `throttleStage`, and the stage made after `routes` (its route settings name them). */
export function throttledStage(routes: Promise<pulumi.Resource[]>) {
  return (args: aws.apigatewayv2.StageArgs, opts: pulumi.CustomResourceOptions): undefined => {
    throttleStage(args);
    opts.dependsOn = routes;
    return undefined;
  };
}

function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}
