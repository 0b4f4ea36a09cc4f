/**
 * Deploy-time step of the index stack (stacks/index.ts), running as the OpenSearch master role: gives
 * each kind of function an OpenSearch role with only the index patterns and actions it uses, and maps
 * the function roles to them in every tier's domain (fine-grained access control gives an IAM role no
 * rights until it is mapped). Declarative: each run replaces the roles and the backend roles of the
 * mappings it manages, so a removed function loses its access, and a domain deployed before these roles
 * existed loses the function roles it had mapped to `all_access` and `readall`. Only the master role
 * stays in `all_access` (where OpenSearch put it when the domain was created): no function can reach
 * the security API, other indices, or snapshots.
 *
 * The actions are the ones the adapter's requests need (packages/index-opensearch/src/opensearch-index.ts),
 * named by the security plugin's static action groups
 * (opensearch-project/security, src/main/resources/static_config/static_action_groups.yml):
 *  - writers (index functions): `POST /_bulk` (cluster-level `indices:data/write/bulk`, then per index
 *    `write`: `indices:data/write*`), indices created by the bulk through the templates (`create_index`:
 *    `indices:admin/create`, `indices:admin/mapping/put`), and the templates they put before their
 *    first write (`cluster_manage_index_templates`, `cluster:admin/component_template/put`);
 *  - the lifecycle job: the templates, `_cat/indices` (`cluster:monitor/state`, `cluster:monitor/health`,
 *    per index `indices_monitor`), one terms aggregation (`read`), PUT and DELETE of indices
 *    (`create_index`, `indices:admin/delete`);
 *  - readers (search API, alert checks): `_search` (`read`; cluster `cluster_composite_ops_ro` for scroll,
 *    msearch and resolving index names).
 * Every index permission is on `<prefix>-*` only (the adapter's names: packages/index-opensearch/src/slices.ts).
 *
 * Input: { endpoints: { tier: "https://..." }, master: "arn:...", prefix?: "logs", grants: { writer: [arn...], lifecycle: [arn...], reader: [arn...] } }
 */
import { Client } from "@opensearch-project/opensearch";
import { AwsSigv4Signer } from "@opensearch-project/opensearch/aws";
import { defaultProvider } from "@aws-sdk/credential-provider-node";

export type FunctionKind = "writer" | "lifecycle" | "reader";

export interface IndexAccessInput {
  endpoints: Record<string, string>;
  master: string;
  /** The index names' prefix (default "logs", the adapter's). */
  prefix?: string;
  grants: Record<FunctionKind, string[]>;
}

export interface SecurityRole {
  cluster_permissions: string[];
  index_permissions: { index_patterns: string[]; allowed_actions: string[] }[];
  tenant_permissions: never[];
  description: string;
}

/** The OpenSearch role of each kind of function (see above for why each action is there). */
export function functionRoles(prefix = "logs"): Record<FunctionKind, { name: string; role: SecurityRole }> {
  const patterns = [`${prefix}-*`];
  const templates = ["cluster_manage_index_templates", "cluster:admin/component_template/put"];
  return {
    writer: {
      name: "unmeltable_index_writer",
      role: {
        cluster_permissions: ["indices:data/write/bulk", ...templates],
        index_permissions: [{ index_patterns: patterns, allowed_actions: ["create_index", "write"] }],
        tenant_permissions: [],
        description: "unmeltable index functions: bulk create into the log indices, templates",
      },
    },
    lifecycle: {
      name: "unmeltable_lifecycle",
      role: {
        cluster_permissions: ["cluster:monitor/state", "cluster:monitor/health", ...templates],
        index_permissions: [{ index_patterns: patterns, allowed_actions: ["create_index", "indices:admin/delete", "indices_monitor", "read"] }],
        tenant_permissions: [],
        description: "unmeltable lifecycle job: create ahead, measure, delete expired log indices; templates",
      },
    },
    reader: {
      name: "unmeltable_reader",
      role: {
        cluster_permissions: ["cluster_composite_ops_ro"],
        index_permissions: [{ index_patterns: patterns, allowed_actions: ["read"] }],
        tenant_permissions: [],
        description: "unmeltable search API and alert checks: search the log indices",
      },
    },
  };
}

export interface SecurityRequest {
  endpoint: string;
  path: string;
  body: unknown;
}

/**
 * The requests to make, per domain: each function role (PUT roles/<name>), then its mapping (PUT
 * rolesmapping/<name>), then `all_access` reset to the master alone and `readall` to nobody (the
 * mappings earlier deploys made).
 */
export function planMappings(input: IndexAccessInput): SecurityRequest[] {
  const roles = functionRoles(input.prefix);
  const mapping = (backendRoles: string[]) => ({ backend_roles: [...new Set(backendRoles)].sort(), hosts: [], users: [] });
  const out: SecurityRequest[] = [];
  for (const endpoint of Object.values(input.endpoints)) {
    for (const kind of Object.keys(roles) as FunctionKind[]) {
      const { name, role } = roles[kind];
      out.push({ endpoint, path: `/_plugins/_security/api/roles/${name}`, body: role });
      out.push({ endpoint, path: `/_plugins/_security/api/rolesmapping/${name}`, body: mapping(input.grants[kind] ?? []) });
    }
    out.push({ endpoint, path: "/_plugins/_security/api/rolesmapping/all_access", body: mapping([input.master]) });
    out.push({ endpoint, path: "/_plugins/_security/api/rolesmapping/readall", body: mapping([]) });
  }
  return out;
}

export async function handler(input: IndexAccessInput): Promise<{ applied: { endpoint: string; path: string }[] }> {
  const region = process.env.AWS_REGION;
  if (!region) throw new Error("AWS_REGION is not set");
  const credentials = defaultProvider();
  const clients = new Map<string, Client>();
  const applied = [];
  for (const m of planMappings(input)) {
    let client = clients.get(m.endpoint);
    if (!client) {
      client = new Client({ ...AwsSigv4Signer({ region, service: "es", getCredentials: () => credentials() }), node: m.endpoint });
      clients.set(m.endpoint, client);
    }
    const c = client;
    await withRetries(() => c.transport.request({ method: "PUT", path: m.path, body: m.body as Record<string, unknown> }));
    applied.push({ endpoint: m.endpoint, path: m.path });
  }
  return { applied };
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
