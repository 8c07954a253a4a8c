/**
 * A fake Wix on loopback: the OAuth token endpoint and Submit Event (spec §3). It checks what it
 * receives against the contract (token fresh and single-use, no `Bearer`, `User-Agent`, body
 * shape from `submit_event.ts`), records every event it accepts and every request it refuses,
 * and can be told to misbehave: a share of failures (500/503/429), failures for one
 * transaction, slow answers, dropped connections, or being down for a while.
 *
 * Used by the CLI's `wix`, `demo` and `check` commands, and by the tests.
 * @module
 */

import { startTcpFront } from "./tcp_front.ts";
import { checkEventBody, KINDS, transactionIdOf } from "./submit_event.ts";

/** An event Wix accepted (answered 200). */
export interface ReceivedEvent {
  at: number;
  kind: "transaction" | "refund" | "capture" | "void";
  wixTransactionId: string;
  /** The inner event object, e.g. `{ wixTransactionId, pluginTransactionId, reasonCode }`. */
  payload: Record<string, unknown>;
  body: { event: Record<string, Record<string, unknown>> };
  userAgent: string;
}

/** One Submit Event request and what the fake answered. */
export interface ReceivedAttempt {
  at: number;
  status: number;
  note?: string;
  /** The event's transaction, when the body could be read. */
  wixTransactionId?: string;
}

/** A request the fake refused because it broke the contract or had bad client credentials. */
export interface Refusal {
  at: number;
  endpoint: "token" | "event";
  status: number;
  /** Why, e.g. "missing or malformed User-Agent (must be {PSP}/{version})". */
  reason: string;
  wixTransactionId?: string;
}

/** Options of the fake. */
export interface FakeWixOptions {
  port?: number;
  hostname?: string;
  appId?: string;
  appSecret?: string;
  /** Seed of the failure-rate dice, for repeatable runs. */
  seed?: number;
  /** Called for each accepted event. */
  onEvent?: (event: ReceivedEvent) => void;
  /**
   * Whether {@link FakeWix.setDropConnections} works (default true): connections then pass a TCP
   * front that copies every byte through JS streams. The benchmark turns it off: on the same two
   * cores as the service, that copying cost about as much CPU as the service itself.
   */
  droppable?: boolean;
}

/** A running fake Wix. */
export interface FakeWix {
  /** Base URL to give the server as `WIX_API_BASE_URL`. */
  url: string;
  port: number;
  appId: string;
  appSecret: string;
  events: ReceivedEvent[];
  attempts: ReceivedAttempt[];
  /** Requests refused for a contract violation or bad client credentials, with the reason. */
  refusals: Refusal[];
  /** Tokens issued by the OAuth endpoint. */
  tokensIssued: number;
  /** Contract violations seen in requests (each also answered with a 4xx). */
  violations: string[];
  /** The most Submit Event requests that were being answered at once. */
  maxInFlight: number;
  /** Fails this share of Submit Event requests with one of `statuses` (default 500, 503, 429). */
  setFailureRate(rate: number, statuses?: number[], retryAfterSeconds?: number): void;
  /** Answers every request (token and events) with 503 until {@link up}. */
  down(): void;
  up(): void;
  /** Fails the next `count` Submit Events of one transaction with `status` (then accepts). */
  failNextFor(wixTransactionId: string, count: number, status?: number): void;
  /** Delays Submit Event answers by `ms` (0 to stop). */
  setDelay(ms: number): void;
  /** Closes connections without an answer, while on. */
  setDropConnections(on: boolean): void;
  /** Accepted events of one transaction, in arrival order. */
  eventsFor(wixTransactionId: string): ReceivedEvent[];
  close(): Promise<void>;
}

export { checkEventBody, describeEvent } from "./submit_event.ts";

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6D2B79F5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// deno-lint-ignore no-explicit-any
function parseJson(text: string): any {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });

/** The fake's state and its two endpoints; {@link startFakeWix} serves it. */
class FakeWixState {
  readonly issued = new Set<string>();
  readonly used = new Set<string>();
  readonly closing = new AbortController();
  readonly random: () => number;
  readonly failuresFor = new Map<string, { count: number; status: number }>();
  failureRate = 0;
  failureStatuses = [500, 503, 429];
  retryAfter: number | undefined;
  isDown = false;
  delayMs = 0;
  drop = false;
  inFlight = 0;
  readonly record: Omit<FakeWix, "url" | "port" | "close" | "setDropConnections">;

  constructor(readonly options: FakeWixOptions) {
    this.random = mulberry32(options.seed ?? 42);
    this.record = {
      appId: options.appId ?? "test-app-id",
      appSecret: options.appSecret ?? "test-app-secret",
      events: [],
      attempts: [],
      refusals: [],
      tokensIssued: 0,
      violations: [],
      maxInFlight: 0,
      setFailureRate: (rate, statuses = [500, 503, 429], retryAfterSeconds) => {
        this.failureRate = rate;
        this.failureStatuses = statuses;
        this.retryAfter = retryAfterSeconds;
      },
      failNextFor: (id, count, status = 500) => void this.failuresFor.set(id, { count, status }),
      down: () => void (this.isDown = true),
      up: () => void (this.isDown = false),
      setDelay: (ms) => void (this.delayMs = ms),
      eventsFor: (id) => this.record.events.filter((event) => event.wixTransactionId === id),
    };
  }

  /** Routes one request to the token endpoint or Submit Event. */
  async handle(request: Request): Promise<Response> {
    const path = new URL(request.url).pathname;
    if (this.isDown) {
      await request.body?.cancel();
      const note = path === "/oauth/access" ? "down (token)" : "down";
      this.record.attempts.push({ at: Date.now(), status: 503, note });
      return json(503, { message: "down" });
    }
    if (request.method === "POST" && path === "/oauth/access") return await this.oauth(request);
    if (
      request.method === "POST" &&
      (path === "/payments/v1/provider-platform-events" ||
        path === "/payments/psp/v1/provider-platform-events")
    ) return await this.submitEvent(request);
    await request.body?.cancel();
    return json(404, { message: `no route ${request.method} ${path}` });
  }

  #refuseToken(status: number, reason: string, isViolation: boolean): Response {
    if (isViolation) this.record.violations.push(reason);
    this.record.refusals.push({ at: Date.now(), endpoint: "token", status, reason });
    return json(status, { message: isViolation ? reason : "bad client credentials" });
  }

  async oauth(request: Request): Promise<Response> {
    const body = await request.json().catch(() => null);
    if (!body || body.grant_type !== "client_credentials" || body.scope !== "CASHIER.GET_ACCESS") {
      return this.#refuseToken(
        400,
        "token request must have grant_type client_credentials and scope CASHIER.GET_ACCESS",
        true,
      );
    }
    if (body.client_id !== this.record.appId || body.client_secret !== this.record.appSecret) {
      const reason = `bad client credentials (client_id ${JSON.stringify(body.client_id)})`;
      return this.#refuseToken(401, reason, false);
    }
    const token = `tok_${crypto.randomUUID()}`;
    this.issued.add(token);
    this.record.tokensIssued++;
    return json(200, { refresh_token: null, access_token: token });
  }

  async submitEvent(request: Request): Promise<Response> {
    this.inFlight++;
    this.record.maxInFlight = Math.max(this.record.maxInFlight, this.inFlight);
    try {
      return await this.answerSubmitEvent(request);
    } finally {
      this.inFlight--;
    }
  }

  /** Why a Submit Event request breaks the contract, if it does (status and reason). */
  #contractProblem(request: Request, body: unknown): [number, string, boolean] | undefined {
    const token = request.headers.get("authorization") ?? "";
    if (token.startsWith("Bearer ")) {
      return [401, "Authorization must be the bare token, without Bearer", true];
    }
    if (!this.issued.has(token)) return [401, "unknown access token", false];
    if (this.used.has(token)) {
      return [401, "an access token was reused; fetch a fresh one for every webhook", true];
    }
    this.used.add(token);
    const userAgent = request.headers.get("user-agent") ?? "";
    if (!/^[^\s/]+\/\S+$/.test(userAgent)) {
      return [400, `User-Agent must be {PSP}/{version}, got ${JSON.stringify(userAgent)}`, true];
    }
    if (!(request.headers.get("content-type") ?? "").startsWith("application/json")) {
      return [400, "Content-Type must be application/json", true];
    }
    const problems = checkEventBody(body);
    if (problems.length === 0) return undefined;
    this.record.violations.push(...problems);
    return [400, problems.join("; "), false];
  }

  async answerSubmitEvent(request: Request): Promise<Response> {
    const at = Date.now();
    const body = parseJson(await request.text());
    const wixTransactionId = transactionIdOf(body);
    const answer = (status: number, note?: string, headers: Record<string, string> = {}) => {
      this.record.attempts.push({ at, status, note, wixTransactionId });
      return json(status, status === 200 ? {} : { message: note }, headers);
    };
    const problem = this.#contractProblem(request, body);
    if (problem) {
      const [status, reason, isViolation] = problem;
      if (isViolation) this.record.violations.push(reason);
      this.record.refusals.push({ at, endpoint: "event", status, reason, wixTransactionId });
      return answer(status, reason);
    }
    if (this.delayMs > 0) await this.pause(this.delayMs);
    const injected = this.injectedFailure(wixTransactionId);
    if (injected) return answer(injected.status, "injected failure", injected.headers);
    const kind = KINDS.find((k) => k in body.event)!;
    const payload = body.event[kind];
    const userAgent = request.headers.get("user-agent") ?? "";
    const event: ReceivedEvent = {
      at,
      kind,
      wixTransactionId: payload.wixTransactionId,
      payload,
      body,
      userAgent,
    };
    this.record.events.push(event);
    this.options.onEvent?.(event);
    return answer(200);
  }

  pause(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.closing.signal.addEventListener("abort", () => {
        clearTimeout(timer);
        resolve();
      }, { once: true });
    });
  }

  /** The failure to answer instead of accepting, if one is due: per transaction, then by rate. */
  injectedFailure(wixTransactionId: string | undefined) {
    const planned = wixTransactionId === undefined
      ? undefined
      : this.failuresFor.get(wixTransactionId);
    if (planned && planned.count > 0) {
      planned.count--;
      return { status: planned.status, headers: {} };
    }
    if (!(this.failureRate > 0 && this.random() < this.failureRate)) return undefined;
    const status = this.failureStatuses[Math.floor(this.random() * this.failureStatuses.length)];
    const headers: Record<string, string> =
      this.retryAfter !== undefined && (status === 429 || status === 503)
        ? { "retry-after": String(this.retryAfter) }
        : {};
    return { status, headers };
  }
}

/** Starts a fake Wix on loopback. */
export function startFakeWix(options: FakeWixOptions = {}): Promise<FakeWix> {
  const state = new FakeWixState(options);
  const droppable = options.droppable ?? true;
  const server = Deno.serve(
    {
      port: droppable ? 0 : options.port ?? 0,
      hostname: droppable ? "127.0.0.1" : options.hostname ?? "127.0.0.1",
      onListen() {},
    },
    (request) => state.handle(request),
  );
  const front = droppable
    ? startTcpFront(options, server.addr.port, () => state.drop)
    : { port: server.addr.port, dropAll() {}, close: () => Promise.resolve() };
  const wix = state.record;
  return Promise.resolve({
    ...wix,
    // Getters keep the live counters visible through the returned object.
    get tokensIssued() {
      return wix.tokensIssued;
    },
    get maxInFlight() {
      return wix.maxInFlight;
    },
    setDropConnections(on: boolean) {
      if (!droppable) throw new Error("this fake Wix was started with droppable: false");
      state.drop = on;
      if (on) front.dropAll();
    },
    url: `http://127.0.0.1:${front.port}`,
    port: front.port,
    async close() {
      state.closing.abort();
      await front.close();
      await server.shutdown();
    },
  });
}

/**
 * What the fake refused, grouped by reason, e.g. `3 Submit Events refused: User-Agent must be
 * {PSP}/{version}, got ""`; only those of one transaction when `wixTransactionId` is given.
 * Empty when nothing was refused.
 */
export function describeRefusals(
  wix: Pick<FakeWix, "refusals">,
  wixTransactionId?: string,
): string {
  const refusals = wix.refusals.filter((r) =>
    wixTransactionId === undefined || r.wixTransactionId === wixTransactionId ||
    r.endpoint === "token"
  );
  const byReason = new Map<string, number>();
  for (const r of refusals) {
    const key = `${
      r.endpoint === "token" ? "token requests" : "Submit Events"
    } refused: ${r.reason}`;
    byReason.set(key, (byReason.get(key) ?? 0) + 1);
  }
  return [...byReason].map(([reason, n]) => `${n} ${reason}`).join("; ");
}
