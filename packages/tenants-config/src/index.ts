export { StaticTenantDirectory, readTenants, parseTenants, deploymentTiers, loadTenantDirectory, updateTenant, TenantsConfigError, TENANT_ENTRY } from "./tenants";
