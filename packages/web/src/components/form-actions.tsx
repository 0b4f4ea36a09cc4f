/** A form's submit button (saying "Saving…" while busy) and its Cancel. */
export function FormActions({ submit, busy = false, onCancel }: { submit: string; busy?: boolean; onCancel(): void }) {
  return (
    <div class="form-actions">
      <button type="submit" class="btn btn-primary" disabled={busy}>
        {busy ? "Saving…" : submit}
      </button>
      <button type="button" class="btn" onClick={onCancel}>
        Cancel
      </button>
    </div>
  );
}

/**
 * A form's errors that no field shows: the whole request's (`body`) in view, and, for screen readers,
 * every error at once when the fields show theirs (`summary`: "Not saved", "The chart was not added").
 */
export function FormErrors({ errors, summary = "Not saved" }: { errors: Record<string, string | undefined>; summary?: string }) {
  const messages = Object.values(errors).filter((m): m is string => typeof m === "string" && m !== "");
  if (errors.body) {
    return (
      <p class="field-error" role="alert">
        {errors.body}
      </p>
    );
  }
  return messages.length > 0 ? (
    <p class="sr-only" role="alert">
      {summary}: {messages.join("; ")}
    </p>
  ) : null;
}
