import { useEffect, useState } from "preact/hooks";
import { api, ApiError, apiUrl, NetworkError, setToken, type UiConfig } from "../api";
import { AuthCard } from "../components/auth-card";

const METHOD_KEY = "unmeltable.signInWith";
const ACCOUNT_KEY = "unmeltable.account";

function remembered(key: string): string | null {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

function remember(key: string, value: string): void {
  try {
    localStorage.setItem(key, value);
  } catch {
    // storage disabled: nothing remembered
  }
}

function forget(key: string): void {
  try {
    localStorage.removeItem(key);
  } catch {
    // storage disabled
  }
}

/** A user's session from `/auth/login` or `/auth/invite`, kept across tabs, and the UI's configuration with it. */
export async function startSession(session: { token: string; account: string }): Promise<UiConfig> {
  const cfg = await api<UiConfig>("/ui/config", { token: session.token });
  setToken(session.token, "session");
  remember(METHOD_KEY, "password");
  remember(ACCOUNT_KEY, session.account);
  return cfg;
}

/** How one signs in here (`GET /auth/methods`): single sign-on's name where the server has it. */
function useSso(): { name: string } | null {
  const [sso, setSso] = useState<{ name: string } | null>(null);
  useEffect(() => {
    api<{ sso: { name: string } | null }>("/auth/methods", { token: "" }).then(
      (m) => setSso(m.sso),
      () => undefined, // an older server, or none: email and password, or a token
    );
  }, []);
  return sso;
}

/** Off to the identity provider, which sends the browser back to the UI with a session (app.tsx, `#/sso`). */
export function startSso(account: string): void {
  remember(ACCOUNT_KEY, account);
  remember(METHOD_KEY, "password");
  const back = location.hash.startsWith("#/") && !location.hash.startsWith("#/sso") ? location.hash : "#/search";
  location.assign(apiUrl(`/auth/sso?${new URLSearchParams({ account, back })}`));
}

/**
 * Sign-in: with email and password (a user's session, kept across tabs), or with the tenant's API token
 * (this tab only) — what a newcomer has from the first start, and what the browser used last time.
 */
export function SignIn({ notice, onSignedIn }: { notice?: string | null; onSignedIn(config: UiConfig): void }) {
  const [method, setMethod] = useState<"password" | "token">(() => (remembered(METHOD_KEY) === "password" ? "password" : "token"));
  const sso = useSso();
  // Where the server has single sign-on, its button (on the account form) is what a user looks for first.
  useEffect(() => {
    if (sso && remembered(METHOD_KEY) === null) setMethod("password");
  }, [sso]);
  return (
    <AuthCard headingId="signin-h" heading="Sign in">
      {notice && (
        <p class="banner banner-warn" role="status">
          {notice}
        </p>
      )}
      {method === "password" ? <PasswordForm onSignedIn={onSignedIn} sso={sso} /> : <TokenForm onSignedIn={onSignedIn} />}
      <p class="signin-switch">
        <button type="button" class="btn-link" onClick={() => setMethod(method === "password" ? "token" : "password")}>
          {method === "password" ? "Use an API token instead" : "Use email and password instead"}
        </button>
      </p>
    </AuthCard>
  );
}

function PasswordForm({ onSignedIn, sso }: { onSignedIn(config: UiConfig): void; sso: { name: string } | null }) {
  const [account, setAccount] = useState(() => remembered(ACCOUNT_KEY) ?? "");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState("");
  const submit = async (e: Event) => {
    e.preventDefault();
    if (!account.trim() || !email.trim() || !password) return setError("Fill in the account, your email address and your password.");
    setBusy(true);
    setError("");
    try {
      const session = await api<{ token: string; account: string }>("/auth/login", { method: "POST", json: { account: account.trim(), email: email.trim(), password }, token: "" });
      onSignedIn(await startSession(session));
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) setError("Wrong account, email or password.");
      else if (err instanceof ApiError && err.status === 429) setError(`${err.message}.`);
      else if (err instanceof NetworkError) setError("The server cannot be reached. Is unmeltable running?");
      else setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  const described = error ? { "aria-invalid": "true" as const, "aria-describedby": "signin-error" } : {};
  return (
    <form onSubmit={(e) => void submit(e)} aria-labelledby="signin-h" noValidate>
      <label class="field">
        <span>Account</span>
        <input name="account" autocomplete="organization" spellcheck={false} value={account} onInput={(e) => setAccount((e.target as HTMLInputElement).value)} {...described} />
      </label>
      <label class="field">
        <span>Email</span>
        <input name="email" type="email" autocomplete="username" spellcheck={false} value={email} onInput={(e) => setEmail((e.target as HTMLInputElement).value)} autoFocus {...described} />
      </label>
      <label class="field">
        <span>Password</span>
        <input name="password" type="password" autocomplete="current-password" value={password} onInput={(e) => setPassword((e.target as HTMLInputElement).value)} {...described} />
      </label>
      {error && (
        <p id="signin-error" class="field-error" role="alert">
          {error}
        </p>
      )}
      <p class="muted small">The account is the name of your tenant. No password yet? An admin of your account invites you: the invitation's link sets one.</p>
      <button type="submit" class="btn btn-primary btn-block" disabled={busy}>
        {busy ? "Signing in…" : "Sign in"}
      </button>
      {sso && (
        <>
          <p class="signin-or muted small" aria-hidden="true">
            or
          </p>
          <button
            type="button"
            class="btn btn-block"
            disabled={busy}
            onClick={() => {
              if (!account.trim()) return setError("Fill in the account (the name of your tenant) first.");
              startSso(account.trim());
            }}
          >
            Sign in with {sso.name}
          </button>
        </>
      )}
    </form>
  );
}

function TokenForm({ onSignedIn }: { onSignedIn(config: UiConfig): void }) {
  const [token, setTokenText] = useState("");
  const [show, setShow] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState("");
  const submit = async (e: Event) => {
    e.preventDefault();
    const t = token.trim();
    if (!t) return setError("Paste your API token first.");
    setBusy(true);
    setError("");
    try {
      const cfg = await api<UiConfig>("/ui/config", { token: t });
      setToken(t, "api");
      // The default: nothing to remember (and nothing of an API token's sign-in left in localStorage).
      forget(METHOD_KEY);
      onSignedIn(cfg);
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) {
        setError(
          /^[0-9a-f]{8}-[0-9a-f]{4}-/i.test(t)
            ? "That looks like an ingest token (for sending logs). Sign in with the tenant's API token."
            : "This token was not accepted. Check that it is the tenant's API token.",
        );
      } else if (err instanceof NetworkError) setError("The server cannot be reached. Is unmeltable running?");
      else setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  const tokenInput = {
    id: "token",
    name: "token",
    autocomplete: "off",
    spellcheck: false,
    class: "mono",
    value: token,
    onInput: (e: Event) => setTokenText((e.target as HTMLInputElement).value),
    "aria-invalid": error ? ("true" as const) : undefined,
    "aria-describedby": `token-help${error ? " token-error" : ""}`,
    autoFocus: true,
  };
  return (
    <form onSubmit={(e) => void submit(e)} aria-labelledby="signin-h">
      <label class="field" for="token">
        <span>API token</span>
      </label>
      <div class="token-row">
        {/* Two branches: the input's type is part of its props type. */}
        {show ? <input type="text" {...tokenInput} /> : <input type="password" {...tokenInput} />}
        <button type="button" class="btn" aria-pressed={show ? "true" : "false"} onClick={() => setShow(!show)}>
          {show ? "Hide" : "Show"}
        </button>
      </div>
      {error && (
        <p id="token-error" class="field-error" role="alert">
          {error}
        </p>
      )}
      <p id="token-help" class="muted small">
        The tenant's API token is printed once, when the tenant is created (the server's first start, <code>unmeltable tenants add</code>); <code>unmeltable tenants rotate-token NAME</code> prints a new one. A
        user's own API token (made on the Account page) works too. It is kept in this tab only and sent with every request.
      </p>
      <button type="submit" class="btn btn-primary btn-block" disabled={busy}>
        {busy ? "Signing in…" : "Sign in"}
      </button>
    </form>
  );
}
