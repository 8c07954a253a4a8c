/**
 * A processor as a plugin: what the service gives it (its own store, a way to report later
 * outcomes, a read-only view of payments, a clock, a logger, the public URL) and what it gives
 * back (the processor, and optionally routes and a sweep for its own scheduled work). Nothing of
 * the core's state is reachable from here.
 * @module
 */

import type { Clock } from "../common/mod.ts";
import type { Logger } from "../common/mod.ts";
import type { ScopedKv } from "../store/mod.ts";
import type { CardDetails, CredentialsOnFile, Decline, PaymentProcessor } from "./types.ts";

/** A later outcome a processor reports (after a checkout page, a backend callback, a delay). */
export type LaterOutcome =
  | { kind: "approved"; cardDetails?: CardDetails; credentialsOnFile?: CredentialsOnFile }
  | ({ kind: "declined" } & Decline)
  | { kind: "pending"; reasonCode: number };

/** A payment as a processor may see it. */
export interface PaymentView {
  wixTransactionId: string;
  status: string;
  reasonCode?: number;
  amount: number;
  currency: string;
  installments: number;
  order: { id?: string; items: { name: string; quantity: number; price?: number }[] };
  returnUrls?: { successUrl?: string; errorUrl?: string; cancelUrl?: string; pendingUrl?: string };
  /** The connected merchant's account name, when it connected through this service. */
  merchantName?: string;
}

/** What reporting a later outcome did. */
export type ReportResult =
  /** Applied (and its webhook owed), or a repeat of the current state. */
  | { kind: "changed" | "unchanged"; payment: PaymentView }
  /** It contradicts the current state (or the payment left `onlyWhileAwaitingBuyer`). */
  | { kind: "rejected"; payment: PaymentView; reason: string }
  /** The first answer is still being recorded: report again a little later. */
  | { kind: "busy" }
  | { kind: "not_found" };

/** The core's side of the boundary: later outcomes and a read-only view of payments. */
export interface PaymentsPort {
  /** Applies a later outcome through the state machine, as the PSP API's `/outcome` does. */
  reportOutcome(
    wixTransactionId: string,
    outcome: LaterOutcome,
    options?: { source?: string; onlyWhileAwaitingBuyer?: boolean },
  ): Promise<ReportResult>;
  /** The payment, or `null` when the service does not know it. */
  lookup(wixTransactionId: string): Promise<PaymentView | null>;
}

/** Everything a processor plugin receives. */
export interface ProcessorContext {
  /** The plugin's own part of the database: every key it uses lives under its prefix. */
  store: ScopedKv;
  payments: PaymentsPort;
  clock: Clock;
  logger: Logger;
  /** This server's public URL, for pages the buyer is sent to. */
  publicBaseUrl(): string;
}

/** A route a plugin serves (a hosted page, a 3-D Secure return, a backend callback). */
export interface PluginRoute {
  name: string;
  method: "GET" | "POST";
  /** A `URLPattern` pathname, e.g. `/sandbox/checkout/:id`. */
  path: string;
  handle(request: PluginRequest): Promise<Response>;
}

/** What a plugin route receives: the request, its URL, path groups and its body (size-limited). */
export interface PluginRequest {
  request: Request;
  url: URL;
  params: Record<string, string>;
  body: Uint8Array;
  /** Adds fields to this request's log line. */
  annotate(fields: Record<string, unknown>): void;
}

/** What a plugin gives the service. */
export interface ProcessorPlugin {
  processor: PaymentProcessor;
  /** Public routes it serves, registered beside the service's own. */
  routes?: PluginRoute[];
  /** Runs the plugin's due scheduled work; called on every sweeper pass. */
  sweep?(now: number): Promise<void>;
}

/** Builds a plugin from its context. */
export type ProcessorFactory = (ctx: ProcessorContext) => ProcessorPlugin | PaymentProcessor;

/** The plugin a factory's answer stands for (a bare processor is a plugin with nothing else). */
export function asPlugin(made: ProcessorPlugin | PaymentProcessor): ProcessorPlugin {
  return "createPayment" in made ? { processor: made } : made;
}
