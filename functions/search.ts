/**
 * Loggly's retrieval API (apiv2) behind API Gateway or a function URL: the same route functions as the
 * local HTTP server (packages/api), plus the alerts API (/apiv2/alerts, alerts kept in S3) and the web
 * UI's /ui/config.
 */
import middy from "@middy/core";
import type { APIGatewayProxyEventV2, Context } from "aws-lambda";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { handleAlertsApi } from "@unmeltable/alerts";
import { handleApi, indexUsage } from "@unmeltable/api";
import { withDeadline } from "@unmeltable/core";
import { alertStore, apiRequestFromEvent, eventResponse, functionEnv, indexPort, logger, tenantDirectory, uiConfig } from "@unmeltable/lambda";

const env = functionEnv("search");
const [index, tenants] = await Promise.all([indexPort(), tenantDirectory()]);
const alerts = env.UNMELTABLE_ALERTS ? alertStore() : undefined;
/** GET /apiv2/usage on AWS: the tenant's indexed events per day, read from the index (docs/deploy.md, "Per-tenant usage"). */
const usage = indexUsage(index);

/** Time kept back from the function's timeout to answer: a search gives up (and is cancelled) before the function dies. */
const ANSWER_RESERVE_MS = 2_000;

export const handler = middy(async (event: APIGatewayProxyEventV2, context: Context) => {
  const req = apiRequestFromEvent(event);
  if (alerts && req.path.startsWith("/apiv2/alerts")) {
    const body = event.body === undefined ? undefined : event.isBase64Encoded ? Buffer.from(event.body, "base64").toString("utf8") : event.body;
    return eventResponse(await handleAlertsApi({ ...req, body }, { store: alerts, tenants }));
  }
  if (req.path === "/ui/config") {
    const token = /^bearer\s+(.+)$/i.exec((req.headers.authorization ?? "").trim())?.[1] ?? "";
    const tenant = tenants.byApiToken(token);
    return tenant
      ? eventResponse({ status: 200, headers: { "Content-Type": "application/json", "Cache-Control": "no-store" }, body: uiConfig(tenant) })
      : eventResponse({ status: 401, headers: { "Content-Type": "application/json" }, body: { response: "error", message: "invalid API token" } });
  }
  // Searches are bounded by the function's remaining time (API Gateway's 29 s at most), not the client's 60 s.
  const deadline = Date.now() + context.getRemainingTimeInMillis() - ANSWER_RESERVE_MS;
  return eventResponse(await withDeadline(deadline, () => handleApi(req, { index, tenants, usage })));
}).use(injectLambdaContext(logger));
