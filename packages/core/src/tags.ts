/**
 * Loggly tags: alphanumerics, dash, period and underscore, starting with an alphanumeric, at most 64
 * characters (the limit Loggly's own clients enforce). Invalid tags are dropped, not the event.
 */
const TAG_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function isValidTag(tag: string): boolean {
  return TAG_PATTERN.test(tag);
}

export interface TagParse {
  tags: string[];
  /** Tags that were present but invalid, so callers can count them. */
  rejected: string[];
}

/** Splits comma-separated tag lists (URL segment, X-LOGGLY-TAG) and unites them, keeping first-seen order. */
export function uniteTags(...lists: (string | readonly string[] | undefined | null)[]): TagParse {
  const seen = new Set<string>();
  const rejected: string[] = [];
  for (const list of lists) {
    if (list == null) continue;
    const parts = typeof list === "string" ? list.split(",") : list;
    for (const raw of parts) {
      const tag = raw.trim();
      if (tag === "") continue;
      if (!isValidTag(tag)) {
        rejected.push(tag);
        continue;
      }
      seen.add(tag);
    }
  }
  return { tags: [...seen], rejected };
}
