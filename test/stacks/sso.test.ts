import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { singleSignOnEnvironment } from "../../stacks/alerts";
import { component, components, runApp, T, value } from "./harness";

/**
 * Single sign-on on AWS, under Pulumi mocks: a deploy that names a provider (UNMELTABLE_OIDC_ISSUER and
 * UNMELTABLE_OIDC_CLIENT_ID at deploy time, the client secret as the SST secret OidcClientSecret) gives the
 * search function — and no other — what it needs; a stage without a web domain, or a provider that is not
 * https, is refused at deploy time with the reason. (What the function does with them: test/lambda.)
 */
const SETTINGS = { UNMELTABLE_OIDC_ISSUER: "https://login.example.com/oauth2/default", UNMELTABLE_OIDC_CLIENT_ID: "0oa-unmeltable", UNMELTABLE_OIDC_NAME: "Okta", SST_SECRET_OidcClientSecret: "the-client-secret" };

describe("single sign-on in the stacks", () => {
  beforeAll(async () => {
    Object.assign(process.env, SETTINGS);
    await runApp({ stage: "prod" });
  });
  afterAll(() => {
    for (const k of Object.keys(SETTINGS)) delete process.env[k];
  });

  it("gives the search function the provider, the client and the secret, and no other function any of it", async () => {
    const search = (await value(component(T.function, "Search").args.environment)) as Record<string, string>;
    expect(search).toMatchObject({
      UNMELTABLE_OIDC_ISSUER: "https://login.example.com/oauth2/default",
      UNMELTABLE_OIDC_CLIENT_ID: "0oa-unmeltable",
      UNMELTABLE_OIDC_CLIENT_SECRET: "the-client-secret",
      UNMELTABLE_OIDC_NAME: "Okta",
      // The redirect URI registered at the provider is this address's /auth/sso/callback.
      UNMELTABLE_PUBLIC_URL: "https://app.logs.example.com",
      UNMELTABLE_ACCOUNTS: "s3://configbucket-mock/accounts/",
    });
    expect(components.some((c) => c.type === "sst:Secret" && c.name === "OidcClientSecret")).toBe(true);
    for (const f of components.filter((c) => c.type === T.function && c.name !== "Search")) {
      expect(JSON.stringify((await value(f.args.environment)) ?? {}), f.name).not.toMatch(/OIDC|the-client-secret/);
    }
  });

  it("refuses a stage without a web domain, a provider that is not https, and half a configuration", () => {
    expect(() => singleSignOnEnvironment(undefined, { issuer: "https://login.example.com", clientId: "x" })).toThrow(/needs the stage's web domain/);
    expect(() => singleSignOnEnvironment("app.example.com", { issuer: "http://login.example.com", clientId: "x" })).toThrow(/not the provider's https:\/\/ issuer URL/);
    const issuer = process.env.UNMELTABLE_OIDC_ISSUER;
    delete process.env.UNMELTABLE_OIDC_ISSUER;
    try {
      expect(() => singleSignOnEnvironment("app.example.com")).toThrow(/needs both UNMELTABLE_OIDC_ISSUER and UNMELTABLE_OIDC_CLIENT_ID/);
    } finally {
      process.env.UNMELTABLE_OIDC_ISSUER = issuer;
    }
  });
});
