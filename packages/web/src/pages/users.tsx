import { useState } from "preact/hooks";
import { api } from "../api";
import { formCall, inviteLink, loadUsers, ROLE_HELP, ROLE_NAMES, type InviteView, type Role, type UserView } from "../accounts";
import { ConfirmDelete } from "../components/confirm-delete";
import { DataTable } from "../components/data-table";
import { CopyBlock } from "../components/copy-block";
import { FormErrors, useFormSave } from "../components/form-actions";
import { ErrorBox, Loading } from "../components/states";
import { formatShort } from "../time";
import { useLoaded } from "../use-loaded";
import type { PageProps } from "./page";

const ROLES: Role[] = ["admin", "member", "readonly"];

/** Users (admins only): the account's users and their roles, the pending invitations, and a new invitation. */
export function UsersPage({ config }: PageProps) {
  const { value, error, reload } = useLoaded(loadUsers);
  const [link, setLink] = useState<{ email: string; url: string; emailed: boolean } | null>(null);
  return (
    <div class="page page-users">
      <h1 class="page-title" tabIndex={-1}>
        Users
      </h1>
      <p class="lead">
        Who signs in to <strong>{config?.tenant ?? "this account"}</strong>, and what each may do. An <strong>admin</strong> does {ROLE_HELP.admin}; a <strong>member</strong> {ROLE_HELP.member}; a{" "}
        <strong>read-only</strong> user {ROLE_HELP.readonly}.
      </p>
      <section class="account-section" aria-labelledby="invite-h">
        <h2 id="invite-h">Invite someone</h2>
        <InviteForm onInvited={(email, token, emailed) => (setLink({ email, url: inviteLink(token), emailed }), reload())} />
        {link && (
          <CopyBlock
            id="invite-link"
            title={`Invitation for ${link.email}`}
            hint={
              link.emailed
                ? "Emailed to them. The same link, if you would rather send it yourself: it works once, for 7 days, and is not shown again."
                : "Send this link to them: it works once, for 7 days, and is not shown again."
            }
            text={link.url}
          />
        )}
      </section>
      {error && !value ? (
        <ErrorBox error={error} onRetry={reload} />
      ) : !value ? (
        <Loading label="Loading users…" />
      ) : (
        <>
          <section class="account-section" aria-labelledby="users-h">
            <h2 id="users-h">Users ({value.users.length})</h2>
            {value.users.length === 0 ? (
              <p class="muted">No users yet: everyone signs in with the tenant's API token. Invite yourself and your colleagues above.</p>
            ) : (
              <DataTable columns={["Name", "Email", "Role"]}>
                {value.users.map((u) => (
                  <UserRow key={u.id} user={u} me={config?.user?.email === u.email} onChanged={reload} />
                ))}
              </DataTable>
            )}
          </section>
          {value.invites.length > 0 && (
            <section class="account-section" aria-labelledby="invites-h">
              <h2 id="invites-h">Invited, not joined yet</h2>
              <DataTable columns={["Email", "Role", "Expires"]}>
                {value.invites.map((i) => (
                  <InviteRow key={i.id} invite={i} onChanged={reload} />
                ))}
              </DataTable>
            </section>
          )}
        </>
      )}
    </div>
  );
}

function InviteForm({ onInvited }: { onInvited(email: string, token: string, emailed: boolean): void }) {
  const [email, setEmail] = useState("");
  const [role, setRole] = useState<Role>("member");
  const { busy, errors, submit } = useFormSave(async () => {
    const made = await formCall<{ email: string; token: string; emailed: boolean }>("/apiv2/users", "POST", { email, role });
    setEmail("");
    onInvited(made.email, made.token, made.emailed);
  });
  return (
    <form class="inline-form" onSubmit={(e) => void submit(e)} aria-label="Invite someone" noValidate>
      <label class="field">
        <span>Email</span>
        <input
          name="email"
          type="email"
          value={email}
          onInput={(e) => setEmail((e.target as HTMLInputElement).value)}
          aria-invalid={errors.email ? "true" : undefined}
          aria-describedby={errors.email ? "invite-err-email" : undefined}
        />
      </label>
      <label class="field">
        <span>Role</span>
        <select name="role" value={role} onChange={(e) => setRole((e.target as HTMLSelectElement).value as Role)}>
          <RoleOptions />
        </select>
      </label>
      <button type="submit" class="btn btn-primary" disabled={busy}>
        {busy ? "Inviting…" : "Invite"}
      </button>
      {errors.email && (
        <span id="invite-err-email" class="field-error">
          {errors.email}
        </span>
      )}
      <FormErrors errors={errors} summary="Not invited" />
    </form>
  );
}

function UserRow({ user: u, me, onChanged }: { user: UserView; me: boolean; onChanged(): void }) {
  const [problem, setProblem] = useState("");
  const act = async (fn: () => Promise<unknown>) => {
    setProblem("");
    try {
      await fn();
      onChanged();
    } catch (err) {
      setProblem((err as Error).message);
    }
  };
  return (
    <tr data-user={u.email}>
      <td>
        {u.name}
        {me && <span class="badge"> you</span>}
      </td>
      <td>{u.email}</td>
      <td>
        <select
          aria-label={`Role of ${u.email}`}
          value={u.role}
          onChange={(e) => void act(() => api(`/apiv2/users/${encodeURIComponent(u.id)}`, { method: "PUT", json: { role: (e.target as HTMLSelectElement).value } }))}
        >
          <RoleOptions />
        </select>
        {problem && (
          <p class="field-error" role="alert">
            {problem}
          </p>
        )}
      </td>
      <td>
        <ConfirmDelete name={u.email} onDelete={() => act(() => api(`/apiv2/users/${encodeURIComponent(u.id)}`, { method: "DELETE" }))} />
      </td>
    </tr>
  );
}

function InviteRow({ invite: i, onChanged }: { invite: InviteView; onChanged(): void }) {
  const [problem, setProblem] = useState("");
  const revoke = async () => {
    try {
      await api(`/apiv2/users/invites/${encodeURIComponent(i.id)}`, { method: "DELETE" });
      onChanged();
    } catch (err) {
      setProblem((err as Error).message);
    }
  };
  return (
    <tr data-invite={i.email}>
      <td>{i.email}</td>
      <td>{ROLE_NAMES[i.role]}</td>
      <td>
        {formatShort(Date.parse(i.expiresAt))}
        {problem && (
          <p class="field-error" role="alert">
            {problem}
          </p>
        )}
      </td>
      <td>
        <ConfirmDelete name={`the invitation of ${i.email}`} onDelete={revoke} />
      </td>
    </tr>
  );
}

function RoleOptions() {
  return (
    <>
      {ROLES.map((r) => (
        <option key={r} value={r}>
          {ROLE_NAMES[r]}
        </option>
      ))}
    </>
  );
}
