/**
 * Deploy-time step of the index stack (stacks/index.ts), running as the OpenSearch master role: maps
 * the function roles to OpenSearch roles in every tier's domain (fine-grained access control gives an
 * IAM role no rights until it is mapped). The mapping is declarative: each run replaces the backend
 * roles of the roles it manages, so a removed function loses its access. The master role stays in
 * `all_access`, where OpenSearch put it when the domain was created.
 *
 * Input: { endpoints: { tier: "https://..." }, master: "arn:...", mappings: { all_access: [arn...], readall: [arn...] } }
 */
import { Client } from "@opensearch-project/opensearch";
import { AwsSigv4Signer } from "@opensearch-project/opensearch/aws";
import { defaultProvider } from "@aws-sdk/credential-provider-node";

export interface IndexAccessInput {
  endpoints: Record<string, string>;
  master: string;
  mappings: Record<string, string[]>;
}

export interface RoleMapping {
  endpoint: string;
  role: string;
  body: { backend_roles: string[]; hosts: string[]; users: string[] };
}

/** The requests to make, one PUT per domain and OpenSearch role. */
export function planMappings(input: IndexAccessInput): RoleMapping[] {
  const out: RoleMapping[] = [];
  for (const endpoint of Object.values(input.endpoints)) {
    for (const [role, arns] of Object.entries(input.mappings)) {
      const backendRoles = [...new Set([...(role === "all_access" ? [input.master] : []), ...arns])].sort();
      out.push({ endpoint, role, body: { backend_roles: backendRoles, hosts: [], users: [] } });
    }
  }
  return out;
}

export async function handler(input: IndexAccessInput): Promise<{ mapped: { endpoint: string; role: string; backendRoles: number }[] }> {
  const region = process.env.AWS_REGION;
  if (!region) throw new Error("AWS_REGION is not set");
  const credentials = defaultProvider();
  const clients = new Map<string, Client>();
  const mapped = [];
  for (const m of planMappings(input)) {
    let client = clients.get(m.endpoint);
    if (!client) {
      client = new Client({ ...AwsSigv4Signer({ region, service: "es", getCredentials: () => credentials() }), node: m.endpoint });
      clients.set(m.endpoint, client);
    }
    const c = client;
    await withRetries(() => c.transport.request({ method: "PUT", path: `/_plugins/_security/api/rolesmapping/${m.role}`, body: m.body }));
    mapped.push({ endpoint: m.endpoint, role: m.role, backendRoles: m.body.backend_roles.length });
  }
  return { mapped };
}

/** A domain that just became active can refuse security API calls for a short while. */
async function withRetries<T>(call: () => Promise<T>, attempts = 6): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await call();
    } catch (err) {
      if (i >= attempts) throw err;
      await new Promise((r) => setTimeout(r, 5_000 * i));
    }
  }
}
