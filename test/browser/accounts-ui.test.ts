/**
 * User accounts in a real headless Chromium against the real program, as people use them: the operator
 * signs in with the tenant's API token and invites a colleague from the Users page; the colleague opens
 * the invitation's link in another browser, chooses a name and a password, and is signed in — in every
 * new tab too (the session is kept across tabs), until signing out; signs in again with email and
 * password (a wrong one refused); makes an API token on the Account page that a script uses, then revokes
 * it. A read-only user sees no Users page, and the server refuses a change with the reason shown. The
 * admin adds and removes an ingest token. axe-core's WCAG 2.1 A and AA checks on the sign-in, invitation,
 * Users and Account pages, light and dark. Screenshots: users.png, account.png.
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { removeDir, ROOT, startProgram, tenantTokens, type Program, type TenantTokens } from "../helpers/program";
import { axeViolations, eventually, launchChromium, PAGE_WAIT_MS, recordFailures } from "./chromium";

const SCREENSHOTS = process.env.UPDATE_SCREENSHOTS ? path.join(ROOT, "docs/screenshots") : path.join(ROOT, "test/.artifacts/screenshots");
const PASSWORD = "correct horse battery";

describe("user accounts, in Chromium, against the real program", () => {
  let program: Program;
  let def: TenantTokens;
  let browser: Browser;
  let admin: Page;
  let adaContext: BrowserContext;
  let ada: Page;
  const pageErrors: string[] = [];
  const found: Record<string, string[]> = {};

  const newPage = async (colorScheme: "light" | "dark" = "light") => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, colorScheme, locale: "en-US", timezoneId: "UTC" });
    context.setDefaultTimeout(PAGE_WAIT_MS);
    const p = await context.newPage();
    p.on("pageerror", (e) => pageErrors.push(e.message));
    return { context, page: p };
  };
  const check = async (name: string, p: Page) => {
    const v = await axeViolations(p);
    if (v.length > 0) found[name] = v;
  };
  const nav = (p: Page) => p.getByRole("navigation", { name: "Main" });
  /** An invitation made on the Users page: its link, as the copy block shows it. */
  const invite = async (p: Page, email: string, role: "Admin" | "Member" | "Read-only") => {
    await nav(p).getByRole("link", { name: "Users", exact: true }).click();
    const form = p.getByRole("form", { name: "Invite someone" });
    await form.getByLabel("Email").fill(email);
    await form.getByLabel("Role").selectOption({ label: role });
    await form.getByRole("button", { name: "Invite" }).click();
    const block = p.locator('[data-snippet="invite-link"]');
    await block.getByRole("heading", { name: `Invitation for ${email}` }).waitFor();
    return (await block.locator("code").textContent())!;
  };
  /** The invitation taken up in `p`: a name and the password, then signed in on the search page. */
  const join = async (p: Page, link: string, name: string) => {
    await p.goto(link);
    await p.getByRole("heading", { name: "Join default" }).waitFor();
    await p.getByLabel("Your name").fill(name);
    await p.getByLabel("Password").fill(PASSWORD);
    await p.getByRole("button", { name: "Join and sign in" }).click();
    await p.getByRole("heading", { name: "Search", level: 1 }).waitFor();
  };
  const apiStatus = async (token: string) => (await fetch(program.url("/apiv2/events/count?q=*"), { headers: { Authorization: `bearer ${token}` } })).status;

  recordFailures(() => admin);

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    program = await startProgram();
    def = await tenantTokens(program.dataDir);
    browser = await launchChromium();
    admin = (await newPage()).page;
    ({ context: adaContext, page: ada } = await newPage());
  });

  afterAll(async () => {
    await browser?.close();
    if (program && program.child.exitCode === null) await program.kill();
    if (program) await removeDir(program.dataDir);
  });

  it("invites a colleague from the Users page; the link lets them choose a password and signs them in, in every tab", async () => {
    // A newcomer has the API token the first start printed: the sign-in page offers it first.
    await admin.goto(program.url("/"));
    await admin.getByLabel("API token").fill(def.apiToken);
    await admin.getByRole("button", { name: "Sign in" }).click();
    const link = await invite(admin, "ada@example.com", "Admin");
    expect(link).toMatch(new RegExp(`^${program.url("/")}#/invite/[\\w-]+$`));
    await admin.locator('[data-invite="ada@example.com"]').waitFor();
    await admin.getByText("No users yet").waitFor();
    await check("users, an invitation made", admin);
    await admin.screenshot({ path: path.join(SCREENSHOTS, "users.png") });

    await ada.goto(link);
    await ada.getByText("You are invited as Admin").waitFor();
    await check("invitation", ada);
    // A short password is refused beside its field, and nothing is joined.
    await ada.getByLabel("Your name").fill("Ada Lovelace");
    await ada.getByLabel("Password").fill("short");
    await ada.getByRole("button", { name: "Join and sign in" }).click();
    await ada.locator("#invite-err-password").getByText("At least 10 characters.").waitFor();
    await ada.getByLabel("Password").fill(PASSWORD);
    await ada.getByRole("button", { name: "Join and sign in" }).click();
    await ada.getByRole("heading", { name: "Search", level: 1 }).waitFor();
    await ada.getByRole("link", { name: "ada@example.com" }).waitFor();

    // A new tab of the same browser is signed in (the session is kept across tabs), on a shared link too.
    const tab = await adaContext.newPage();
    await tab.goto(program.url("/#/saved"));
    await tab.getByRole("heading", { name: "Saved searches", level: 1 }).waitFor();
    await tab.close();

    // The link worked once.
    const again = (await newPage()).page;
    await again.goto(link);
    await again.getByText("This invitation is unknown, used or expired").waitFor();
    // The admin sees the new user, and no pending invitation.
    await admin.reload();
    await admin.locator('[data-user="ada@example.com"]').getByText("Ada Lovelace").waitFor();
    expect(await admin.locator("[data-invite]").count()).toBe(0);
    expect(pageErrors).toEqual([]);
  });

  it("makes an API token on the Account page that a script uses, and revokes it", async () => {
    await ada.getByRole("link", { name: "ada@example.com" }).click();
    await ada.getByRole("heading", { name: "Account", level: 1 }).waitFor();
    expect(await ada.getByTestId("who").textContent()).toContain("Signed in as Ada Lovelace (ada@example.com) to default, as Admin");
    const form = ada.getByRole("form", { name: "New API token" });
    await form.getByLabel("What it is for").fill("grafana");
    await form.getByRole("button", { name: "Make token" }).click();
    const block = ada.locator('[data-snippet="new-api-token"]');
    await block.getByText("Copy it now: it is not shown again.").waitFor();
    const token = (await block.locator("code").textContent())!;
    expect(await apiStatus(token)).toBe(200);
    await ada.locator('[data-token="grafana"]').waitFor();
    await check("account", ada);
    await ada.screenshot({ path: path.join(SCREENSHOTS, "account.png") });
    await ada.locator('[data-token="grafana"]').getByRole("button", { name: "Delete token grafana" }).click();
    await ada.locator('[data-token="grafana"]').getByRole("button", { name: "Yes, delete" }).click();
    await ada.locator('[data-token="grafana"]').waitFor({ state: "detached" });
    expect(await apiStatus(token)).toBe(401);
  });

  it("signs out, and in again with email and password; a wrong password is refused", async () => {
    await ada.getByRole("button", { name: "Sign out" }).click();
    // This browser signed in with a password last: the page offers that first, the account remembered.
    await ada.getByLabel("Email").waitFor();
    expect(await ada.getByLabel("Account").inputValue()).toBe("default");
    await check("sign-in with a password", ada);
    await ada.getByLabel("Email").fill("ada@example.com");
    await ada.getByLabel("Password").fill("not my password");
    await ada.getByRole("button", { name: "Sign in" }).click();
    await ada.getByText("Wrong account, email or password.").waitFor();
    await ada.getByLabel("Password").fill(PASSWORD);
    await ada.getByRole("button", { name: "Sign in" }).click();
    // Back where the user was when signing out.
    await ada.getByRole("heading", { name: "Account", level: 1 }).waitFor();
    await ada.getByRole("link", { name: "ada@example.com" }).waitFor();
  });

  it("gives a read-only user no Users page and no control that changes anything; the server refuses a change all the same", async () => {
    const link = await invite(ada, "rita@example.com", "Read-only");
    const { page: rita } = await newPage();
    await join(rita, link, "Rita");
    await rita.getByRole("link", { name: "rita@example.com" }).click();
    expect(await rita.getByTestId("who").textContent()).toContain("as Read-only: searches and looks; changes nothing");
    expect(await nav(rita).getByRole("link", { name: "Users", exact: true }).count()).toBe(0);
    expect(await rita.getByRole("heading", { name: "Ingest tokens" }).count()).toBe(0);
    await rita.getByRole("link", { name: /rita@example.com/ }).getByText("read-only").waitFor();
    await nav(rita).getByRole("link", { name: "Derived fields", exact: true }).click();
    await rita.getByRole("heading", { name: "Derived fields", level: 1 }).waitFor();
    expect(await rita.getByRole("button", { name: "New rule" }).count()).toBe(0);
    await nav(rita).getByRole("link", { name: "Search", exact: true }).click();
    await rita.getByRole("heading", { name: "Search", level: 1 }).waitFor();
    expect(await rita.getByRole("button", { name: "Save search" }).count()).toBe(0);
    expect(await rita.getByRole("link", { name: "Alert on this search" }).count()).toBe(0);
    // A dashboard's range is the read-only user's to change for their own view; the dashboard stays as saved.
    const board = await fetch(program.url("/apiv2/dashboards"), { method: "POST", headers: { Authorization: `bearer ${def.apiToken}`, "Content-Type": "application/json" }, body: JSON.stringify({ name: "Board", from: "-24h", until: "now", refreshSeconds: 60, charts: [] }) });
    const boardId = ((await board.json()) as { dashboard: { id: string } }).dashboard.id;
    await rita.goto(program.url(`/#/dashboards?saved=${boardId}`));
    await rita.getByRole("heading", { name: "Board", level: 1 }).waitFor();
    await rita.getByText("for this view only").waitFor();
    await rita.getByLabel("Range").selectOption({ label: "Last hour" });
    expect(await rita.getByLabel("Range").inputValue()).toBe("-1h");
    expect(await rita.locator(".field-error").count()).toBe(0);
    const saved = await fetch(program.url(`/apiv2/dashboards/${boardId}`), { headers: { Authorization: `bearer ${def.apiToken}` } });
    expect(((await saved.json()) as { dashboard: { from: string } }).dashboard.from).toBe("-24h");
    // An admin sees them (the same page, another role).
    await nav(ada).getByRole("link", { name: "Search", exact: true }).click();
    await ada.getByRole("button", { name: "Save search" }).waitFor();
    // What the page hides, the server refuses: the session's POST is a 403 that says why.
    const token = await rita.evaluate<string | null>('localStorage.getItem("unmeltable.session")');
    const refused = await fetch(program.url("/apiv2/savedsearches"), { method: "POST", headers: { Authorization: `bearer ${token}`, "Content-Type": "application/json" }, body: JSON.stringify({ name: "n", query: "*" }) });
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { message: string }).message).toMatch(/read-only user cannot POST \/apiv2\/savedsearches/);
    expect(pageErrors).toEqual([]);
  });

  it("adds an ingest token and removes it, from the Account page", async () => {
    await ada.getByRole("link", { name: "ada@example.com" }).click();
    const form = ada.getByRole("form", { name: "New ingest token" });
    await form.getByLabel("Which senders use it").fill("web servers");
    await form.getByRole("button", { name: "Add ingest token" }).click();
    const row = ada.locator("[data-ingest-token]").filter({ hasText: "web servers" });
    await row.waitFor();
    const token = (await row.getAttribute("data-ingest-token"))!;
    // The new token is offered to copy at once (on AWS, where only its hash is kept, this is the one time).
    expect(await ada.locator('[data-snippet="new-ingest-token"] code').textContent()).toBe(token);
    const send = () => fetch(program.url(`/inputs/${token}`), { method: "POST", body: "hello" });
    expect((await send()).status).toBe(200);
    await row.getByRole("button", { name: "Delete ingest token web servers" }).click();
    await row.getByRole("button", { name: "Yes, delete" }).click();
    await row.waitFor({ state: "detached" });
    expect((await send()).status).toBe(401);
    // The first token is still there, and, alone, cannot be removed.
    await eventually(() => ada.locator("[data-ingest-token]").count()).toBe(1);
    expect(await ada.locator(`[data-ingest-token="${def.ingestToken}"]`).getByRole("button").count()).toBe(0);
  });

  it("passes axe-core's WCAG 2.1 A and AA checks on the accounts pages in dark", async () => {
    const { page: d } = await newPage("dark");
    await d.goto(program.url("/"));
    await d.getByRole("button", { name: "Use email and password instead" }).click();
    await d.getByLabel("Account").fill("default");
    await d.getByLabel("Email").fill("ada@example.com");
    await d.getByLabel("Password").fill(PASSWORD);
    await check("sign-in with a password, dark", d);
    await d.getByRole("button", { name: "Sign in" }).click();
    await nav(d).getByRole("link", { name: "Users", exact: true }).click();
    await d.locator('[data-user="ada@example.com"]').waitFor();
    await check("users, dark", d);
    await d.getByRole("link", { name: "ada@example.com" }).click();
    await d.locator("[data-ingest-token]").first().waitFor();
    await check("account, dark", d);
    expect(found).toEqual({});
    expect(pageErrors).toEqual([]);
  });
});
