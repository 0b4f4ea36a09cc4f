import { useState } from "preact/hooks";
import { api, ApiError, NetworkError, setToken, type UiConfig } from "../api";

/** Sign-in with the tenant's API token, kept in this tab's session only. */
export function SignIn({ notice, onSignedIn }: { notice?: string | null; onSignedIn(config: UiConfig): void }) {
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
      setToken(t);
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
    <main class="signin" id="main">
      <form class="card signin-card" onSubmit={(e) => void submit(e)} aria-labelledby="signin-h">
        <div class="brand brand-large" aria-hidden="true">
          <span class="logo" />
          unmeltable
        </div>
        <h1 id="signin-h">Sign in</h1>
        {notice && (
          <p class="banner banner-warn" role="status">
            {notice}
          </p>
        )}
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
          The API token is printed once, when the tenant is created (the server's first start, <code>unmeltable tenants add</code>); <code>unmeltable tenants rotate-token NAME</code> prints a new one. It is kept in this tab only and sent with every request.
        </p>
        <button type="submit" class="btn btn-primary btn-block" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
    </main>
  );
}
