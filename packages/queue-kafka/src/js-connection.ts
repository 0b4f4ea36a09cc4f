import { subscribe } from "node:diagnostics_channel";
import type { EventEmitter } from "node:events";
import { readFileSync } from "node:fs";
import type { BaseOptions, SASLOptions } from "@platformatic/kafka";
import { mskIamTokenProvider, type KafkaConnection } from "./connection";

/** The part of @platformatic/kafka's client options that says how to reach the cluster. */
export type PlatformaticConnectionOptions = Pick<BaseOptions, "clientId" | "bootstrapBrokers" | "tls" | "tlsServerName" | "sasl">;

/**
 * KafkaConnection → @platformatic/kafka options (every client of the pure-JS adapter gets these):
 * - TLS: Node's TLS with the CA bundle if one is given, and SNI (MSK's brokers present per-host names).
 * - SCRAM-SHA-256/512 and PLAIN: username and password.
 * - MSK IAM: SASL OAUTHBEARER whose token is a function: the client asks for it on every (re)authentication
 *   (MSK sets a session lifetime and the client re-authenticates at 80 % of it), and mskIamTokenRefresher
 *   hands out a cached token until it is close to expiry, then signs a new one.
 */
export function platformaticConnection(conn: KafkaConnection): PlatformaticConnectionOptions {
  if (conn.brokers.length === 0) throw new Error("no Kafka brokers given (--brokers HOST:PORT,...)");
  guardConnectionErrors();
  const sasl = conn.sasl;
  const tls = conn.ssl || sasl?.mechanism === "aws-msk-iam";
  const options: PlatformaticConnectionOptions = { clientId: conn.clientId ?? "unmeltable", bootstrapBrokers: conn.brokers };
  if (tls) {
    options.tls = conn.caFile ? { ca: readFileSync(conn.caFile, "utf8") } : {};
    options.tlsServerName = true;
  }
  if (sasl?.mechanism === "aws-msk-iam") {
    options.sasl = { mechanism: "OAUTHBEARER", token: mskIamTokenRefresher(sasl.region) };
  } else if (sasl) {
    const mechanism = ({ "scram-sha-256": "SCRAM-SHA-256", "scram-sha-512": "SCRAM-SHA-512", plain: "PLAIN" } as const)[sasl.mechanism];
    options.sasl = { mechanism, username: sasl.username, password: sasl.password } satisfies SASLOptions;
  }
  return options;
}

/**
 * An OAUTHBEARER token provider for MSK IAM that signs a token (aws-msk-iam-sasl-signer-js, the default
 * AWS credential chain) when there is none or the current one has less than a minute left or has lived
 * half its lifetime, so that every connection and re-authentication presents a valid token without a
 * signing per connection. A failed signing is not cached: the next connection attempt tries again.
 */
export function mskIamTokenRefresher(region: string, now: () => number = Date.now): () => Promise<string> {
  const sign = mskIamTokenProvider(region);
  let current: { token: string; signedAt: number; expiresAt: number } | undefined;
  let pending: Promise<string> | undefined;
  return async () => {
    const t = now();
    if (current && t < current.expiresAt - 60_000 && t < current.signedAt + (current.expiresAt - current.signedAt) / 2) return current.token;
    pending ??= sign()
      .then(({ tokenValue, lifetime }) => {
        current = { token: tokenValue, signedAt: t, expiresAt: lifetime };
        return tokenValue;
      })
      .finally(() => (pending = undefined));
    return pending;
  };
}

/**
 * @platformatic/kafka 1.35 listens for a broker connection's 'error' event only while it waits for the
 * connection (`ready`) and once in its pool (`once`, to drop it). A connection that errs a second time —
 * a write on a socket already reset, while brokers go down or come back — emits 'error' to nobody, and
 * Node turns that into an uncaught exception: the whole program gone (seen once in CI as the program
 * vanishing while the test brokers came back). The errors themselves reach the requests that were using
 * the connection (their callbacks fail, the clients retry); this only makes sure each connection always
 * has a listener. Connections announce themselves on the library's `plt:kafka:instances` channel.
 */
let guarded = false;
export function guardConnectionErrors(): void {
  if (guarded) return;
  guarded = true;
  subscribe("plt:kafka:instances", (message) => {
    const { type, instance } = message as { type: string; instance: EventEmitter };
    if (type === "connection") instance.on("error", ignoreConnectionError);
  });
}

function ignoreConnectionError(): void {
  // Reported to the requests on the connection; see guardConnectionErrors.
}
