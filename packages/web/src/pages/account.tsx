import { useState } from "preact/hooks";
import { api } from "../api";
import { formCall, loadIngestTokens, loadMe, loadTokens, ROLE_HELP, ROLE_NAMES, type IngestTokenView, type Me } from "../accounts";
import { ConfirmDelete } from "../components/confirm-delete";
import { DataTable } from "../components/data-table";
import { CopyBlock } from "../components/copy-block";
import { FormErrors, useFormSave } from "../components/form-actions";
import { ErrorBox, Loading } from "../components/states";
import { formatShort } from "../time";
import { useLoaded } from "../use-loaded";
import type { PageProps } from "./page";

/**
 * Account: who is signed in and with what role; a user's password and API tokens (for scripts and
 * Loggly's clients: they act with the user's role); and, for admins, the account's ingest tokens.
 */
export function AccountPage({ config }: PageProps) {
  const { value: me, error, reload } = useLoaded(loadMe);
  return (
    <div class="page page-account">
      <h1 class="page-title" tabIndex={-1}>
        Account
      </h1>
      {error && !me ? (
        <ErrorBox error={error} onRetry={reload} />
      ) : !me ? (
        <Loading label="Loading your account…" />
      ) : (
        <>
          <Who me={me} />
          {me.user && <PasswordForm />}
          {me.user && <ApiTokens />}
          {me.role === "admin" && config?.ingestTokens && <IngestTokens />}
        </>
      )}
    </div>
  );
}

function Who({ me }: { me: Me }) {
  return (
    <p class="lead" data-testid="who">
      {me.user ? (
        <>
          Signed in as <strong>{me.user.name}</strong> ({me.user.email}) to <strong>{me.account}</strong>, as <strong>{ROLE_NAMES[me.role]}</strong>: {ROLE_HELP[me.role]}.
        </>
      ) : (
        <>
          Signed in to <strong>{me.account}</strong> with the account's own API token, which acts as an admin and belongs to no one. For a password and API tokens of your own, invite yourself on
          the <a href="#/users">Users</a> page.
        </>
      )}
    </p>
  );
}

function PasswordForm() {
  const [current, setCurrent] = useState("");
  const [password, setPassword] = useState("");
  const [done, setDone] = useState(false);
  const { busy, errors, submit } = useFormSave(async () => {
    setDone(false);
    await formCall("/apiv2/me/password", "PUT", { current, password });
    setCurrent("");
    setPassword("");
    setDone(true);
  });
  return (
    <section class="account-section" aria-labelledby="password-h">
      <h2 id="password-h">Password</h2>
      <form class="inline-form" onSubmit={(e) => void submit(e)} aria-label="Change your password" noValidate>
        <label class="field">
          <span>Current password</span>
          <input
            name="current"
            type="password"
            autocomplete="current-password"
            value={current}
            onInput={(e) => setCurrent((e.target as HTMLInputElement).value)}
            aria-invalid={errors.current ? "true" : undefined}
            aria-describedby={errors.current ? "pw-err-current" : undefined}
          />
        </label>
        <label class="field">
          <span>New password</span>
          <input name="password" type="password" autocomplete="new-password" value={password} onInput={(e) => setPassword((e.target as HTMLInputElement).value)} />
        </label>
        <button type="submit" class="btn" disabled={busy}>
          {busy ? "Changing…" : "Change password"}
        </button>
      </form>
      {errors.current && (
        <p id="pw-err-current" class="field-error">
          The current password is not right.
        </p>
      )}
      <FormErrors errors={errors} summary="Not changed" />
      <p class="muted small" role="status">
        {done ? "Changed. Your other sessions (other browsers) are signed out." : "At least 10 characters. Changing it signs out your other sessions."}
      </p>
    </section>
  );
}

function ApiTokens() {
  const { value: tokens, error, reload } = useLoaded(loadTokens);
  const [made, setMade] = useState<{ label: string; token: string } | null>(null);
  return (
    <section class="account-section" aria-labelledby="tokens-h">
      <h2 id="tokens-h">Your API tokens</h2>
      <p class="muted">For scripts and tools that read logs through the API (Loggly's clients send it as a bearer token, or as the password of HTTP basic). A token acts with your role, and stops when you revoke it or leave the account.</p>
      <LabelForm
        name="New API token"
        field="What it is for"
        placeholder="e.g. grafana, nightly report"
        submit={["Make token", "Making…"]}
        summary="No token made"
        onSubmit={async (label) => (setMade(await formCall<{ label: string; token: string }>("/apiv2/me/tokens", "POST", { label })), reload())}
      />
      {made && <CopyBlock id="new-api-token" title={`API token “${made.label}”`} hint="Copy it now: it is not shown again." text={made.token} />}
      {error && !tokens ? (
        <ErrorBox error={error} onRetry={reload} />
      ) : !tokens ? (
        <Loading label="Loading your tokens…" />
      ) : tokens.length === 0 ? (
        <p class="muted">No API tokens yet.</p>
      ) : (
        <DataTable columns={["Token", "Made"]}>
          {tokens.map((t) => (
            <tr key={t.id} data-token={t.label}>
              <td>{t.label}</td>
              <td>{formatShort(Date.parse(t.createdAt))}</td>
              <td>
                <ConfirmDelete name={`token ${t.label}`} onDelete={() => api(`/apiv2/me/tokens/${encodeURIComponent(t.id)}`, { method: "DELETE" }).then(reload)} />
              </td>
            </tr>
          ))}
        </DataTable>
      )}
    </section>
  );
}

function IngestTokens() {
  const { value: tokens, error, reload } = useLoaded(loadIngestTokens);
  const [problem, setProblem] = useState("");
  const [made, setMade] = useState<IngestTokenView | null>(null);
  const remove = async (id: string) => {
    setProblem("");
    try {
      await api(`/apiv2/ingesttokens/${encodeURIComponent(id)}`, { method: "DELETE" });
      reload();
    } catch (err) {
      setProblem((err as Error).message);
    }
  };
  return (
    <section class="account-section" aria-labelledby="ingest-h">
      <h2 id="ingest-h">Ingest tokens</h2>
      <p class="muted">
        Senders put one in the URL (<code>/inputs/TOKEN</code>) or in the syslog structured data. To change a token without losing logs: add a new one, move the senders to it, then remove
        the old one. Senders still using a removed token are refused.
      </p>
      <LabelForm
        name="New ingest token"
        field="Which senders use it"
        placeholder="e.g. web servers"
        submit={["Add ingest token", "Adding…"]}
        summary="No token added"
        onSubmit={async (label) => (setMade(await formCall<IngestTokenView>("/apiv2/ingesttokens", "POST", { label })), reload())}
      />
      {made?.token && <CopyBlock id="new-ingest-token" title={`Ingest token “${made.label}”`} hint={tokens?.some((t) => t.token === undefined) ? "Copy it now: it is not shown again." : "Put it in the senders' configuration."} text={made.token} />}
      {problem && (
        <p class="field-error" role="alert">
          {problem}
        </p>
      )}
      {error && !tokens ? (
        <ErrorBox error={error} onRetry={reload} />
      ) : !tokens ? (
        <Loading label="Loading the ingest tokens…" />
      ) : (
        <DataTable columns={["Token", "Used by", "Made"]}>
          {tokens.map((t) => (
            <tr key={t.id} data-ingest-token={t.token ?? t.id}>
              <td>{t.token !== undefined ? <code>{t.token}</code> : <span class="muted">shown once, when made</span>}</td>
              <td>
                {t.label}
                {t.primary && <span class="badge"> shown in Send logs</span>}
              </td>
              <td>{formatShort(Date.parse(t.createdAt))}</td>
              <td>{tokens.length > 1 && <ConfirmDelete name={`ingest token ${t.label}`} onDelete={() => remove(t.id)} />}</td>
            </tr>
          ))}
        </DataTable>
      )}
    </section>
  );
}

/** A one-field form that makes a token from its label (the field emptied once it is made). */
function LabelForm(props: { name: string; field: string; placeholder: string; submit: [string, string]; summary: string; onSubmit(label: string): Promise<void> }) {
  const [label, setLabel] = useState("");
  const { busy, errors, submit } = useFormSave(async () => {
    await props.onSubmit(label);
    setLabel("");
  });
  return (
    <>
      <form class="inline-form" onSubmit={(e) => void submit(e)} aria-label={props.name} noValidate>
        <label class="field">
          <span>{props.field}</span>
          <input name="label" placeholder={props.placeholder} value={label} onInput={(e) => setLabel((e.target as HTMLInputElement).value)} maxLength={100} />
        </label>
        <button type="submit" class="btn btn-primary" disabled={busy}>
          {busy ? props.submit[1] : props.submit[0]}
        </button>
      </form>
      <FormErrors errors={errors} summary={props.summary} />
    </>
  );
}
