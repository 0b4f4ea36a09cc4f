import { describe, expect, it } from "vitest";
import { apiTokenOf, authenticate, CodedError, errorAnswer, UnauthorizedError, type Tenant, type TenantDirectory } from "@unmeltable/core";
import { credentialCases } from "../helpers/credentials";

const acme: Tenant = { name: "acme", apiToken: "tok-acme", tier: "default", partitionSpread: 1, slice: "day", retentionDays: 30, createdAt: 0 };
const tenants: TenantDirectory = {
  byApiToken: (t) => (t === acme.apiToken ? acme : undefined),
  byIngestToken: () => undefined,
  byName: (n) => (n === acme.name ? acme : undefined),
  list: () => [acme],
};

describe("authenticate: the one reading of credentials", () => {
  for (const c of credentialCases(acme.apiToken!)) {
    it(`${c.accepted ? "accepts" : "refuses"} ${c.name}`, () => {
      const headers = c.authorization === undefined ? {} : { authorization: c.authorization };
      if (c.accepted) {
        expect(authenticate(headers, tenants)).toBe(acme);
        return;
      }
      const err = (() => {
        try {
          authenticate(headers, tenants);
        } catch (e) {
          return e;
        }
      })();
      expect(err).toBeInstanceOf(UnauthorizedError);
      expect(errorAnswer(err as CodedError)).toEqual({
        status: 401,
        headers: { "Content-Type": "application/json", "WWW-Authenticate": 'Bearer realm="unmeltable"' },
        body: { response: "error", code: "UNM_UNAUTHORIZED", message: c.authorization === undefined ? "missing credentials: send Authorization: bearer <API token>" : "invalid API token" },
      });
    });
  }

  it("finds the header whatever the case of its name, and takes the first of repeated ones", () => {
    expect(authenticate({ Authorization: "bearer tok-acme" }, tenants)).toBe(acme);
    expect(authenticate({ AUTHORIZATION: "bearer tok-acme" }, tenants)).toBe(acme);
    expect(authenticate({ authorization: ["bearer tok-acme", "bearer other"] }, tenants)).toBe(acme);
  });

  it("reads the token of bearer and basic only", () => {
    expect(apiTokenOf("Bearer abc")).toBe("abc");
    expect(apiTokenOf(`Basic ${Buffer.from("u:p:q").toString("base64")}`)).toBe("p:q");
    expect(apiTokenOf("Digest abc")).toBeUndefined();
    expect(apiTokenOf(undefined)).toBeUndefined();
  });
});
