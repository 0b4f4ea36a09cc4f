import { useState } from "preact/hooks";

/** "Delete" that asks once more ("Yes, delete" / "Keep") before it calls `onDelete`. */
export function ConfirmDelete({ name, onDelete }: { name: string; onDelete(): Promise<unknown> }) {
  const [asking, setAsking] = useState(false);
  if (!asking) {
    return (
      <button type="button" class="btn btn-small" onClick={() => setAsking(true)} aria-label={`Delete ${name}`}>
        Delete
      </button>
    );
  }
  return (
    <span class="confirm" role="group" aria-label={`Delete ${name}?`}>
      <span>Delete?</span>
      <button type="button" class="btn btn-small btn-danger" onClick={() => void onDelete().finally(() => setAsking(false))}>
        Yes, delete
      </button>
      <button type="button" class="btn btn-small" onClick={() => setAsking(false)}>
        Keep
      </button>
    </span>
  );
}
