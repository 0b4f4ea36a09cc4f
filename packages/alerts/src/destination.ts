import dns from "node:dns";
import net from "node:net";
import ipaddr from "ipaddr.js";

/**
 * Where a webhook may go. A tenant chooses the URL, and the server (or the alerts Lambda) makes the
 * request from inside the network: without a check, a webhook is a way to reach the cloud metadata
 * service (169.254.169.254), the server's own ports, or the private network — and its delivery history
 * a port scanner. So by default a webhook goes only to public unicast addresses, checked after DNS
 * resolution; the operator may allow more (`--webhook-allow` / `UNMELTABLE_WEBHOOK_ALLOW`: CIDRs,
 * addresses and host names). The addresses a check returns are the ones the sender connects to, so a
 * second DNS answer (rebinding) cannot swap them.
 */
export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/**
 * Resolves a host name to every address it has (the system resolver by default: /etc/hosts, DNS).
 * `owner` (the tenant) lets a resolver share its capacity fairly.
 */
export type Resolve = (host: string, owner?: string) => Promise<ResolvedAddress[]>;

export type DestinationCheck =
  | {
      ok: true;
      /** The addresses to connect to, all checked. */
      addresses: ResolvedAddress[];
      /** Allowed by the operator's list (not merely public): delivery failures may then be told in detail. */
      allowListed: boolean;
    }
  | {
      ok: false;
      /** For the tenant who typed the URL: says what is allowed, and never what an internal name resolves to. */
      reason: string;
      /** For the server's log. */
      detail: string;
    };

export interface WebhookPolicyOptions {
  /** CIDRs (`10.0.0.0/8`), addresses (`127.0.0.1`) and host names (`hooks.internal`, `*.corp.example`). */
  allow?: readonly string[];
  resolve?: Resolve;
}

/** The environment variable (and `--webhook-allow` flag) with the operator's allow-list. */
export const WEBHOOK_ALLOW_ENV = "UNMELTABLE_WEBHOOK_ALLOW";
const HOW_TO_ALLOW = "webhooks go to public internet addresses only (an operator can allow more with --webhook-allow)";

const CLASS_NAMES: Record<string, string> = {
  loopback: "a loopback address",
  private: "a private network address",
  uniqueLocal: "a private network address (IPv6 unique local)",
  linkLocal: "a link-local address (like the cloud metadata service)",
  carrierGradeNat: "a carrier-grade NAT address",
  unspecified: "an unspecified address",
  multicast: "a multicast address",
  broadcast: "the broadcast address",
  reserved: "a reserved address",
  ipv4Mapped: "an IPv4 address in IPv6 form",
  ipv4Compatible: "an IPv4 address in IPv6 form",
  rfc6145: "an IPv4 address in IPv6 form",
  rfc6052: "an IPv4 address in IPv6 form (NAT64)",
  "6to4": "an IPv4 address in IPv6 form (6to4)",
  teredo: "an IPv4 address in IPv6 form (Teredo)",
};

const GLOBAL_UNICAST_V6 = ipaddr.parseCIDR("2000::/3");

/**
 * Why `address` is not a public unicast address (`loopback`, `private`, `linkLocal`, ... ipaddr.js's
 * range names), or undefined when it is one. Only IPv4 `unicast` and IPv6 global unicast (2000::/3)
 * pass: every other range — including the IPv6 forms that embed an IPv4 address — is refused.
 */
export function addressClass(address: string): string | undefined {
  let ip: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    ip = ipaddr.parse(address);
  } catch {
    return "invalid";
  }
  const range = ip.range();
  if (ip.kind() === "ipv4") return range === "unicast" ? undefined : range;
  const v6 = ip as ipaddr.IPv6;
  // ipaddr.js calls ::a.b.c.d (IPv4-compatible, deprecated) plain unicast: it is not a global address.
  if (range === "unicast" && v6.parts.slice(0, 6).every((p) => p === 0)) return "ipv4Compatible";
  if (range !== "unicast") return range;
  return v6.match(GLOBAL_UNICAST_V6) ? undefined : "reserved";
}

function describeClass(cls: string): string {
  return CLASS_NAMES[cls] ?? "not a public internet address";
}

type AllowEntry = { kind: "cidr"; range: [ipaddr.IPv4 | ipaddr.IPv6, number]; text: string } | { kind: "host"; name: string; wildcard: boolean; text: string };

const HOST_NAME = /^(\*\.)?([a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$/;

/** Splits and checks an allow-list (`10.0.0.0/8, hooks.internal`); throws on an entry that is none of CIDR, address or host name. */
export function parseAllowList(text: string | readonly string[] | undefined): string[] {
  const items = (typeof text === "string" ? [text] : (text ?? [])).flatMap((t) => t.split(/[\s,]+/)).filter((t) => t !== "");
  for (const item of items) parseEntry(item);
  return items;
}

function parseEntry(text: string): AllowEntry {
  const t = text.trim().toLowerCase();
  if (t.includes("/")) {
    try {
      return { kind: "cidr", range: ipaddr.parseCIDR(t), text };
    } catch {
      throw new Error(`webhook allow-list: ${JSON.stringify(text)} is not a valid CIDR (like 10.0.0.0/8 or fd00::/8)`);
    }
  }
  const bare = t.startsWith("[") && t.endsWith("]") ? t.slice(1, -1) : t;
  if (net.isIP(bare)) {
    const ip = ipaddr.parse(bare);
    return { kind: "cidr", range: [ip, ip.kind() === "ipv4" ? 32 : 128], text };
  }
  const name = t.replace(/\.$/, "");
  if (!HOST_NAME.test(name) || name.length > 253) throw new Error(`webhook allow-list: ${JSON.stringify(text)} is not a CIDR, an IP address or a host name`);
  return name.startsWith("*.") ? { kind: "host", name: name.slice(2), wildcard: true, text } : { kind: "host", name, wildcard: false, text };
}

function inRange(address: string, range: [ipaddr.IPv4 | ipaddr.IPv6, number]): boolean {
  let ip = ipaddr.parse(address);
  // An IPv4 range also covers the same addresses written in IPv6 form (::ffff:a.b.c.d).
  if (ip.kind() === "ipv6" && range[0].kind() === "ipv4" && (ip as ipaddr.IPv6).isIPv4MappedAddress()) ip = (ip as ipaddr.IPv6).toIPv4Address();
  return ip.kind() === range[0].kind() && ip.match(range);
}

export class WebhookPolicy {
  private readonly entries: AllowEntry[];
  private readonly resolve: Resolve;

  constructor(options: WebhookPolicyOptions = {}) {
    this.entries = parseAllowList(options.allow).map(parseEntry);
    this.resolve = options.resolve ?? systemResolver();
  }

  /** The policy in UNMELTABLE_WEBHOOK_ALLOW (one per distinct value, so that its DNS limit is shared). */
  static fromEnv(env: NodeJS.ProcessEnv = process.env): WebhookPolicy {
    const text = env[WEBHOOK_ALLOW_ENV] ?? "";
    let policy = fromEnvCache.get(text);
    if (!policy) {
      policy = new WebhookPolicy({ allow: parseAllowList(text) });
      fromEnvCache.set(text, policy);
    }
    return policy;
  }

  /** One line for the server's log at start. */
  describe(): string {
    return this.entries.length === 0 ? "webhooks go to public addresses only" : `webhooks go to public addresses and to ${this.entries.map((e) => e.text).join(", ")}`;
  }

  /** Checks a webhook URL and resolves its host, for `owner` (the tenant whose webhook it is). Never throws. */
  async check(url: string | URL, owner?: string): Promise<DestinationCheck> {
    let u: URL;
    try {
      u = typeof url === "string" ? new URL(url) : url;
    } catch {
      return { ok: false, reason: "the webhook URL is not a valid URL", detail: "invalid URL" };
    }
    if (u.protocol !== "http:" && u.protocol !== "https:") return { ok: false, reason: "the webhook URL must start with http:// or https://", detail: `protocol ${u.protocol}` };
    // The WHATWG parser has already turned 2130706433, 0x7f.1 and 0177.0.0.1 into 127.0.0.1.
    const host = u.hostname.startsWith("[") ? u.hostname.slice(1, -1) : u.hostname;
    const name = host.toLowerCase().replace(/\.$/, "");
    if (net.isIP(host)) {
      const listed = this.addressListed(host);
      const cls = addressClass(host);
      if (cls !== undefined && !listed) {
        return { ok: false, reason: `the webhook URL points to ${host}, ${describeClass(cls)}: ${HOW_TO_ALLOW}`, detail: `${host} is ${cls}` };
      }
      return { ok: true, addresses: [{ address: host, family: net.isIPv6(host) ? 6 : 4 }], allowListed: listed };
    }
    const refused = (detail: string): DestinationCheck => ({ ok: false, reason: `${name} does not resolve to a public internet address: ${HOW_TO_ALLOW}`, detail });
    const nameListed = this.hostListed(name);
    let addresses: ResolvedAddress[];
    try {
      addresses = await this.resolve(host, owner);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      return refused(`${name} could not be resolved: ${e.code ?? e.message}`);
    }
    if (addresses.length === 0) return refused(`${name} has no addresses`);
    if (nameListed) return { ok: true, addresses, allowListed: true };
    // Every address must pass: the sender may connect to any of them.
    for (const a of addresses) {
      const cls = addressClass(a.address);
      if (cls !== undefined && !this.addressListed(a.address)) return refused(`${name} resolves to ${a.address} (${cls})`);
    }
    return { ok: true, addresses, allowListed: addresses.every((a) => this.addressListed(a.address)) };
  }

  private addressListed(address: string): boolean {
    return this.entries.some((e) => e.kind === "cidr" && inRange(address, e.range));
  }

  private hostListed(name: string): boolean {
    return this.entries.some((e) => e.kind === "host" && (e.wildcard ? name.endsWith(`.${e.name}`) : name === e.name));
  }
}

const fromEnvCache = new Map<string, WebhookPolicy>();

/**
 * The system resolver (getaddrinfo: /etc/hosts, then DNS), bounded (see `boundedResolver`): getaddrinfo
 * runs on libuv's small thread pool, which file I/O shares, and a tenant can point a webhook at a name
 * whose DNS server never answers.
 */
export function systemResolver(opts: { maxInFlight?: number; perOwner?: number; timeoutMs?: number } = {}): Resolve {
  return boundedResolver(
    (host) =>
      new Promise<ResolvedAddress[]>((resolve, reject) => {
        dns.lookup(host, { all: true, verbatim: true }, (err, addresses) => {
          if (err) reject(err);
          else resolve(addresses.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 })));
        });
      }),
    opts,
  );
}

/**
 * Runs at most `maxInFlight` lookups at once, and at most `perOwner` for one owner (a tenant), so that one
 * tenant's slow names cannot hold every slot; a caller gives up after `timeoutMs` (waiting included),
 * but the slot is only freed when the lookup itself ends — which is what the caps bound.
 */
export function boundedResolver(lookup: (host: string) => Promise<ResolvedAddress[]>, opts: { maxInFlight?: number; perOwner?: number; timeoutMs?: number } = {}): Resolve {
  const maxInFlight = opts.maxInFlight ?? 2;
  const perOwner = opts.perOwner ?? 1;
  const timeoutMs = opts.timeoutMs ?? 5000;
  let inFlight = 0;
  const byOwner = new Map<string, number>();
  const waiting: { owner: string; start: () => void }[] = [];
  const free = (owner: string) => inFlight < maxInFlight && (byOwner.get(owner) ?? 0) < perOwner;
  const pump = () => {
    for (let i = 0; i < waiting.length && inFlight < maxInFlight; ) {
      const w = waiting[i]!;
      if (free(w.owner)) {
        waiting.splice(i, 1);
        w.start();
      } else i++;
    }
  };
  return (host, owner = "") =>
    new Promise<ResolvedAddress[]>((resolve, reject) => {
      let settled = false;
      const waiter = {
        owner,
        start: () => {
          inFlight++;
          byOwner.set(owner, (byOwner.get(owner) ?? 0) + 1);
          const done = () => {
            inFlight--;
            const n = byOwner.get(owner)! - 1;
            if (n === 0) byOwner.delete(owner);
            else byOwner.set(owner, n);
            pump();
          };
          lookup(host).then(
            (addresses) => {
              done();
              if (settled) return;
              settled = true;
              clearTimeout(timer);
              resolve(addresses);
            },
            (err: unknown) => {
              done();
              if (settled) return;
              settled = true;
              clearTimeout(timer);
              reject(err instanceof Error ? err : new Error(String(err)));
            },
          );
        },
      };
      const timer = setTimeout(() => {
        if (settled) return;
        settled = true;
        const i = waiting.indexOf(waiter);
        if (i >= 0) waiting.splice(i, 1);
        reject(Object.assign(new Error(`no DNS answer within ${timeoutMs} ms`), { code: "ETIMEOUT" }));
      }, timeoutMs);
      if (free(owner)) waiter.start();
      else waiting.push(waiter);
    });
}
