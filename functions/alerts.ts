/**
 * Alert checks on AWS (EventBridge, every minute): each alert's query (or the saved search it is built on) counted through the index,
 * webhooks fired for those whose condition holds — the same `checkAlerts` the local timer runs. Alerts
 * live in S3 (`UNMELTABLE_ALERTS=s3://bucket/alerts/`), written by the search API's /apiv2/alerts.
 * Webhooks go to public addresses only, plus `UNMELTABLE_WEBHOOK_ALLOW` (the same check as on one machine).
 */
import middy from "@middy/core";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { checkAlerts, searchLink } from "@unmeltable/core";
import { channelNotifier, mailerFromEnv, webhookSender } from "@unmeltable/alerts";
import { alertStore, appLogger, functionEnv, indexPort, logger, savedSearchStore } from "@unmeltable/lambda";

const env = functionEnv("alerts");
/** Alert emails through SES (UNMELTABLE_MAIL=ses, UNMELTABLE_MAIL_FROM a verified identity), else none. */
const mail = mailerFromEnv(process.env, appLogger);

export const handler = middy(async () => {
  const index = await indexPort();
  const base = env.UNMELTABLE_PUBLIC_URL ?? "";
  const results = await checkAlerts({
    store: alertStore(),
    searches: savedSearchStore(),
    index,
    notify: channelNotifier({ webhooks: webhookSender({ logger: appLogger }), mail, pagerDutyUrl: env.UNMELTABLE_PAGERDUTY_URL, publicUrl: () => base }),
    linkFor: (query, from, until) => searchLink(base, query, from, until),
    logger: appLogger,
  });
  const fired = results.filter((r) => r.fired).length;
  appLogger.info("alerts checked", { alerts: results.length, fired, failed: results.filter((r) => r.error).length });
  return { alerts: results.length, fired };
}).use(injectLambdaContext(logger));
