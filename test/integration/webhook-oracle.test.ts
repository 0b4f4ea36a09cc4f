import { spawn, spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import type { CapturedLine } from "@unmeltable/core";
import { ROOT } from "../helpers/program";

/**
 * The firing history is what a tenant reads about a webhook; if it said "refused", "no answer" or
 * "answered 405", a tenant could scan ports with it. To deliver to a public address that the test
 * controls, the sender runs in a network namespace of its own (unshare, as an unprivileged user too)
 * where that address is on the loopback interface: nothing outside the namespace is touched.
 */
const PUBLIC_ADDRESS = "11.0.0.1";
const NAMESPACE_SETUP = `ip link set lo up && ip addr add ${PUBLIC_ADDRESS}/32 dev lo`;
// `ip` lives in /usr/sbin, which an unprivileged user's PATH may lack.
const ENV = { ...process.env, PATH: `${process.env.PATH ?? ""}:/usr/sbin:/sbin`, UNMELTABLE_WEBHOOK_ALLOW: "" };
const namespaces = spawnSync("unshare", ["-rn", "sh", "-c", NAMESPACE_SETUP], { stdio: "ignore", env: ENV }).status === 0;

interface Delivery {
  ok: boolean;
  status?: number;
  error?: string;
  attempts: number;
  tries?: { at: number; ok: boolean; status?: number; error?: string }[];
}
interface Run {
  delivered: Delivery;
  failed: Record<string, Delivery>;
  hits: Record<string, number>;
}
interface ChildReport {
  asPublic: Run;
  allowListed: Run;
  log: CapturedLine[];
  timeoutMs: number;
}

function runInNamespace(): Promise<ChildReport> {
  return new Promise((resolve, reject) => {
    const child = spawn("unshare", ["-rn", "sh", "-c", `${NAMESPACE_SETUP} && exec "$0" --import tsx test/helpers/webhook-public-net-child.ts ${PUBLIC_ADDRESS}`, process.execPath], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
      env: ENV,
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (err += c.toString()));
    child.on("error", reject);
    child.on("exit", (code) => (code === 0 ? resolve(JSON.parse(out) as ChildReport) : reject(new Error(`the namespace child exited ${code}: ${err}`))));
  });
}

describe("the firing history is not a network oracle", () => {
  it.skipIf(!namespaces)("reads the same for a public destination that answered 405 or 500, refused, never answered or did not resolve; the operator's log and allow-listed hooks tell them apart", async () => {
    const r = await runInNamespace();
    expect(r.asPublic.delivered).toEqual({ ok: true, status: 204, attempts: 1, tries: [{ at: 0, ok: true, status: 204 }] });

    // Every failure reads the same, attempt by attempt (the child sets every attempt's time to 0).
    const message = "the webhook could not be delivered (the server's log says why)";
    const generic = { ok: false, error: message, attempts: 2, tries: [{ at: 0, ok: false, error: message }, { at: 0, ok: false, error: message }] };
    expect(r.asPublic.failed).toEqual({ answered405: generic, answered500: generic, noAnswer: generic, refused: generic, unresolvable: generic });
    // The requests did reach the receivers (twice: every failure is retried alike): the answers were hidden, not the deliveries skipped.
    expect(r.asPublic.hits).toEqual({ "204": 1, "405": 2, "500": 2 });

    const detailed = r.allowListed.failed;
    expect(r.allowListed.delivered).toMatchObject({ ok: true, status: 204, attempts: 1 });
    expect(detailed.answered405).toMatchObject({ ok: false, status: 405, error: "the webhook answered 405", attempts: 1 });
    expect(detailed.answered500).toMatchObject({ ok: false, status: 500, error: "the webhook answered 500", attempts: 2 });
    expect(detailed.answered500!.tries).toEqual([
      { at: 0, ok: false, status: 500, error: "the webhook answered 500" },
      { at: 0, ok: false, status: 500, error: "the webhook answered 500" },
    ]);
    expect(detailed.noAnswer).toMatchObject({ ok: false, error: `could not reach the webhook: no answer within ${r.timeoutMs} ms`, attempts: 2 });
    expect(detailed.refused).toMatchObject({ ok: false, error: "could not reach the webhook: ECONNREFUSED", attempts: 2 });

    // The operator's log has every detail, on warn lines bound to the alert and its destination.
    const warned = (fields: Record<string, unknown>) => expect(r.log).toContainEqual(expect.objectContaining({ level: "warn", fields: expect.objectContaining({ tenant: "acme", alert: "a1", attempt: expect.any(Number), ...fields }) }));
    warned({ status: 405 });
    warned({ status: 500 });
    warned({ reason: "ECONNREFUSED" });
    warned({ reason: `no answer within ${r.timeoutMs} ms` });
    warned({ detail: expect.stringContaining("hooks.unmeltable.invalid could not be resolved") });
  });
});
