/**
 * Single sign-on in a real headless Chromium, against the real program and a real OpenID Connect provider
 * (oidc-provider on loopback, whose sign-in page signs the test's person in at once): a colleague invited
 * by email opens a shared search link, chooses "Sign in with Test IdP", goes through the provider and comes
 * back signed in, on the shared search, with the session token gone from the address bar and the history.
 * Someone the account never invited comes back to the sign-in page with the reason. axe-core's WCAG 2.1 A
 * and AA checks on the sign-in page with the button.
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestIdp, type TestIdp } from "../helpers/oidc";
import { freePort, removeDir, startProgram, tenantTokens, type Program, type TenantTokens } from "../helpers/program";
import { axeViolations, launchChromium, PAGE_WAIT_MS, recordFailures } from "./chromium";

describe("single sign-on, in Chromium, against the real program and a real provider", () => {
  let program: Program;
  let def: TenantTokens;
  let idp: TestIdp;
  let browser: Browser;
  let page: Page | undefined;
  const pageErrors: string[] = [];

  const newPage = async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, locale: "en-US", timezoneId: "UTC" });
    context.setDefaultTimeout(PAGE_WAIT_MS);
    const p = await context.newPage();
    p.on("pageerror", (e) => pageErrors.push(e.message));
    return p;
  };

  recordFailures(() => page);

  beforeAll(async () => {
    const httpPort = await freePort();
    idp = await startTestIdp(`http://127.0.0.1:${httpPort}/auth/sso/callback`);
    program = await startProgram({ httpPort, args: ["--oidc-issuer", idp.issuer, "--oidc-client-id", idp.clientId, "--oidc-client-secret", idp.clientSecret, "--oidc-name", "Test IdP"] });
    def = await tenantTokens(program.dataDir);
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    if (program && program.child.exitCode === null) await program.kill();
    if (program) await removeDir(program.dataDir);
    await idp?.close();
  });

  it("signs an invited colleague in through the provider, back on the shared search link, the token gone from the URL", async () => {
    const invited = await fetch(program.url("/apiv2/users"), { method: "POST", headers: { Authorization: `bearer ${def.apiToken}`, "Content-Type": "application/json" }, body: JSON.stringify({ email: "erin@example.com", role: "member" }) });
    expect(invited.status).toBe(201);
    idp.nextUser = { email: "erin@example.com", email_verified: true, name: "Erin" };

    page = await newPage();
    const shared = program.url("/#/search?q=json.level%3Aerror&from=-4h&until=now");
    await page.goto(shared);
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    // A browser that never signed in here is shown the account form, which holds the provider's button.
    const button = page.getByRole("button", { name: "Sign in with Test IdP" });
    await button.waitFor();
    expect(await axeViolations(page)).toEqual([]);
    await button.click();
    await expect.poll(() => page!.getByRole("alert").textContent()).toMatch(/Fill in the account/);
    await page.getByLabel("Account").fill("default");
    await button.click();

    await page.getByRole("heading", { name: "Search", level: 1 }).waitFor();
    await expect.poll(() => new URL(page!.url()).hash).toBe("#/search?q=json.level%3Aerror&from=-4h&until=now");
    await expect.poll(() => page!.getByRole("search").getByLabel("Search query").inputValue()).toBe("json.level:error");
    expect(idp.signIns).toBe(1);
    // The session lasts (kept for every tab); nothing of it is left in the address or the history.
    expect(page.url()).not.toMatch(/token=/);
    await page.goBack().catch(() => undefined);
    expect(page.url()).not.toMatch(/token=|#\/sso/);
    const account = await page.context().newPage();
    await account.goto(program.url("/#/account"));
    await account.getByText("erin@example.com").first().waitFor();
    await expect.poll(() => account.getByText("member", { exact: false }).count()).toBeGreaterThan(0);
  });

  it("brings someone the account never invited back to the sign-in page, saying why", async () => {
    idp.nextUser = { email: "frank@example.com", email_verified: true, name: "Frank" };
    page = await newPage();
    await page.goto(program.url("/"));
    await page.getByLabel("Account").fill("default");
    await page.getByRole("button", { name: "Sign in with Test IdP" }).click();
    await page.getByText("frank@example.com is not a user of the account default: ask one of its admins to invite you.").waitFor();
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    expect(page.url()).not.toMatch(/#\/sso/);
    expect(pageErrors).toEqual([]);
  });
});
