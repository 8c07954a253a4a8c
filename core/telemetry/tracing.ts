/**
 * Spans around the steps of a request and of a webhook attempt, through `@opentelemetry/api`.
 * With Deno's built-in OpenTelemetry on, they become children of the `Deno.serve` span (one
 * trace per request); otherwise the API is a no-op. Attributes are ids, codes and counters only.
 * @module
 */

import { ProxyTracerProvider, SpanStatusCode, trace } from "npm:@opentelemetry/api@1.9.0";
import type { Attributes } from "npm:@opentelemetry/api@1.9.0";

const tracer = trace.getTracer("wix-psp-server");

/**
 * Whether spans go anywhere: a provider is registered (Deno's, with `OTEL_DENO=true`). Without
 * one, the API's no-op spans still cost a context switch each, several per payment.
 */
function tracing(): boolean {
  const provider = trace.getTracerProvider();
  return !(provider instanceof ProxyTracerProvider) ||
    provider.getDelegateTracer("wix-psp-server") !== undefined;
}

/** Runs `fn` inside a span named `name`; an error marks the span and is rethrown. */
export async function inSpan<T>(
  name: string,
  attributes: Attributes,
  fn: () => Promise<T>,
): Promise<T> {
  if (!tracing()) return await fn();
  return await tracer.startActiveSpan(name, { attributes }, async (span) => {
    try {
      return await fn();
    } catch (error) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).name });
      throw error;
    } finally {
      span.end();
    }
  });
}

/** Adds attributes to the active span, if any (e.g. the reason code once known). */
export function annotateSpan(attributes: Attributes): void {
  trace.getActiveSpan()?.setAttributes(attributes);
}
