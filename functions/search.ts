/**
 * Loggly's retrieval API (apiv2) behind API Gateway or a function URL: the same route functions as the
 * local HTTP server (packages/api), plus the alerts, saved searches, dashboards and derived fields APIs
 * (/apiv2/alerts, /apiv2/savedsearches, /apiv2/dashboards, /apiv2/derivedfields, all kept in S3) and the web
 * UI's /ui/config. The caller is authenticated once, by core's `authenticate` (the rules of every
 * surface), before a handler is picked; failures are answered as coded errors, as on one machine (an
 * unexpected exception too: a 500 `UNM_INTERNAL`, logged with its stack). The index's reads are timed
 * into `unmeltable_query_seconds` (QuerySeconds) as on one machine, written as EMF once per invocation.
 */
import middy from "@middy/core";
import type { APIGatewayProxyEventV2, Context } from "aws-lambda";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { answerAccountsApi, answerAlertsApi, mailerFromEnv, answerDashboardsApi, answerDerivedFieldsApi, answerSavedSearchesApi, isAccountsPath, isPublicAccountsPath } from "@unmeltable/alerts";
import { answerApi, apiErrorAnswer, apiMethodError, collectExport, exportHeaders, indexUsage, planExport, type ApiRequest, type ApiResponse } from "@unmeltable/api";
import { errorAnswer, errorFields, internalError, SignInLimiter, timedReads, withDeadline, type Credential, type Tenant } from "@unmeltable/core";
import { accountStore, alertStore, awsAuthenticator, singleSignOn, dashboardStore, derivedRuleStore, savedSearchStore, apiRequestFromEvent, appLogger, EmfMetrics, eventResponse, functionEnv, indexPort, logger, tenantDirectory, uiConfig } from "@unmeltable/lambda";

const env = functionEnv("search");
const [index, tenants] = await Promise.all([indexPort(), tenantDirectory()]);
const alerts = env.UNMELTABLE_ALERTS ? alertStore() : undefined;
const searches = env.UNMELTABLE_ALERTS ? savedSearchStore() : undefined;
const dashboards = env.UNMELTABLE_ALERTS ? dashboardStore() : undefined;
const derivedRules = env.UNMELTABLE_ALERTS ? derivedRuleStore() : undefined;
/** The tenants' users (UNMELTABLE_ACCOUNTS): their sessions and API tokens authenticate here besides the tenants' own tokens. */
const accounts = accountStore();
/** Failed sign-ins, per function instance (API Gateway's route throttle on POST /auth/login bounds them all). */
const signIns = new SignInLimiter();
const auth = awsAuthenticator(tenants, accounts, Date.now, signIns);
/** Invitations by email where the stage has a mail sender (SES) and the UI's address for the link. */
const mail = mailerFromEnv(process.env, appLogger);
const invitations = mail && env.UNMELTABLE_PUBLIC_URL ? { mail, publicUrl: () => env.UNMELTABLE_PUBLIC_URL! } : undefined;
/** Single sign-on where the stage names an OpenID Connect provider (UNMELTABLE_OIDC_*, docs/deploy.md). */
const sso = accounts && singleSignOn(accounts);
const metrics = new EmfMetrics();
/** The retrieval API's reads, timed (the same metric as on one machine: core's QUERY_METRICS). */
const timedIndex = timedReads(index, metrics);
/** GET /apiv2/usage on AWS: the tenant's indexed events per day, read from the index (docs/deploy.md, "Per-tenant usage"). */
const usage = indexUsage(index);

/** Time kept back from the function's timeout to answer: a search gives up (and is cancelled) before the function dies. */
const ANSWER_RESERVE_MS = 2_000;

export const handler = middy(async (event: APIGatewayProxyEventV2, context: Context) => {
  try {
    return await answer(event, context);
  } catch (err) {
    // A bug: the caller gets the coded 500 and nothing of the error; the log gets all of it.
    appLogger.error("search request failed", { path: event.rawPath, ...errorFields(err), stack: (err as Error).stack });
    return eventResponse(errorAnswer(internalError()));
  } finally {
    metrics.flush();
  }
}).use(injectLambdaContext(logger));

async function answer(event: APIGatewayProxyEventV2, context: Context) {
  const req = apiRequestFromEvent(event);
  const surface =
    alerts && req.path.startsWith("/apiv2/alerts")
      ? "alerts"
      : searches && (req.path === "/apiv2/savedsearches" || req.path.startsWith("/apiv2/savedsearches/"))
        ? "savedsearches"
        : dashboards && (req.path === "/apiv2/dashboards" || req.path.startsWith("/apiv2/dashboards/"))
          ? "dashboards"
          : derivedRules && (req.path === "/apiv2/derivedfields" || req.path.startsWith("/apiv2/derivedfields/"))
            ? "derivedfields"
            : req.path === "/ui/config"
              ? "ui-config"
              : "api";
  if (accounts && isAccountsPath(req.path.replace(/(.)\/+$/, "$1"))) return eventResponse(await answerAccounts(event, req));
  // As on the local server, whose route table answers a wrong method before it authenticates.
  const wrongMethod = surface === "api" ? apiMethodError(req.method) : undefined;
  if (wrongMethod) return eventResponse(errorAnswer(wrongMethod));
  let credential: Credential;
  try {
    credential = await auth.authenticate(req.headers, req, event.requestContext.http.sourceIp);
  } catch (err) {
    return eventResponse(apiErrorAnswer(err));
  }
  const tenant: Tenant = credential.tenant;
  if ((surface === "alerts" || surface === "savedsearches" || surface === "dashboards" || surface === "derivedfields") && alerts && searches && dashboards && derivedRules) {
    const body = event.body === undefined ? undefined : event.isBase64Encoded ? Buffer.from(event.body, "base64").toString("utf8") : event.body;
    const email = env.UNMELTABLE_MAIL === "ses" && env.UNMELTABLE_MAIL_FROM !== undefined;
    if (surface === "alerts") return eventResponse(await answerAlertsApi({ ...req, body }, tenant, { store: alerts, searches, tenants, email }));
    if (surface === "dashboards") return eventResponse(await answerDashboardsApi({ ...req, body }, tenant, { dashboards }));
    // The process functions read the rules from the bucket again within a minute (functions/process.ts).
    if (surface === "derivedfields") return eventResponse(await answerDerivedFieldsApi({ ...req, body }, tenant, { rules: derivedRules, index: timedIndex }));
    return eventResponse(await answerSavedSearchesApi({ ...req, body }, tenant, { searches, alerts, tenants }));
  }
  if (surface === "ui-config") return eventResponse({ status: 200, headers: { "Content-Type": "application/json", "Cache-Control": "no-store" }, body: uiConfig(tenant, process.env, credential) });
  if (req.path.replace(/\/+$/, "") === "/apiv2/events/export") return exportEvents(req, tenant, context);
  return eventResponse(await search(req, tenant, context));
}

/** The accounts API (packages/alerts accounts-api.ts): signing in and invitations open, the rest authenticated first. */
async function answerAccounts(event: APIGatewayProxyEventV2, req: ApiRequest) {
  const path = req.path.replace(/(.)\/+$/, "$1");
  let credential: Credential | undefined;
  if (!isPublicAccountsPath(path)) {
    try {
      credential = await auth.authenticate(req.headers, req, event.requestContext.http.sourceIp);
    } catch (err) {
      return apiErrorAnswer(err);
    }
  }
  const body = event.body === undefined ? undefined : event.isBase64Encoded ? Buffer.from(event.body, "base64").toString("utf8") : event.body;
  const answer = await answerAccountsApi({ ...req, body, clientIp: event.requestContext.http.sourceIp }, credential, { accounts: accounts!, isTenant: (name) => tenants.byName(name) !== undefined, limiter: signIns, invitations, sso });
  // This instance stops trusting a session it ended (others within CREDENTIAL_CACHE_MS).
  if (path === "/auth/logout" && answer.status === 200) auth.forget(req.headers);
  return answer;
}

/**
 * The export on AWS: API Gateway neither streams nor answers more than 6 MB, so the file is cut at the last
 * whole line within EXPORT_MAX_BYTES (`X-Unmeltable-Truncated: true`; narrow the range or ask for fewer
 * fields). One machine streams the whole of it.
 */
const EXPORT_MAX_BYTES = 5 * 1024 * 1024;

async function exportEvents(req: ApiRequest, tenant: Tenant, context: Context) {
  const deadline = Date.now() + context.getRemainingTimeInMillis() - ANSWER_RESERVE_MS;
  try {
    return await withDeadline(deadline, async () => {
      const plan = await planExport(req.query, tenant, timedIndex, Date.now());
      const { body, truncated } = await collectExport(plan, EXPORT_MAX_BYTES);
      const headers = { ...exportHeaders(plan), ...(truncated ? { "X-Unmeltable-Truncated": "true" } : {}) };
      return { statusCode: 200, headers, body: req.method === "HEAD" ? "" : body };
    });
  } catch (err) {
    return eventResponse(apiErrorAnswer(err));
  }
}

/** The retrieval API, bounded by the function's remaining time (API Gateway's 29 s at most), not the client's 60 s. */
function search(req: ApiRequest, tenant: Tenant, context: Context): Promise<ApiResponse> {
  const deadline = Date.now() + context.getRemainingTimeInMillis() - ANSWER_RESERVE_MS;
  return withDeadline(deadline, () => answerApi(req, tenant, { index: timedIndex, tenants, usage }));
}
