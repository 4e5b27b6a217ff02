// One set of keys and secrets, so in-process apps and spawned processes agree on them.

/** Tenant acme's API key: the tenant a test acts as unless it says otherwise. */
export const TENANT_KEY = "key-acme-0123456789";

/** Tenant beta's API key, for what one tenant must not see of another's. */
export const OTHER_KEY = "key-beta-0123456789";

/** Operator ops's key for /admin/v1. */
export const ADMIN_KEY = "admin-key-ops-0123456789";

/** The signing secret of every webhook sender and receiver in the tests. */
export const TEST_WEBHOOK_SECRET = `whsec_${Buffer.from("herald-test-secret-0123456789").toString("base64")}`;
