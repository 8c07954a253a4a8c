/**
 * The Submit Event body as the contract defines it (spec §3.3): its kinds, the checks of its
 * shape, and one readable line per event. Used by the fake Wix and the CLI's output.
 * @module
 */

/** The event kinds of a Submit Event body. */
export const KINDS = ["transaction", "refund", "capture", "void"] as const;
const DIGITS = /^\d+$/;

/** Checks a Submit Event body against spec §3.3; returns the problems found. */
export function checkEventBody(body: unknown): string[] {
  if (!body || typeof body !== "object" || !("event" in body)) {
    return ['body must be {"event": {...}}'];
  }
  const event = (body as { event: unknown }).event as Record<string, unknown>;
  if (!event || typeof event !== "object") return ["event must be an object"];
  const problems: string[] = [];
  const present = KINDS.filter((kind) => kind in event);
  if (present.length !== 1) problems.push(`event must hold exactly one of ${KINDS.join(", ")}`);
  if ("pluginId" in event) problems.push("event.pluginId is deprecated and must not be sent");
  for (const kind of present) {
    const payload = event[kind] as Record<string, unknown>;
    if (!payload || typeof payload !== "object") {
      problems.push(`event.${kind} must be an object`);
      continue;
    }
    problems.push(...commonProblems(kind, payload), ...kindProblems(kind, payload));
  }
  return problems;
}

/** The fields every kind of event shares. */
function commonProblems(kind: Kind, p: Record<string, unknown>): string[] {
  const problems: string[] = [];
  if (typeof p.wixTransactionId !== "string" || p.wixTransactionId === "") {
    problems.push(`event.${kind}.wixTransactionId must be a non-empty string`);
  }
  if ("reasonCode" in p && !Number.isInteger(p.reasonCode)) {
    problems.push(`event.${kind}.reasonCode must be an integer`);
  }
  if ("errorCode" in p && (typeof p.errorCode !== "string" || p.errorCode.length > 50)) {
    problems.push(`event.${kind}.errorCode must be a string of at most 50 characters`);
  }
  if ("errorMessage" in p && (typeof p.errorMessage !== "string" || p.errorMessage.length > 300)) {
    problems.push(`event.${kind}.errorMessage must be a string of at most 300 characters`);
  }
  if ("status" in p) problems.push(`event.${kind}.status is deprecated and must not be sent`);
  return problems;
}

/** The fields of one kind: a transaction's ids and amount, the others' amount, a refund's ids. */
function kindProblems(kind: Kind, p: Record<string, unknown>): string[] {
  const problems: string[] = [];
  if (kind === "transaction") {
    if ("pluginTransactionId" in p && typeof p.pluginTransactionId !== "string") {
      problems.push("event.transaction.pluginTransactionId must be a string");
    }
    if (!("reasonCode" in p) && typeof p.pluginTransactionId !== "string") {
      problems.push("an approved event.transaction needs pluginTransactionId");
    }
    if (
      "authorizedAmount" in p &&
      !(typeof p.authorizedAmount === "string" && DIGITS.test(p.authorizedAmount))
    ) {
      problems.push("event.transaction.authorizedAmount must be a string of digits");
    }
    return problems;
  }
  if (typeof p.amount !== "string" || !DIGITS.test(p.amount)) {
    problems.push(
      `event.${kind}.amount must be a string of digits (minor units), got ${
        JSON.stringify(p.amount)
      }`,
    );
  }
  if (kind === "refund") {
    if (typeof p.pluginRefundId !== "string" || p.pluginRefundId === "") {
      problems.push("event.refund.pluginRefundId must be a non-empty string");
    }
    if ("wixRefundId" in p && typeof p.wixRefundId !== "string") {
      problems.push("event.refund.wixRefundId must be a string");
    }
  }
  return problems;
}

type Kind = (typeof KINDS)[number];

/** The transaction an event body is about, if it names one. */
export function transactionIdOf(body: unknown): string | undefined {
  const event = (body as { event?: Record<string, { wixTransactionId?: unknown }> })?.event;
  if (!event || typeof event !== "object") return undefined;
  for (const kind of KINDS) {
    const id = event[kind]?.wixTransactionId;
    if (typeof id === "string") return id;
  }
  return undefined;
}

/** One readable line for an event, e.g. `transaction tx-1 approved pluginTransactionId=sbx_1`. */
export function describeEvent(event: {
  kind: Kind;
  wixTransactionId: string;
  payload: Record<string, unknown>;
}): string {
  const p = event.payload;
  const code = p.reasonCode === undefined
    ? undefined
    : `${p.reasonCode}${p.errorCode ? ` ${p.errorCode}` : ""}`;
  switch (event.kind) {
    case "transaction": {
      const pending = p.reasonCode === 5005 || p.reasonCode === 5009;
      const state = code === undefined
        ? "approved"
        : pending
        ? `pending ${code}`
        : `declined ${code}`;
      const id = p.pluginTransactionId ? ` pluginTransactionId=${p.pluginTransactionId}` : "";
      return `transaction ${event.wixTransactionId} ${state}${id}`;
    }
    case "refund": {
      const origin = p.wixRefundId ? `wixRefundId=${p.wixRefundId}` : "PSP-initiated";
      return `refund ${event.wixTransactionId} amount=${p.amount} ${
        code ? `failed ${code}` : "succeeded"
      } pluginRefundId=${p.pluginRefundId} ${origin}`;
    }
    default:
      return `${event.kind} ${event.wixTransactionId} amount=${p.amount} ${
        code ? `declined ${code}` : "succeeded"
      }`;
  }
}
