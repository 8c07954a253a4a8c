/**
 * Every environment variable the service reads: its schema (zod), an example of a valid value,
 * and whether it is a secret (never echoed back in errors). `config.ts` parses them into the
 * typed `Config`.
 * @module
 */

import { z } from "npm:zod@4.6.7";
import { parseDuration, parseDurationList } from "../common/mod.ts";
import { isAddressOrRange, VERSION } from "../common/mod.ts";
import { REQUIRED_ORDER_FIELD_PATHS } from "../wix/mod.ts";

/** One variable: how it is validated and what a valid value looks like. */
export interface Variable<T> {
  schema: z.ZodType<T>;
  /** What a valid value looks like, shown in the error. */
  example: string;
  /** Secrets are never echoed back in errors. */
  secret?: boolean;
}

const int = (min: number, max: number) =>
  z.string().regex(/^\d+$/, `must be a whole number from ${min} to ${max}`).transform(Number)
    .pipe(z.number().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));

const url = z.string().refine((value) => {
  try {
    const parsed = new URL(value);
    return parsed.protocol === "http:" || parsed.protocol === "https:";
  } catch {
    return false;
  }
}, "must be an absolute http(s) URL").transform((value) => value.replace(/\/+$/, ""));

const nonEmpty = z.string().trim().min(1, "must not be empty");

const duration = (max: number) =>
  z.string().transform((value, ctx) => {
    const ms = parseDuration(value);
    if (ms === undefined) {
      ctx.addIssue({ code: "custom", message: "must be a duration with a unit (ms, s, m or h)" });
      return z.NEVER;
    }
    if (ms > max) {
      ctx.addIssue({ code: "custom", message: `must be at most ${max} ms` });
      return z.NEVER;
    }
    return ms;
  });

export const VARIABLES = {
  PORT: { schema: int(0, 65535).default(8080), example: "8080" },
  HOST: { schema: nonEmpty.default("0.0.0.0"), example: "0.0.0.0" },
  WIX_APP_PUBLIC_KEY: {
    schema: z.string().transform((value) => value.replaceAll("\\n", "\n")).refine(
      (value) => /-----BEGIN [A-Z ]+-----/.test(value),
      "must hold one or more PEM blocks (-----BEGIN PUBLIC KEY----- ... -----END PUBLIC KEY-----)",
    ).refine(
      (value) => /-----BEGIN [A-Z ]+-----[\s\S]+?-----END [A-Z ]+-----/.test(value),
      "has a -----BEGIN----- line but no matching -----END----- line: the key looks truncated; " +
        "copy the whole key again",
    ).optional(),
    example: '"-----BEGIN PUBLIC KEY-----\\nMIIBIjAN...\\n-----END PUBLIC KEY-----"',
    secret: true,
  },
  WIX_APP_ID: { schema: nonEmpty.optional(), example: "0a1b2c3d-0000-0000-0000-000000000000" },
  WIX_APP_SECRET: {
    schema: nonEmpty.optional(),
    example: "<app secret from the Wix dashboard>",
    secret: true,
  },
  WIX_API_BASE_URL: {
    schema: url.default("https://www.wixapis.com"),
    example: "https://www.wixapis.com",
  },
  KV_PATH: { schema: nonEmpty.optional(), example: "./data/psp.sqlite3, :memory: or deploy" },
  PSP_API_KEY: {
    schema: z.string().min(16, "must be at least 16 characters").optional(),
    example: "<32 random characters, e.g. from `openssl rand -hex 16`>",
    secret: true,
  },
  METRICS_TOKEN: {
    schema: z.string().min(16, "must be at least 16 characters").optional(),
    example: "<a random token for the Prometheus scraper; unset: /metrics is open>",
    secret: true,
  },
  PUBLIC_BASE_URL: { schema: url.optional(), example: "https://psp.example.com" },
  PSP_NAME: {
    schema: z.string().regex(
      /^[A-Za-z0-9._-]{1,64}$/,
      "must be 1-64 letters, digits, '.', '_' or '-'",
    )
      .default("wix-psp-server"),
    example: "AcmePay",
  },
  PSP_VERSION: {
    schema: z.string().regex(/^[A-Za-z0-9._+-]{1,32}$/, "must be 1-32 characters of a version")
      .default(VERSION),
    example: "1.4.2",
  },
  JWT_CLOCK_SKEW_SECONDS: { schema: int(0, 600).default(60), example: "60" },
  JWT_MAX_LIFETIME: { schema: duration(30 * 24 * 3_600_000).default(3_600_000), example: "1h" },
  HEADERS_TIMEOUT: { schema: duration(600_000).default(10_000), example: "10s" },
  BODY_TIMEOUT: { schema: duration(600_000).default(30_000), example: "30s" },
  TRUSTED_PROXIES: {
    schema: z.string().transform((value, ctx) => {
      const list = value.split(",").map((item) => item.trim()).filter((item) => item !== "");
      const bad = list.find((item) => !isAddressOrRange(item));
      if (bad !== undefined) {
        ctx.addIssue({
          code: "custom",
          message: `must be a comma-separated list of IP addresses or CIDR ranges; ` +
            `${JSON.stringify(bad)} is neither`,
        });
        return z.NEVER;
      }
      return list;
    }).optional(),
    example: "10.0.0.0/8,127.0.0.1",
  },
  TLS_CERT_FILE: { schema: nonEmpty.optional(), example: "/etc/psp/tls/fullchain.pem" },
  TLS_KEY_FILE: { schema: nonEmpty.optional(), example: "/etc/psp/tls/privkey.pem" },
  MAX_BODY_BYTES: { schema: int(1024, 16 * 1024 * 1024).default(1024 * 1024), example: "1048576" },
  PROCESSOR: {
    schema: z.enum(["sandbox", "http"], "must be one of: sandbox, http").default("sandbox"),
    example: "sandbox",
  },
  PROCESSOR_HTTP_URL: {
    schema: url.optional(),
    example: "https://payments.internal.example.com/wix",
  },
  PROCESSOR_HTTP_SECRET: {
    schema: z.string().min(32, "must be at least 32 characters").optional(),
    example: "<64 random characters, e.g. from `openssl rand -hex 32`>",
    secret: true,
  },
  LOG_LEVEL: {
    schema: z.enum(["debug", "info", "warn", "error"], "must be one of: debug, info, warn, error")
      .default("info"),
    example: "info",
  },
  DELIVERY_MODE: {
    schema: z.enum(["auto", "queue", "poll"], "must be one of: auto, queue, poll").default("auto"),
    example: "auto",
  },
  DELIVERY_THREAD: {
    schema: z.enum(["main", "worker"], "must be one of: main, worker").default("main"),
    example: "main",
  },
  WEBHOOK_RETRY_SCHEDULE: {
    schema: z.string().transform((value, ctx) => {
      const list = parseDurationList(value);
      if (!list) {
        ctx.addIssue({ code: "custom", message: "must be a comma-separated list of durations" });
        return z.NEVER;
      }
      if (list.length > 50 || list.some((ms) => ms > 30 * 24 * 3_600_000)) {
        ctx.addIssue({ code: "custom", message: "must have at most 50 delays of at most 30 days" });
        return z.NEVER;
      }
      return list;
    }).prefault("0s,5s,5m,30m,2h,5h,10h,10h"),
    example: "0s,5s,5m,30m,2h,5h,10h,10h",
  },
  WEBHOOK_CONCURRENCY: { schema: int(1, 256).default(48), example: "48" },
  WEBHOOK_DRAIN_RATE: { schema: int(0, 100_000).default(300), example: "300" },
  WEBHOOK_TIMEOUT: { schema: duration(120_000).default(10_000), example: "10s" },
  SWEEP_INTERVAL: { schema: duration(3_600_000).default(1000), example: "1s" },
  SHUTDOWN_TIMEOUT: { schema: duration(600_000).default(10_000), example: "10s" },
  IN_FLIGHT_WAIT: { schema: duration(60_000).default(5000), example: "5s" },
  PROCESSING_LEASE: { schema: duration(3_600_000).default(60_000), example: "60s" },
  PROCESSOR_TIMEOUT: { schema: duration(600_000).optional(), example: "20s" },
  SANDBOX_PENDING_DELAY: { schema: duration(7 * 24 * 3_600_000).default(10_000), example: "10s" },
  REQUIRED_ORDER_FIELDS: {
    schema: z.string().transform((value, ctx) => {
      const paths = value.split(",").map((path) => path.trim()).filter((path) => path !== "");
      const unknown = paths.filter((path) => !REQUIRED_ORDER_FIELD_PATHS.includes(path));
      if (unknown.length > 0) {
        ctx.addIssue({
          code: "custom",
          message: `names ${unknown.map((path) => JSON.stringify(path)).join(", ")}, not a ` +
            `required-field path; use billingAddress, shippingAddress or billingAddress.<field> ` +
            `(${
              REQUIRED_ORDER_FIELD_PATHS.filter((path) => path.startsWith("billingAddress."))
                .map((path) => path.slice("billingAddress.".length)).join(", ")
            })`,
        });
        return z.NEVER;
      }
      return paths;
    }).optional(),
    example: "billingAddress.zipCode,billingAddress.phone,shippingAddress",
  },
  CHECK_CART_TOTAL: {
    schema: z.enum(["true", "false"], "must be true or false").default("false")
      .transform((value) => value === "true"),
    example: "true",
  },
  BACKUP_DIR: { schema: nonEmpty.optional(), example: "/var/backups/psp" },
  BACKUP_EVERY: { schema: duration(7 * 24 * 3_600_000).default(3_600_000), example: "1h" },
  BACKUP_KEEP: { schema: int(1, 10_000).default(48), example: "48" },
  REDIRECT_ABANDON_AFTER: {
    schema: duration(30 * 24 * 3_600_000).default(1_800_000),
    example: "30m",
  },
} satisfies Record<string, Variable<unknown>>;

export type Parsed = { [K in keyof typeof VARIABLES]: z.output<(typeof VARIABLES)[K]["schema"]> };

/** The names of every environment variable the service reads. */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(VARIABLES);
