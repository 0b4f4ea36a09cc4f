import { describe, expect, it } from "vitest";
import { hashPassword, passwordProblem, permits, SignInLimiter, verifyPassword } from "@unmeltable/core";

describe("roles: who may make which request", () => {
  it("lets an admin do everything", () => {
    for (const [m, p] of [["DELETE", "/apiv2/users/x"], ["POST", "/apiv2/ingesttokens"], ["PUT", "/apiv2/alerts/1"]]) expect(permits("admin", m!, p!)).toBe(true);
  });

  it("keeps users and ingest tokens to admins, however the path is written", () => {
    for (const p of ["/apiv2/users", "/apiv2/users/", "/apiv2/users/abc", "/apiv2/%75sers", "//apiv2//users", "/APIV2/Users", "/apiv2/ingesttokens/t"]) {
      expect(permits("member", "GET", p), p).toBe(false);
      expect(permits("readonly", "GET", p), p).toBe(false);
    }
    // An undecodable path is refused rather than guessed at.
    expect(permits("member", "GET", "/apiv2/%zz")).toBe(false);
    // Not a prefix match: a path that merely starts alike is not the users API.
    expect(permits("member", "GET", "/apiv2/usersearch")).toBe(true);
  });

  it("lets a member write anything else", () => {
    for (const [m, p] of [["POST", "/apiv2/savedsearches"], ["DELETE", "/apiv2/dashboards/d"], ["PUT", "/apiv2/derivedfields/r"], ["GET", "/apiv2/events"]]) expect(permits("member", m!, p!)).toBe(true);
  });

  it("lets a read-only user read, and make only the requests that change nothing shared", () => {
    expect(permits("readonly", "GET", "/apiv2/search")).toBe(true);
    expect(permits("readonly", "HEAD", "/apiv2/events")).toBe(true);
    for (const [m, p] of [["POST", "/apiv2/savedsearches"], ["PUT", "/apiv2/alerts/a"], ["DELETE", "/apiv2/dashboards/d"], ["POST", "/apiv2/derivedfields"], ["PATCH", "/apiv2/me/tokens/x"]]) {
      expect(permits("readonly", m!, p!), `${m} ${p}`).toBe(false);
    }
    for (const [m, p] of [["POST", "/apiv2/derivedfields/preview"], ["POST", "/apiv2/tail/ticket"], ["POST", "/apiv2/me/tokens"], ["DELETE", "/apiv2/me/tokens/abc"], ["PUT", "/apiv2/me/password"], ["POST", "/auth/logout"]]) {
      expect(permits("readonly", m!, p!), `${m} ${p}`).toBe(true);
    }
  });
});

describe("passwords", () => {
  it("hashes with a salt, checks the right one, refuses a wrong or tampered one", async () => {
    const a = await hashPassword("correct horse battery");
    const b = await hashPassword("correct horse battery");
    expect(a).toMatch(/^scrypt\$32768\$8\$1\$[\w-]+\$[\w-]+$/);
    expect(a).not.toBe(b);
    expect(await verifyPassword("correct horse battery", a)).toBe(true);
    expect(await verifyPassword("correct horse batterY", a)).toBe(false);
    expect(await verifyPassword("correct horse battery", a.replace("$32768$", "$1048576$"))).toBe(false);
    expect(await verifyPassword("correct horse battery", "plain")).toBe(false);
    expect(await verifyPassword("x".repeat(10_000), a)).toBe(false);
  });

  it("says what is wrong with a new password", () => {
    expect(passwordProblem("short")).toMatch(/at least 10/);
    expect(passwordProblem("x".repeat(300))).toMatch(/at most 256/);
    expect(passwordProblem(12345678901)).toMatch(/required/);
    expect(passwordProblem("a fine passphrase")).toBeUndefined();
  });
});

describe("sign-in throttling", () => {
  it("holds an address back after its failures until the window passes, and no other address", () => {
    let now = 1_000_000;
    const limiter = new SignInLimiter({ perAccount: 3, perClient: 100, windowMs: 60_000, now: () => now });
    for (let i = 0; i < 3; i++) {
      expect(limiter.retryAfter("t/a", "ip1")).toBe(0);
      limiter.failed("t/a", "ip1");
      now += 1000;
    }
    expect(limiter.retryAfter("t/a", "ip2")).toBe(57); // the first failure, 3 s ago, leaves the window in 57 s
    expect(limiter.retryAfter("t/b", "ip1")).toBe(0);
    now += 57_000;
    expect(limiter.retryAfter("t/a", "ip1")).toBe(0);
  });

  it("holds a client back that tries many addresses", () => {
    const limiter = new SignInLimiter({ perAccount: 100, perClient: 5, windowMs: 60_000, now: () => 0 });
    for (let i = 0; i < 5; i++) limiter.failed(`t/u${i}`, "ip1");
    expect(limiter.retryAfter("t/new", "ip1")).toBeGreaterThan(0);
    expect(limiter.retryAfter("t/new", "ip2")).toBe(0);
  });

  it("keeps a bounded number of keys, and a bounded number of sign-ins hashing at once", () => {
    const limiter = new SignInLimiter({ maxKeys: 10, perAccount: 1, maxConcurrent: 2, now: () => 0 });
    for (let i = 0; i < 100; i++) limiter.failed(`t/u${i}`, `ip${i}`);
    // The oldest were forgotten: u0 may try again, u99 may not.
    expect(limiter.retryAfter("t/u0", "x")).toBe(0);
    expect(limiter.retryAfter("t/u99", "x")).toBeGreaterThan(0);
    expect(limiter.begin()).toBe(true);
    expect(limiter.begin()).toBe(true);
    expect(limiter.begin()).toBe(false);
    limiter.end();
    expect(limiter.begin()).toBe(true);
  });
});
