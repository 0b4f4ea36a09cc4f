export { StaticTenantDirectory, readTenants, loadTenantDirectory, updateTenant } from "./tenants";
