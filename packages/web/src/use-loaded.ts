import { useEffect, useState } from "preact/hooks";

/**
 * What a page lists from the API: loaded on mount and on `reload()`, the request aborted when the page
 * goes or reloads. `error` is the last failure (kept while an older value is still shown).
 */
export function useLoaded<T>(load: (signal: AbortSignal) => Promise<T>): { value: T | undefined; error: unknown; reload(): void } {
  const [value, setValue] = useState<T | undefined>();
  const [error, setError] = useState<unknown>(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const ctl = new AbortController();
    load(ctl.signal).then(
      (v) => (setValue(() => v), setError(null)),
      (err: unknown) => (err as Error).name !== "AbortError" && setError(err),
    );
    return () => ctl.abort();
    // `load` is a module function of the page: the tick alone says when to load again.
  }, [tick]);
  return { value, error, reload: () => setTick((t) => t + 1) };
}
