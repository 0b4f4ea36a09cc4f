import path from "node:path";
import { type Command, Option } from "commander";
import { emailProblem, INVITE_TTL_MS, isRole, ROLES, type Role } from "@unmeltable/core";
import { AccountStore } from "./account-store";
import { TenantError } from "./credentials";
import { TenantStore } from "./tenant-store";

/**
 * `unmeltable users`: a tenant's users from the data dir, for operators and scripts (the UI's Users page
 * does the same through the API). A running server sees the changes at once (the same tenants.db).
 */
export function registerUsersCommands(program: Command, dataDirOption: () => Option): void {
  const users = program.command("users").description("A tenant's users: list them, invite one (prints the invitation's link), remove one.");
  const tenantOption = () => new Option("--tenant <name>", "the tenant (account)").default("default");
  const open = <T>(dataDir: string, tenant: string, fn: (accounts: AccountStore) => T): T => {
    const dir = path.resolve(dataDir);
    const tenants = new TenantStore(dir);
    try {
      if (!tenants.get(tenant)) throw new TenantError(`no tenant ${tenant} in ${dir} (unmeltable tenants list)`);
    } finally {
      tenants.close();
    }
    const accounts = new AccountStore(dir);
    try {
      return fn(accounts);
    } finally {
      accounts.close();
    }
  };

  users
    .command("list")
    .description("The tenant's users with their roles, and the invitations not taken up yet.")
    .addOption(dataDirOption())
    .addOption(tenantOption())
    .option("--json", "print one JSON object per line")
    .action((opts: { dataDir: string; tenant: string; json?: boolean }) =>
      open(opts.dataDir, opts.tenant, (accounts) => {
        const list = accounts.users(opts.tenant);
        const invites = accounts.invites(opts.tenant);
        if (opts.json) {
          for (const u of list) process.stdout.write(JSON.stringify({ email: u.email, name: u.name, role: u.role, createdAt: new Date(u.createdAt).toISOString() }) + "\n");
          for (const i of invites) process.stdout.write(JSON.stringify({ email: i.email, role: i.role, invited: true, expiresAt: new Date(i.expiresAt).toISOString() }) + "\n");
          return;
        }
        if (list.length === 0 && invites.length === 0) {
          process.stdout.write(`no users in ${opts.tenant} yet: unmeltable users invite EMAIL --tenant ${opts.tenant}\n`);
          return;
        }
        const w = Math.max(5, ...list.map((u) => u.email.length), ...invites.map((i) => i.email.length));
        process.stdout.write(`${"EMAIL".padEnd(w)}  ${"ROLE".padEnd(8)}  NAME\n`);
        for (const u of list) process.stdout.write(`${u.email.padEnd(w)}  ${u.role.padEnd(8)}  ${u.name}\n`);
        for (const i of invites) process.stdout.write(`${i.email.padEnd(w)}  ${i.role.padEnd(8)}  (invited, until ${new Date(i.expiresAt).toISOString().slice(0, 16)}Z)\n`);
      }),
    );

  users
    .command("invite <email>")
    .description("Invite someone to the tenant: prints the link that lets them choose a password (once, for 7 days). The first admin of a tenant is made this way, or from the UI's Users page.")
    .addOption(dataDirOption())
    .addOption(tenantOption())
    .addOption(new Option("--role <role>", `one of ${ROLES.join(", ")}`).default("member"))
    .addOption(new Option("--url <url>", "the address people reach the web UI at").env("UNMELTABLE_UI_URL").default("http://localhost:8080"))
    .action((email: string, opts: { dataDir: string; tenant: string; role: string; url: string }) => {
      const problem = emailProblem(email);
      if (problem) throw new TenantError(problem);
      if (!isRole(opts.role)) throw new TenantError(`--role: one of ${ROLES.join(", ")}`);
      const made = open(opts.dataDir, opts.tenant, (accounts) => accounts.invite(opts.tenant, { email, role: opts.role as Role, by: "unmeltable users invite" }));
      process.stdout.write(
        `${made.email} is invited to ${opts.tenant} as ${made.role}. Send them this link (it works once, for ${INVITE_TTL_MS / 86_400_000} days):\n  ${opts.url.replace(/\/+$/, "")}/#/invite/${made.token}\n`,
      );
    });

  users
    .command("remove <email>")
    .description("Remove a user: their sessions and API tokens stop working at once, on a running server too.")
    .addOption(dataDirOption())
    .addOption(tenantOption())
    .action((email: string, opts: { dataDir: string; tenant: string }) =>
      open(opts.dataDir, opts.tenant, (accounts) => {
        const user = accounts.users(opts.tenant).find((u) => u.email === email.trim().toLowerCase());
        if (!user) throw new TenantError(`no user ${email} in ${opts.tenant}`);
        accounts.removeUser(opts.tenant, user.id);
        process.stdout.write(`${user.email} removed from ${opts.tenant}\n`);
      }),
    );
}
