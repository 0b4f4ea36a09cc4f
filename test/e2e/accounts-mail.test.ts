import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSmtpServer, type ReceivedMail } from "../helpers/smtp";
import { endProgram, startWithTokens, waitFor, type Program, type TenantTokens } from "../helpers/program";

/**
 * Invitations by email through the real program and a real SMTP server (smtp-server, read back by a mail
 * parser): with `--smtp-url`, an invitation is mailed to the invitee with a link to the server's own
 * address, which lets them join; a mail server that refuses the mail leaves the invitation made, the
 * answer saying it was not emailed (the admin sends the link).
 */
describe("invitations by email, through the real program", () => {
  let program: Program;
  let def: TenantTokens;
  let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
  let mails: ReceivedMail[] = [];
  const refuse: string[] = [];

  const invite = async (email: string) => {
    const res = await fetch(program.url("/apiv2/users"), { method: "POST", headers: { Authorization: `bearer ${def.apiToken}`, "Content-Type": "application/json" }, body: JSON.stringify({ email, role: "member" }) });
    expect(res.status).toBe(201);
    return (await res.json()) as { token: string; emailed: boolean };
  };

  beforeAll(async () => {
    smtp = await startSmtpServer((to) => (to.some((t) => refuse.includes(t)) ? 550 : "ok"));
    mails = smtp.mails;
    const port = smtp.port;
    ({ program, tokens: def } = await startWithTokens({ args: ["--smtp-url", `smtp://127.0.0.1:${port}`, "--mail-from", "unmeltable <logs@example.com>"] }));
  });

  afterAll(async () => {
    await endProgram(program);
    await smtp.close();
  });

  it("mails the invitation with a link to this server that lets the invitee join", async () => {
    const made = await invite("ada@example.com");
    expect(made.emailed).toBe(true);
    const mail = await waitFor("the invitation's email", async () => mails.find((m) => m.to.includes("ada@example.com")));
    expect(mail.subject).toBe("You are invited to default on unmeltable");
    expect(mail.text).toContain("the tenant's API token invites you to the log account default on unmeltable, as member.");
    const link = /(http\S+#\/invite\/[\w-]+)/.exec(mail.text)?.[1];
    expect(link).toBe(`${program.url("/").replace(/\/$/, "")}/#/invite/${made.token}`);
    const joined = await fetch(program.url("/auth/invite"), { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ token: made.token, name: "Ada", password: "correct horse battery" }) });
    expect(joined.status).toBe(201);
  });

  it("keeps the invitation when the mail server refuses it, and says it was not emailed", async () => {
    refuse.push("nobody@example.com");
    const made = await invite("nobody@example.com");
    expect(made.emailed).toBe(false);
    const offered = await fetch(program.url(`/auth/invite?token=${made.token}`));
    expect(offered.status).toBe(200);
  });
});
