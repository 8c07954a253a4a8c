/**
 * Telemetry: the service's metrics (OpenTelemetry instruments with fixed names, mirrored in a
 * registry served as Prometheus text) and spans around request and delivery steps. Imports
 * nothing of `core/`; every other part may import it.
 * @module
 */

export * from "./instruments.ts";
export * from "./registry.ts";
export * from "./tracing.ts";
