import type { ObjectStore } from "@unmeltable/core";

/** An object's JSON, or undefined when there is none (any other failure is thrown: S3 down is not "none"). */
export async function readJson<T>(store: ObjectStore, key: string): Promise<T | undefined> {
  try {
    const chunks: Buffer[] = [];
    for await (const c of await store.get(key)) chunks.push(c as Buffer);
    return JSON.parse(Buffer.concat(chunks).toString("utf8")) as T;
  } catch (err) {
    if ((err as Error).name === "ObjectNotFoundError") return undefined;
    throw err;
  }
}

export function writeJson(store: ObjectStore, key: string, value: unknown): Promise<void> {
  return store.put(key, Buffer.from(JSON.stringify(value)), "application/json");
}

/**
 * The JSON of each key, for a listing: an object that is not JSON (a torn or hand-edited write) is left
 * out rather than failing the whole list — one bad record must not hide a tenant's others.
 */
export async function readJsonEach<T>(store: ObjectStore, keys: readonly string[]): Promise<T[]> {
  const values = await Promise.all(
    keys.map((k) =>
      readJson<T>(store, k).catch((err: unknown) => {
        if (err instanceof SyntaxError) return undefined;
        throw err;
      }),
    ),
  );
  return values.filter((v): v is Awaited<T> => v !== undefined);
}
