import { useState } from "preact/hooks";
import { FormFailed } from "../api";

/**
 * A form's submit: `save` runs once per submit (busy meanwhile); a failure becomes the form's errors by
 * field (FormFailed), replacing the last ones.
 */
export function useFormSave(save: () => Promise<void>): { busy: boolean; errors: Record<string, string | undefined>; submit(e: Event): Promise<void> } {
  const [errors, setErrors] = useState<Record<string, string | undefined>>({});
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    try {
      await save();
    } catch (err) {
      setErrors((err instanceof FormFailed ? err : new FormFailed(err)).errors);
    } finally {
      setBusy(false);
    }
  };
  return { busy, errors, submit };
}

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
