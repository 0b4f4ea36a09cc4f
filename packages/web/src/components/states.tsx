import type { ComponentChildren } from "preact";
import { ApiError, NetworkError } from "../api";

/** A designed empty state: what is (not) there, and what to do about it. */
export function Empty({ title, children, icon = "∅" }: { title: string; children?: ComponentChildren; icon?: string }) {
  return (
    <div class="state state-empty" role="status">
      <div class="state-icon" aria-hidden="true">
        {icon}
      </div>
      <h2>{title}</h2>
      {children}
    </div>
  );
}

export function Loading({ label = "Loading…" }: { label?: string }) {
  return (
    <div class="state state-loading" role="status" aria-live="polite">
      <span class="spinner" aria-hidden="true" />
      <span>{label}</span>
    </div>
  );
}

/** An error, explained: the server down, a refused request, or something unexpected. */
export function ErrorBox({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  const down = error instanceof NetworkError;
  const title = down ? "Can't reach the server" : error instanceof ApiError ? `The server refused this (${error.status})` : "Something went wrong";
  const message = down
    ? "The unmeltable server is not answering. It may be restarting; your logs are still being accepted by the collectors if they run. Try again in a moment."
    : error instanceof Error
      ? error.message
      : String(error);
  return (
    <div class="state state-error" role="alert">
      <div class="state-icon" aria-hidden="true">
        !
      </div>
      <h2>{title}</h2>
      <p>{message}</p>
      {onRetry && (
        <button type="button" class="btn" onClick={onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}
