/**
 * Alerts: `functions/alerts.handler` every minute (EventBridge Scheduler via `sst.aws.CronV2`). It runs
 * each tenant's alerts (their own query, or the saved search they are built on) against the index and
 * fires their webhooks (over the NAT). Alert definitions, firing history and saved searches live in the
 * configuration bucket under `alerts/` (`UNMELTABLE_ALERTS=s3://<config bucket>/alerts/`;
 * `<tenant>/alerts/`, `<tenant>/firings/`, `<tenant>/searches/`).
 */
import * as pulumi from "@pulumi/pulumi";
import { functionArgs, openSearchPermissions, type FunctionContext } from "./functions";
import { SCHEDULES } from "./archive";
import type { PrivateBucket } from "./storage";

/**
 * Where alerts are kept (`UNMELTABLE_ALERTS`) and the rights to read and write them: the alert checks
 * and the search API (which serves `/apiv2/alerts`) both use it.
 */
export function alertsStore(config: PrivateBucket) {
  return {
    environment: { UNMELTABLE_ALERTS: pulumi.interpolate`s3://${config.name}/alerts/`, ...alertsMail().environment },
    permissions: [
      { actions: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], resources: [pulumi.interpolate`${config.arn}/alerts/*`] },
      { actions: ["s3:ListBucket"], resources: [config.arn] },
    ],
  };
}

/**
 * Where the tenants' users are kept (`UNMELTABLE_ACCOUNTS`: `accounts/` in the configuration bucket, with
 * password hashes and the hashes of sessions and users' API tokens): the search function, which signs users
 * in and authenticates them, alone may read and write it — not the alert checks, which read `alerts/`.
 */
export function accountsStore(config: PrivateBucket) {
  return {
    environment: { UNMELTABLE_ACCOUNTS: pulumi.interpolate`s3://${config.name}/accounts/` },
    permissions: [{ actions: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], resources: [pulumi.interpolate`${config.arn}/accounts/*`] }],
  };
}

/**
 * The process function reads the tenants' derived-field rules where the search API keeps them
 * (`<tenant>/derived/` beside the saved searches): the same variable, and only the right to read those.
 */
export function derivedRulesRead(config: PrivateBucket) {
  return {
    environment: { UNMELTABLE_ALERTS: pulumi.interpolate`s3://${config.name}/alerts/` },
    permissions: [
      { actions: ["s3:GetObject"], resources: [pulumi.interpolate`${config.arn}/alerts/*/derived/*`] },
      { actions: ["s3:ListBucket"], resources: [config.arn] },
    ],
  };
}

/**
 * Alert emails on AWS go through Amazon SES, from the address in UNMELTABLE_ALERT_MAIL_FROM at deploy time
 * (an identity verified in SES, e.g. `alerts@logs.example.com`; out of the SES sandbox to mail anyone).
 * Unset, the stage sends no email and the API refuses email alerts. The search API needs only to know
 * (it refuses email alerts without it); the checker gets the right to send as that identity.
 */
export function alertsMail(from: string | undefined = process.env.UNMELTABLE_ALERT_MAIL_FROM): { environment: Record<string, string>; permissions: { actions: string[]; resources: string[] }[] } {
  const address = from?.trim();
  if (!address) return { environment: {}, permissions: [] };
  const domain = /@([^>\s]+)>?$/.exec(address)?.[1];
  if (!domain) throw new Error(`UNMELTABLE_ALERT_MAIL_FROM: ${JSON.stringify(address)} is not an email address`);
  const mailbox = /<([^>]+)>/.exec(address)?.[1] ?? address;
  return {
    environment: { UNMELTABLE_MAIL: "ses", UNMELTABLE_MAIL_FROM: address },
    permissions: [{ actions: ["ses:SendEmail"], resources: [`arn:aws:ses:*:*:identity/${domain}`, `arn:aws:ses:*:*:identity/${mailbox}`] }],
  };
}

/** The deploy-time settings of single sign-on (docs/deploy.md, "Single sign-on"). */
export interface SsoSettings {
  issuer: string;
  clientId: string;
  name?: string;
}

/**
 * Single sign-on through the company's OpenID Connect provider, answered by the search function: the issuer
 * and client id from UNMELTABLE_OIDC_ISSUER and UNMELTABLE_OIDC_CLIENT_ID at deploy time (UNMELTABLE_OIDC_NAME
 * for the button), the client secret kept as an SST secret (`sst secret set OidcClientSecret <secret>
 * --stage X`), never in the repository. The provider sends users back to the UI's own domain, so the stage
 * needs one (`domain.web`): that is the redirect URI to register, https://<web>/auth/sso/callback.
 * Unset: no single sign-on (users sign in with a password).
 */
export function singleSignOnEnvironment(web: string | undefined, settings: SsoSettings | undefined = ssoFromEnv(process.env)): Record<string, pulumi.Input<string>> {
  if (!settings) return {};
  if (!/^https:\/\/[^\s/]+/.test(settings.issuer)) throw new Error(`UNMELTABLE_OIDC_ISSUER: ${JSON.stringify(settings.issuer)} is not the provider's https:// issuer URL`);
  if (!web) throw new Error("single sign-on needs the stage's web domain (domain.web in stacks/config.ts): the provider sends users back to https://<web>/auth/sso/callback");
  const secret = new sst.Secret("OidcClientSecret");
  return {
    UNMELTABLE_OIDC_ISSUER: settings.issuer,
    UNMELTABLE_OIDC_CLIENT_ID: settings.clientId,
    UNMELTABLE_OIDC_CLIENT_SECRET: secret.value,
    ...(settings.name ? { UNMELTABLE_OIDC_NAME: settings.name } : {}),
  };
}

function ssoFromEnv(env: NodeJS.ProcessEnv): SsoSettings | undefined {
  const issuer = env.UNMELTABLE_OIDC_ISSUER?.trim();
  const clientId = env.UNMELTABLE_OIDC_CLIENT_ID?.trim();
  if (!issuer && !clientId) return undefined;
  if (!issuer || !clientId) throw new Error("single sign-on needs both UNMELTABLE_OIDC_ISSUER and UNMELTABLE_OIDC_CLIENT_ID at deploy time");
  return { issuer, clientId, name: env.UNMELTABLE_OIDC_NAME?.trim() || undefined };
}

export function createAlerts(ctx: FunctionContext, config: PrivateBucket, index: { domainArns: pulumi.Output<string>[] }, webUrl: pulumi.Output<string>) {
  const store = alertsStore(config);
  const fn = new sst.aws.Function(
    "Alerts",
    functionArgs(ctx, {
      handler: "functions/alerts.handler",
      description: "Alert checks (every minute)",
      memoryMb: 512,
      timeoutSeconds: 55,
      // Firings link to the search in the web UI.
      environment: { ...store.environment, UNMELTABLE_PUBLIC_URL: webUrl },
      // EventBridge Scheduler invokes asynchronously and Lambda would retry a failed check twice, sending
      // the webhooks that had already gone out again: no retries, and a check that waited over a minute
      // is dropped (the next one is due).
      async: { retries: 0, maxEventAgeSeconds: 60 },
      openSearch: true,
      permissions: [...openSearchPermissions(index.domainArns), ...store.permissions, ...alertsMail().permissions],
    }),
  );
  // No retries: the next check is a minute away, and a late firing is worse than the next on-time one.
  const cron = new sst.aws.CronV2("AlertsSchedule", { schedule: SCHEDULES.alerts, timezone: "UTC", function: fn, retries: 0 });
  return { fn, cron };
}
