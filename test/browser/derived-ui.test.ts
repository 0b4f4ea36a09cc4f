/**
 * The Derived fields page in a real headless Chromium against the real program, as a person uses it:
 * reached from the navigation, "New rule", a regular expression with named groups typed in and previewed
 * on the tenant's recent events (sent over HTTP /bulk) as it is typed, a pattern RE2 refuses explained in
 * the preview and beside the field when saved, the rule saved and listed; new events get its fields,
 * found on the search page as `derived.user:alice`; the rule switched off from its form (new events no
 * longer get them), then deleted after the confirm step. axe-core's WCAG 2.1 A and AA checks run with the
 * form open and its preview showing, light and dark. The screenshot (`derived-fields.png`) goes where
 * ui.test.ts puts its own: test/.artifacts/screenshots/, or docs/screenshots/ with UPDATE_SCREENSHOTS=1.
 */
import { randomUUID } from "node:crypto";
import { mkdirSync } from "node:fs";
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { removeDir, ROOT, startProgram, tenantTokens, waitFor as waitForProbe, type Program, type TenantTokens } from "../helpers/program";
import { axeViolations, eventually, launchChromium, PAGE_WAIT_MS, recordFailures, submitQuery } from "./chromium";

const SCREENSHOTS = process.env.UPDATE_SCREENSHOTS ? path.join(ROOT, "docs/screenshots") : path.join(ROOT, "test/.artifacts/screenshots");

describe("the Derived fields page, in Chromium, against the real program", () => {
  let program: Program;
  let def: TenantTokens;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];
  const cspViolations: string[] = [];
  const marker = `d${randomUUID().slice(0, 8)}`;
  const NAME = "Request time";
  const PATTERN = String.raw`took (?<ms>\d+) ms for user=(?<user>\w+)`;

  const waitFor = <T>(what: string, probe: () => Promise<T | undefined | false>) => waitForProbe(what, probe, PAGE_WAIT_MS);
  const shot = (name: string, p: Page = page) => p.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: false });
  const apiCount = async (q: string) => {
    const res = await fetch(program.url(`/apiv2/events/count?q=${encodeURIComponent(q)}&from=-1h&until=now`), { headers: { Authorization: `bearer ${def.apiToken}` } });
    return ((await res.json()) as { count: number }).count;
  };
  const send = async (lines: string[]) => {
    const res = await fetch(program.url(`/bulk/${def.ingestToken}/tag/shop`), { method: "POST", body: lines.join("\n") });
    expect(res.status).toBe(200);
  };
  const watch = (p: Page) => {
    p.on("pageerror", (e) => pageErrors.push(e.message));
    p.on("console", (m) => {
      if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
    });
  };
  const signIn = async (p: Page) => {
    await p.goto(program.url("/"));
    await p.getByLabel("API token").fill(def.apiToken);
    await p.getByRole("button", { name: "Sign in" }).click();
    await p.getByRole("navigation", { name: "Main" }).waitFor();
  };
  const openDerived = async (p: Page) => {
    await p.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Derived fields", exact: true }).click();
    await p.getByRole("heading", { name: "Derived fields", level: 1 }).waitFor();
  };
  /** "New rule", the pattern and the events to try it on typed in: the form, once its preview has answered. */
  const newRuleWithPreview = async (p: Page) => {
    await p.getByRole("button", { name: "New rule" }).click();
    const form = p.getByRole("form", { name: "New derived field rule" });
    await form.getByLabel("Regular expression (RE2)").fill(PATTERN);
    await form.getByLabel("Events matching").fill(marker);
    await form.locator(".preview-count").getByText(/^Matches \d+ of the \d+ newest events/).waitFor();
    return form;
  };

  recordFailures(() => page);

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    program = await startProgram();
    def = await tenantTokens(program.dataDir);
    browser = await launchChromium();
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, colorScheme: "light", locale: "en-US", timezoneId: "UTC" });
    context.setDefaultTimeout(PAGE_WAIT_MS);
    page = await context.newPage();
    watch(page);
  });

  afterAll(async () => {
    await browser?.close();
    if (program && program.child.exitCode === null) await program.kill();
    if (program) await removeDir(program.dataDir);
  });

  it("previews a rule on recent events as it is typed, explains a bad pattern, saves it, and new events get its fields", async () => {
    // Three events before any rule: two the rule matches, one it does not.
    await send([`${marker} GET /cart took 231 ms for user=alice`, `${marker} POST /pay took 1200 ms for user=bob`, `${marker} GET /health ok`]);
    await waitFor("the first events to be searchable", async () => (await apiCount(marker)) === 3);

    await signIn(page);
    await openDerived(page);
    expect(page.url()).toMatch(/#\/derived$/);
    await page.getByText("No derived fields yet").waitFor();
    await page.getByRole("button", { name: "New rule" }).click();
    const form = page.getByRole("form", { name: "New derived field rule" });
    const preview = form.getByRole("region", { name: "Preview" });

    // The pattern first, the rule still unnamed: the preview needs no name.
    await form.getByLabel("Regular expression (RE2)").fill(PATTERN);
    // Tried on the events of one tag (this tenant's only events are the ones sent here).
    await form.getByLabel("Events matching").fill("tag:shop");
    await preview.getByText("Matches 2 of the 3 newest events of the last 24 hours.").waitFor();
    const item = (text: string) => preview.locator("li").filter({ hasText: text });
    expect(await item("took 231 ms").locator(".preview-out code").allTextContents()).toEqual(["derived.ms = 231", 'derived.user = "alice"']);
    expect(await item("took 1200 ms").locator(".preview-out code").allTextContents()).toEqual(["derived.ms = 1200", 'derived.user = "bob"']);
    expect(await item("GET /health ok").locator(".preview-out").textContent()).toBe("no match");
    expect(await preview.locator("li.preview-hit").count()).toBe(2);
    await form.getByLabel("Name").fill(NAME);
    await preview.getByText("Matches 2 of the 3 newest events of the last 24 hours.").waitFor();
    // The form and the whole preview in view (the page's introduction scrolled off).
    await preview.locator("li").last().scrollIntoViewIfNeeded();
    await shot("derived-fields");

    // A pattern RE2 does not take (an unclosed group) is explained in the preview as it is typed…
    const pattern = form.getByLabel("Regular expression (RE2)");
    await pattern.fill(String.raw`took (?<ms>\d+ ms`);
    await preview.getByRole("status").getByText(/^the pattern is not a regular expression RE2 accepts: /).waitFor();
    expect(await preview.locator(".preview-count").count()).toBe(0);
    // …and so is one without a named group…
    await pattern.fill(String.raw`took \d+ ms`);
    await preview.getByRole("status").getByText(/^a regex rule names what it extracts/).waitFor();
    // …and beside the field when it is saved anyway: nothing is saved.
    await form.getByRole("button", { name: "Save rule" }).click();
    await form.locator("#rule-err-pattern").getByText(/^a regex rule names what it extracts/).waitFor();
    expect(await pattern.getAttribute("aria-invalid")).toBe("true");
    expect(await pattern.getAttribute("aria-describedby")).toBe("rule-err-pattern");
    expect(await page.locator("[data-rule]").count()).toBe(0);

    await pattern.fill(PATTERN);
    await preview.getByText("Matches 2 of the 3 newest events of the last 24 hours.").waitFor();
    await form.getByRole("button", { name: "Save rule" }).click();
    await form.waitFor({ state: "detached" });
    const rule = page.locator(`[data-rule="${NAME}"]`);
    await rule.getByRole("heading", { name: NAME }).waitFor();
    expect(await rule.locator("p").first().textContent()).toBe(`Regular expression: ${PATTERN}`);
    await rule.getByText("Every event.").waitFor();
    expect(await rule.locator(".badge-off").count()).toBe(0);

    // Events received from now on get the rule's fields; the older ones keep what they had.
    await send([`${marker} GET /cart took 87 ms for user=alice after the rule`, `${marker} GET /cart took 95 ms for user=carol after the rule`]);
    await waitFor("the new events to be searchable", async () => (await apiCount(`${marker} AND after`)) === 2);
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Search", exact: true }).click();
    await submitQuery(page, `${marker} derived.user:alice`);
    const rows = page.locator("ol.events > li.event");
    await page.getByText("1 event · Last hour").waitFor();
    await eventually(() => rows.count()).toBe(1);
    const row = rows.first();
    expect(await row.locator(".event-msg").textContent()).toContain("took 87 ms for user=alice after the rule");
    await row.getByRole("button", { expanded: false }).click();
    await row.getByRole("rowheader", { name: "derived.user", exact: true }).waitFor();
    await row.getByRole("button", { name: "Filter by derived.ms 87" }).waitFor();
    await row.getByRole("button", { name: "Filter by derived.user alice" }).waitFor();
    // A number: ranged like any numeric field.
    expect(await apiCount(`${marker} AND derived.ms:[80 TO 100]`)).toBe(2);
    expect(await apiCount(`${marker} AND derived.ms:*`)).toBe(2);
    expect(pageErrors).toEqual([]);
  });

  it("switches the rule off from its form: listed as off, and new events no longer get its fields", async () => {
    await openDerived(page);
    const rule = page.locator(`[data-rule="${NAME}"]`);
    await rule.getByRole("button", { name: `Edit ${NAME}` }).click();
    const form = page.getByRole("form", { name: `Edit ${NAME}` });
    expect(await form.getByLabel("Name").inputValue()).toBe(NAME);
    expect(await form.getByLabel("Regular expression (RE2)").inputValue()).toBe(PATTERN);
    // The preview runs the rule as it is in the form, on every recent event: the 2 sent after it was saved too.
    await form.getByRole("region", { name: "Preview" }).getByText("Matches 4 of the 5 newest events of the last 24 hours.").waitFor();
    const apply = form.getByRole("checkbox", { name: "Apply this rule" });
    expect(await apply.isChecked()).toBe(true);
    await apply.uncheck();
    await form.getByRole("button", { name: "Save rule" }).click();
    await form.waitFor({ state: "detached" });
    await rule.locator(".badge-off").getByText("off").waitFor();

    await send([`${marker} GET /cart took 5 ms for user=alice while off`]);
    await waitFor("the event sent while off to be searchable", async () => (await apiCount(`${marker} AND "while off"`)) === 1);
    expect(await apiCount(`${marker} AND "while off" AND derived.user:*`)).toBe(0);
    expect(await apiCount(`${marker} AND derived.user:alice`)).toBe(1);
    expect(pageErrors).toEqual([]);
  });

  it("passes axe-core's WCAG 2.1 A and AA checks with the form open and its preview showing, light and dark", async () => {
    const found: Record<string, string[]> = {};
    const check = async (name: string, p: Page = page) => {
      const v = await axeViolations(p);
      if (v.length > 0) found[name] = v;
    };
    await openDerived(page);
    await page.locator(`[data-rule="${NAME}"] .badge-off`).waitFor();
    const form = await newRuleWithPreview(page);
    await check("derived fields, a new rule previewed");
    await form.getByLabel("Regular expression (RE2)").fill("took (");
    await form.getByRole("button", { name: "Save rule" }).click();
    await form.locator("#rule-err-pattern").waitFor();
    await form.locator("#rule-err-name").waitFor();
    await check("derived fields, saving with errors");
    await form.getByRole("button", { name: "Cancel" }).click();
    await form.waitFor({ state: "detached" });

    const dark = await browser.newContext({ viewport: { width: 1280, height: 860 }, colorScheme: "dark", locale: "en-US", timezoneId: "UTC" });
    dark.setDefaultTimeout(PAGE_WAIT_MS);
    const d = await dark.newPage();
    watch(d);
    await signIn(d);
    await openDerived(d);
    await d.locator(`[data-rule="${NAME}"] .badge-off`).waitFor();
    await newRuleWithPreview(d);
    await check("derived fields, a new rule previewed, dark", d);
    await dark.close();
    expect(found).toEqual({});
    expect(pageErrors).toEqual([]);
  });

  it("deletes the rule after asking once more", async () => {
    await openDerived(page);
    const rule = page.locator(`[data-rule="${NAME}"]`);
    await rule.getByRole("button", { name: `Delete ${NAME}` }).click();
    const confirm = rule.getByRole("group", { name: `Delete ${NAME}?` });
    // "Keep" keeps it.
    await confirm.getByRole("button", { name: "Keep" }).click();
    await confirm.waitFor({ state: "detached" });
    await rule.getByRole("button", { name: `Delete ${NAME}` }).click();
    await confirm.getByRole("button", { name: "Yes, delete" }).click();
    await rule.waitFor({ state: "detached" });
    await page.getByText("No derived fields yet").waitFor();
    const res = await fetch(program.url("/apiv2/derivedfields"), { headers: { Authorization: `bearer ${def.apiToken}` } });
    expect(((await res.json()) as { derivedfields: unknown[] }).derivedfields).toEqual([]);
    expect(pageErrors).toEqual([]);
    expect(cspViolations).toEqual([]);
  });

  it("starts a rule from an event's \"Extract fields\": the form opens, previewed on that event alone", async () => {
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Search", exact: true }).click();
    await submitQuery(page, `${marker} health`);
    // The page opens on the last search (one row, alice's): wait for the new search's row, not any row.
    const rows = page.locator("ol.events > li.event");
    const health = rows.filter({ hasText: "GET /health ok" });
    await health.waitFor();
    await eventually(() => rows.count()).toBe(1);
    await health.getByRole("button", { expanded: false }).click();
    await health.getByRole("link", { name: "Extract fields" }).click();
    await page.getByRole("heading", { name: "Derived fields", level: 1 }).waitFor();
    const form = page.getByRole("form", { name: "New derived field rule" });
    expect(await form.getByLabel("Events matching").inputValue()).toMatch(/^id:[0-9a-f-]{36}$/);
    await form.getByLabel("Regular expression (RE2)").fill(String.raw`GET /(?<endpoint>\w+)`);
    const preview = form.getByRole("region", { name: "Preview" });
    await preview.getByText("Matches 1 of the 1 newest events in the range.").waitFor();
    expect(await preview.locator(".preview-out code").allTextContents()).toEqual(['derived.endpoint = "health"']);
    await form.getByRole("button", { name: "Cancel" }).click();
    await form.waitFor({ state: "detached" });
    expect(pageErrors).toEqual([]);
  });
});
