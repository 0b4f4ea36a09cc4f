export { StaticTenantDirectory, readTenants, parseTenants, deploymentTiers, loadTenantDirectory, updateTenant, updateTenants, TenantsConfigError, TENANT_ENTRY, PLACEMENT } from "./tenants";
