import { ObjectAccountStore, ObjectAlertStore, ObjectRecordStore, SingleSignOn } from "@unmeltable/alerts";
import type { Credential, DashboardSpec, DerivedRuleSpec, SavedSearchSpec } from "@unmeltable/core";
import { S3Store } from "@unmeltable/archive";
import { TenantsConfigIngestTokens } from "@unmeltable/tenants-config";
import { ACCOUNTS_ENV, ALERTS_ENV, readEnv, SSO_ENV } from "./function-env";

/** The alert store from `UNMELTABLE_ALERTS=s3://bucket/prefix/` (shared by the checker and the search API). */
export function alertStore(env: NodeJS.ProcessEnv = process.env): ObjectAlertStore {
  return new ObjectAlertStore(alertsBucket(env));
}

/**
 * The saved searches, beside the alerts that are built on them (`<prefix><tenant>/searches/<id>.json`):
 * the same variable and rights, and the checker reads them where it reads the alerts.
 */
export function savedSearchStore(env: NodeJS.ProcessEnv = process.env): ObjectRecordStore<SavedSearchSpec> {
  return new ObjectRecordStore<SavedSearchSpec>(alertsBucket(env), "searches");
}

/** The dashboards, beside the saved searches (`<prefix><tenant>/dashboards/<id>.json`). */
export function dashboardStore(env: NodeJS.ProcessEnv = process.env): ObjectRecordStore<DashboardSpec> {
  return new ObjectRecordStore<DashboardSpec>(alertsBucket(env), "dashboards");
}

/**
 * The derived-field rules (`<prefix><tenant>/derived/<id>.json`): written through the search API, read by
 * the process functions (which need only the read rights).
 */
export function derivedRuleStore(env: NodeJS.ProcessEnv = process.env): ObjectRecordStore<DerivedRuleSpec> {
  return new ObjectRecordStore<DerivedRuleSpec>(alertsBucket(env), "derived");
}

/**
 * The tenants' users, their invitations, sessions and API tokens (`UNMELTABLE_ACCOUNTS=s3://bucket/accounts/`,
 * which only the search function may read: password hashes are nowhere else); none: no users here.
 */
export function accountStore(env: NodeJS.ProcessEnv = process.env): ObjectAccountStore | undefined {
  const { UNMELTABLE_ACCOUNTS: source, UNMELTABLE_S3_ENDPOINT: endpoint, UNMELTABLE_MANAGE_INGEST_TOKENS: manage, UNMELTABLE_TENANTS: tenants } = readEnv(ACCOUNTS_ENV, env);
  if (!source) return undefined;
  // The ingest tokens live in tenants.json, which this function may write only where the stack allows it.
  const ingestTokens = manage === "true" && tenants ? new TenantsConfigIngestTokens(tenants) : undefined;
  return new ObjectAccountStore(bucketOf(source, endpoint, "UNMELTABLE_ACCOUNTS"), { ingestTokens });
}

/**
 * Single sign-on where the stage names an OpenID Connect provider (UNMELTABLE_OIDC_*: the search
 * function's schema checks them all or none, with UNMELTABLE_PUBLIC_URL); none without.
 */
export function singleSignOn(accounts: ObjectAccountStore, env: NodeJS.ProcessEnv = process.env): SingleSignOn | undefined {
  const e = readEnv(SSO_ENV, env);
  if (!e.UNMELTABLE_OIDC_ISSUER || !e.UNMELTABLE_OIDC_CLIENT_ID || !e.UNMELTABLE_OIDC_CLIENT_SECRET || !e.UNMELTABLE_PUBLIC_URL) return undefined;
  const publicUrl = e.UNMELTABLE_PUBLIC_URL;
  return new SingleSignOn({ issuer: e.UNMELTABLE_OIDC_ISSUER, clientId: e.UNMELTABLE_OIDC_CLIENT_ID, clientSecret: e.UNMELTABLE_OIDC_CLIENT_SECRET, name: e.UNMELTABLE_OIDC_NAME, publicUrl: () => publicUrl }, accounts);
}

function alertsBucket(env: NodeJS.ProcessEnv): S3Store {
  const { UNMELTABLE_ALERTS: source, UNMELTABLE_S3_ENDPOINT: endpoint } = readEnv(ALERTS_ENV, env);
  return bucketOf(source, endpoint, "UNMELTABLE_ALERTS");
}

function bucketOf(source: string | undefined, endpoint: string | undefined, name: string): S3Store {
  const m = source ? /^s3:\/\/([^/]+)\/?(.*)$/.exec(source) : null;
  if (!m) throw new Error(`${name}: required, s3://<bucket>/<prefix>/`);
  return new S3Store(m[1]!, m[2] ?? "", endpoint ? { endpoint, forcePathStyle: true } : {});
}

/**
 * What the web UI's source-setup page needs (`GET /ui/config`): on AWS the collectors are reached by DNS
 * name (UNMELTABLE_COLLECTOR_HOST) on the standard ports.
 */
export function uiConfig(tenant: { name: string; ingestToken?: string }, env: NodeJS.ProcessEnv = process.env, credential?: Pick<Credential, "role" | "user">) {
  return {
    tenant: tenant.name,
    // null where tenants.json keeps only the token's hash: it was shown once, when created.
    ingestToken: tenant.ingestToken ?? null,
    host: env.UNMELTABLE_COLLECTOR_HOST ?? null,
    syslog: { port: 514, tlsPort: 6514 },
    http: { port: null, httpsPort: 443 },
    alerts: true,
    alertChannels: ["webhook", "slack", "pagerduty", ...(env.UNMELTABLE_MAIL === "ses" && env.UNMELTABLE_MAIL_FROM ? ["email"] : [])],
    role: credential?.role ?? "admin",
    user: credential?.user ? { email: credential.user.email } : null,
    // Users, where the deployment keeps them; ingest tokens from the UI where the stack lets this function
    // write tenants.json (else `unmeltable aws tenants rotate-token NAME --ingest`).
    accounts: env.UNMELTABLE_ACCOUNTS !== undefined && env.UNMELTABLE_ACCOUNTS !== "",
    ingestTokens: env.UNMELTABLE_MANAGE_INGEST_TOKENS === "true" && Boolean(env.UNMELTABLE_ACCOUNTS),
  };
}
