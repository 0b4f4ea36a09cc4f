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
