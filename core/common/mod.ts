/**
 * Small building blocks every part of the service uses: the clock, domain errors, hashing,
 * body reading, durations, structured logging and the version. Imports nothing else of
 * `core/`.
 * @module
 */

export * from "./address.ts";
export * from "./body.ts";
export * from "./clock.ts";
export * from "./deadlines.ts";
export * from "./duration.ts";
export * from "./errors.ts";
export * from "./hash.ts";
export * from "./ids.ts";
export * from "./log.ts";
export * from "./version.ts";
