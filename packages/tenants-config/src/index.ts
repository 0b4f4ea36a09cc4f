export { ReloadingTenantDirectory, readTenants, parseTenants, deploymentTiers, loadTenantDirectory, TENANTS_REFRESH_MS, updateTenant, updateTenants, TenantsConfigError, TENANT_ENTRY, PLACEMENT, DEFAULT_RETENTION_DAYS, tokenSha256 } from "./tenants";
export { TenantsConfigIngestTokens } from "./ingest-tokens";
