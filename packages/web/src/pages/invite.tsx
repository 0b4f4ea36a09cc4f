import { useEffect, useState } from "preact/hooks";
import { api, ApiError, FormFailed, type UiConfig } from "../api";
import { ROLE_HELP, ROLE_NAMES, type Role } from "../accounts";
import { AuthCard } from "../components/auth-card";
import { FormErrors, useFormSave } from "../components/form-actions";
import { ErrorBox, Loading } from "../components/states";
import { startSession } from "./sign-in";

interface Offer {
  account: string;
  email: string;
  role: Role;
  expiresAt: string;
}

/** An invitation's link (`#/invite/TOKEN`), opened before signing in: a name and a password, and the new user is signed in. */
export function InvitePage({ token, onSignedIn }: { token: string; onSignedIn(config: UiConfig): void }) {
  const [offer, setOffer] = useState<Offer | undefined>();
  const [problem, setProblem] = useState<unknown>(null);
  const [name, setName] = useState("");
  const [password, setPassword] = useState("");
  useEffect(() => {
    api<Offer>(`/auth/invite?token=${encodeURIComponent(token)}`, { token: "" }).then(setOffer, setProblem);
  }, [token]);
  const { busy, errors, submit } = useFormSave(async () => {
    const problems: Record<string, string> = {};
    if (!name.trim()) problems.name = "Your name, as your colleagues will see it.";
    if (password.length < 10) problems.password = "At least 10 characters.";
    if (Object.keys(problems).length > 0) throw new FormFailed(new ApiError(400, "Not joined", { errors: Object.entries(problems).map(([field, message]) => ({ field, message })) }));
    const session = await api<{ token: string; account: string }>("/auth/invite", { method: "POST", json: { token, name: name.trim(), password }, token: "" });
    onSignedIn(await startSession(session));
  });
  const field = (k: string) => ({ "aria-invalid": errors[k] ? ("true" as const) : undefined, "aria-describedby": errors[k] ? `invite-err-${k}` : undefined });
  const err = (k: string) =>
    errors[k] ? (
      <span id={`invite-err-${k}`} class="field-error">
        {errors[k]}
      </span>
    ) : null;
  return (
    <AuthCard headingId="invite-h" heading={`Join ${offer ? offer.account : "an account"}`}>
      {problem ? (
        problem instanceof ApiError && problem.status === 404 ? (
          <p class="banner banner-warn" role="alert">
            This invitation is unknown, used or expired. Ask an admin of the account for a new one.
          </p>
        ) : (
          <ErrorBox error={problem} />
        )
      ) : !offer ? (
        <Loading label="Opening the invitation…" />
      ) : (
        <form onSubmit={(e) => void submit(e)} aria-labelledby="invite-h" noValidate>
          <p>
            You are invited as <strong>{ROLE_NAMES[offer.role]}</strong> ({ROLE_HELP[offer.role]}). Choose a name and a password to sign in with <strong>{offer.email}</strong>.
          </p>
          <label class="field">
            <span>Email</span>
            <input name="email" type="email" autocomplete="username" value={offer.email} readOnly />
          </label>
          <label class="field">
            <span>Your name</span>
            <input name="name" autocomplete="name" value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} maxLength={100} {...field("name")} />
            {err("name")}
          </label>
          <label class="field">
            <span>Password</span>
            <input name="password" type="password" autocomplete="new-password" value={password} onInput={(e) => setPassword((e.target as HTMLInputElement).value)} {...field("password")} />
            {err("password")}
          </label>
          <p class="muted small">At least 10 characters; a few words you will remember are better than a short jumble.</p>
          <FormErrors errors={errors} summary="Not joined" />
          <button type="submit" class="btn btn-primary btn-block" disabled={busy}>
            {busy ? "Joining…" : "Join and sign in"}
          </button>
        </form>
      )}
    </AuthCard>
  );
}
