import { randomUUID } from "node:crypto";
import { RECORD_ID, type ObjectStore, type RecordStore, type Stored } from "@unmeltable/core";
import { readJson, readJsonEach, writeJson } from "./object-json";

/**
 * A tenant's named records of one kind in an object store (S3 on AWS, beside the alerts): one object
 * per record, `<tenant>/<kind>/<id>.json`.
 */
export class ObjectRecordStore<S extends object> implements RecordStore<S> {
  constructor(
    private readonly store: ObjectStore,
    private readonly kind: string,
  ) {}

  async list(tenant: string): Promise<Stored<S>[]> {
    const records = await readJsonEach<Stored<S>>(this.store, await this.store.list(`${tenant}/${this.kind}/`));
    return records.sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
  }

  get(tenant: string, id: string): Promise<Stored<S> | undefined> {
    return this.read(this.key(tenant, id));
  }

  async create(tenant: string, spec: S, now: number): Promise<Stored<S>> {
    const record: Stored<S> = { ...spec, id: randomUUID(), tenant, createdAt: now, updatedAt: now };
    await this.write(record);
    return record;
  }

  async update(tenant: string, id: string, spec: S, now: number): Promise<Stored<S> | undefined> {
    const current = await this.get(tenant, id);
    if (!current) return undefined;
    const next: Stored<S> = { ...spec, id, tenant, createdAt: current.createdAt, updatedAt: Math.max(now, current.updatedAt + 1) };
    await this.write(next);
    return next;
  }

  async delete(tenant: string, id: string): Promise<boolean> {
    if (!(await this.get(tenant, id))) return false;
    await this.store.delete(this.key(tenant, id));
    return true;
  }

  private key(tenant: string, id: string): string {
    if (!RECORD_ID.test(id)) throw new Error(`invalid record id ${JSON.stringify(id)}`);
    return `${tenant}/${this.kind}/${id}.json`;
  }

  private read(key: string): Promise<Stored<S> | undefined> {
    return readJson<Stored<S>>(this.store, key);
  }

  private write(record: Stored<S>): Promise<void> {
    return writeJson(this.store, this.key(record.tenant, record.id), record);
  }
}
