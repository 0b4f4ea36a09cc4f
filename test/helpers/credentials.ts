import { expect } from "vitest";

/**
 * Authorization headers every authenticated surface must judge alike (core's `authenticate`): the
 * accepted ones and the refused ones, for a tenant whose API token is `token`. The surfaces' tests (the
 * local server's routes, the search function) run this one table, so a rule that differs anywhere fails.
 */
export function credentialCases(token: string): { name: string; authorization: string | undefined; accepted: boolean }[] {
  const basic = (text: string) => `Basic ${Buffer.from(text).toString("base64")}`;
  return [
    { name: "bearer", authorization: `bearer ${token}`, accepted: true },
    { name: "Bearer, any case, padded", authorization: `  BeArEr   ${token}  `, accepted: true },
    { name: "basic user:token (Loggly's older clients)", authorization: basic(`loggly-user:${token}`), accepted: true },
    { name: "basic :token", authorization: basic(`:${token}`), accepted: true },
    { name: "basic token without a user", authorization: basic(token), accepted: true },
    { name: "no Authorization", authorization: undefined, accepted: false },
    { name: "bearer, no token", authorization: "bearer", accepted: false },
    { name: "bearer of another token", authorization: `bearer ${token}x`, accepted: false },
    { name: "basic with another password", authorization: basic(`${token}:x`), accepted: false },
    { name: "basic user: (empty password)", authorization: basic("loggly-user:"), accepted: false },
    { name: "the token with no scheme", authorization: token, accepted: false },
    { name: "an unknown scheme", authorization: `token ${token}`, accepted: false },
    { name: "bearer, then more words", authorization: `bearer ${token} ${token}`, accepted: false },
  ];
}

/** What a surface answered, checked against the case: 2xx when accepted; a coded 401 with the challenge when refused. */
export function expectJudged(c: { name: string; accepted: boolean }, surface: string, status: number, headers: Record<string, string | string[] | undefined>, body: unknown): void {
  const what = `${surface}: ${c.name}`;
  if (c.accepted) {
    expect(status, what).toBeGreaterThanOrEqual(200);
    expect(status, what).toBeLessThan(300);
    return;
  }
  expect(status, what).toBe(401);
  const challenge = Object.entries(headers).find(([k]) => k.toLowerCase() === "www-authenticate")?.[1];
  expect(challenge, what).toBe('Bearer realm="unmeltable"');
  expect(body, what).toMatchObject({ response: "error", code: "UNM_UNAUTHORIZED", message: expect.stringMatching(/^(missing credentials|invalid API token)/) });
}
