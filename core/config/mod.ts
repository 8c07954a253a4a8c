/**
 * Configuration: every environment variable, validated once at start-up into a typed
 * {@link Config} (one line per bad variable), and the development key pair used when no Wix
 * public key is configured. May import `common`, `store` (KV path facts) and `wix` (keys); the
 * parts of the service receive plain options built from it, never read the environment.
 * @module
 */

export * from "./config.ts";
export * from "./dev_keys.ts";
export * from "./kv_path.ts";
export * from "./spelling.ts";
