import assert from "node:assert/strict";
import { runConformance } from "../cli/conformance/mod.ts";
import type { ConformanceOptions, RuleResult } from "../cli/conformance/mod.ts";
import { signWixRequest } from "../cli/wix_signer.ts";
import { importRs256PrivateKey, importWixPublicKeys, verifyWixRequest } from "../core/wix/mod.ts";
import { XMLParser, XMLValidator } from "npm:fast-xml-parser@5.12.1";
import { join } from "node:path";
import { fakeWixEnv, freePort, runCli, startTestService, testKeyPair } from "./helpers.ts";
import { startFakeWix } from "../cli/fake_wix.ts";
import type { TestService } from "./helpers.ts";

/**
 * `check` against deliberately broken variants of this server, one per defect found in a real
 * integration: each variant wraps the real server (a proxy in front of it, or a relay between it
 * and Wix) and must fail exactly the rule that names its defect.
 */

const APP = { appId: "wix-check-app", appSecret: "wix-check-secret" };
/** Quicker pending outcomes and retries than production, so a run takes seconds. */
const FAST = { SANDBOX_PENDING_DELAY: "1s", WEBHOOK_RETRY_SCHEDULE: "0s,1s,1s,2s,5s,10s" };

type Handler = (request: Request, next: string) => Promise<Response>;

interface Variant {
  defect: string;
  failing: string[];
  /** A proxy in front of the server (`next` is the server's URL). */
  front?: Handler;
  /** A relay between the server and Wix (`next` is the fake Wix's URL); `die` stops the server. */
  back?: (request: Request, next: string, die: () => void) => Promise<Response>;
}

async function forward(request: Request, next: string, body?: string, digest?: string) {
  const url = new URL(request.url);
  const headers = new Headers(request.headers);
  if (digest !== undefined) headers.set("digest", digest);
  return await fetch(`${next}${url.pathname}`, {
    method: request.method,
    headers,
    body: body ?? await request.text(),
  });
}

async function resign(text: string): Promise<string> {
  const key = await importRs256PrivateKey((await testKeyPair()).privatePem);
  return await signWixRequest(text, key);
}

function jwtClaims(digest: string | null): Record<string, unknown> {
  const payload = (digest ?? "").replace(/^JWT=/, "").split(".")[1] ?? "";
  return JSON.parse(atob(payload.replace(/-/g, "+").replace(/_/g, "/")));
}

const lostWrites = () => {
  const inFlight = new Map<string, number>();
  return async (request: Request, next: string) => {
    const text = await request.text();
    if (!request.url.endsWith("/create-transaction")) return await forward(request, next, text);
    const body = JSON.parse(text);
    const id = body.wixTransactionId;
    const others = [...inFlight.keys()].some((other) => other !== id);
    inFlight.set(id, (inFlight.get(id) ?? 0) + 1);
    try {
      if (!others) return await forward(request, next, text);
      // The defect: a second payment written while another is in flight is stored elsewhere.
      const lost = JSON.stringify({ ...body, wixTransactionId: `lost-${crypto.randomUUID()}` });
      return await forward(request, next, lost, await resign(lost));
    } finally {
      const left = inFlight.get(id)! - 1;
      if (left === 0) inFlight.delete(id);
      else inFlight.set(id, left);
    }
  };
};

const refundReplaysAreNew = () => {
  const seen = new Set<string>();
  return async (request: Request, next: string) => {
    const text = await request.text();
    if (!request.url.endsWith("/refund-transaction")) return await forward(request, next, text);
    const body = JSON.parse(text);
    if (!seen.has(body.wixRefundId)) {
      seen.add(body.wixRefundId);
      return await forward(request, next, text);
    }
    const again = JSON.stringify({ ...body, wixRefundId: `${body.wixRefundId}-again` });
    return await forward(request, next, again, await resign(again));
  };
};

/** A relay that rewrites (or drops, with `null`) the Submit Events `change` picks. */
const eventRelay =
  (change: (event: Record<string, Record<string, unknown>>) => unknown | null) =>
  async (request: Request, next: string) => {
    const text = await request.text();
    const body = text ? JSON.parse(text) : {};
    const changed = body.event ? change(body.event) : undefined;
    if (changed === null) return Response.json({}); // dropped: the PSP believes it was delivered
    const sent = changed === undefined ? text : JSON.stringify({ ...body, event: changed });
    return await forward(request, next, sent);
  };

/** Answers of `endpoint` rewritten by `change` (a 200 JSON answer only). */
const answerRewrite = (
  endpoint: string,
  change: (body: Record<string, unknown>) => Record<string, unknown>,
) =>
async (request: Request, next: string) => {
  const response = await forward(request, next);
  if (!request.url.endsWith(endpoint) || response.status !== 200) return response;
  return Response.json(change(await response.json()));
};

/** Refund events carry the running total of the transaction's refunds, not their own amount. */
const runningTotals = () => {
  const totals = new Map<string, number>();
  return eventRelay((event) => {
    const refund = event.refund;
    if (!refund || refund.reasonCode !== undefined) return undefined;
    const id = refund.wixTransactionId as string;
    totals.set(id, (totals.get(id) ?? 0) + Number(refund.amount));
    return { refund: { ...refund, amount: String(totals.get(id)) } };
  });
};

/**
 * The webhooks of payments made in a burst are lost (a PSP whose webhook queue overflows): a
 * front marks the payments created while five or more others were in flight, and a relay drops
 * their Submit Events.
 */
const burstLost = (): Pick<Variant, "front" | "back"> => {
  const inFlight = new Map<string, number>();
  const burst = new Set<string>();
  return {
    async front(request, next) {
      const text = await request.text();
      if (!request.url.endsWith("/create-transaction")) return await forward(request, next, text);
      const id = JSON.parse(text).wixTransactionId;
      inFlight.set(id, (inFlight.get(id) ?? 0) + 1);
      if (inFlight.size >= 5) { for (const other of inFlight.keys()) burst.add(other); }
      try {
        return await forward(request, next, text);
      } finally {
        const left = inFlight.get(id)! - 1;
        if (left === 0) inFlight.delete(id);
        else inFlight.set(id, left);
      }
    },
    back: eventRelay((event) =>
      burst.has(event.transaction?.wixTransactionId as string) ? null : undefined
    ),
  };
};

/** A repeat of a payment answered pending is made again, as a new charge. */
const pendingRepeatsCharge = () => {
  const pending = new Set<string>();
  return async (request: Request, next: string) => {
    const text = await request.text();
    if (!request.url.endsWith("/create-transaction")) return await forward(request, next, text);
    const body = JSON.parse(text);
    if (!pending.has(body.wixTransactionId)) {
      const response = await forward(request, next, text);
      const answer = await response.json();
      if (answer.reasonCode === 5005) pending.add(body.wixTransactionId);
      return Response.json(answer, { status: response.status });
    }
    const again = JSON.stringify({ ...body, wixTransactionId: `${body.wixTransactionId}-again` });
    return await forward(request, next, again, await resign(again));
  };
};

const VARIANTS: Variant[] = [
  {
    defect: "the digest is computed over a re-serialised body",
    failing: ["digest-over-raw-bytes"],
    async front(request, next) {
      const text = await request.text();
      let compact = text;
      try {
        compact = JSON.stringify(JSON.parse(text));
      } catch { /* not JSON: passed on as it came */ }
      return await forward(request, next, compact, request.headers.get("digest") ?? "");
    },
  },
  {
    defect: "a token without exp is accepted",
    failing: ["exp-required"],
    async front(request, next) {
      const text = await request.text();
      const digest = request.headers.get("digest");
      if (!digest || "exp" in jwtClaims(digest)) return await forward(request, next, text);
      return await forward(request, next, text, await resign(text));
    },
  },
  {
    defect: "refunds are not idempotent on wixRefundId",
    failing: ["refund-idempotent"],
    front: refundReplaysAreNew(),
  },
  {
    defect: "refunds are never checked against the balance",
    failing: ["refund-within-balance"],
    async front(request, next) {
      const response = await forward(request, next);
      if (!request.url.endsWith("/refund-transaction") || response.status !== 200) return response;
      const body = await response.json();
      // Balance refusals (3022, 3023) become refunds; the bank's own declines stay.
      if (body.reasonCode !== 3022 && body.reasonCode !== 3023) return Response.json(body);
      return Response.json({ pluginRefundId: `rf_unchecked_${crypto.randomUUID()}` });
    },
  },
  {
    defect: "concurrent requests lose writes",
    // The payment answered under one id is made under another: its webhook names that one.
    failing: ["concurrent-distinct-payments", "finals-confirmed-by-webhook"],
    front: lostWrites(),
  },
  {
    defect: "a failed Submit Event is never retried",
    failing: ["webhook-retried-after-failure"],
    async back(request, next) {
      const response = await forward(request, next);
      if (request.url.endsWith("/oauth/access") || response.status === 200) return response;
      await response.body?.cancel();
      return Response.json({}); // the failure is swallowed: the PSP thinks it was delivered
    },
  },
  {
    defect: "a pending payment never gets its webhook",
    failing: ["pending-then-final-webhooks"],
    async back(request, next) {
      const text = await request.text();
      if (JSON.parse(text || "{}").event?.transaction?.reasonCode === 5005) {
        return Response.json({});
      }
      return await forward(request, next, text);
    },
  },
  {
    defect: "a refund the bank declines gets no webhook",
    failing: ["failed-refund-webhook-with-reason"],
    back: eventRelay((event) => event.refund?.reasonCode !== undefined ? null : undefined),
  },
  {
    defect: "refund webhooks carry a running total",
    failing: ["refund-webhook-amount-per-refund"],
    back: runningTotals(),
  },
  {
    defect: "capture and void are never confirmed by webhook",
    failing: ["capture-void-webhooks"],
    back: eventRelay((event) => event.capture || event.void ? null : undefined),
  },
  {
    defect: "a repeat of a pending payment charges again",
    failing: ["repeat-in-progress-never-charges-twice"],
    front: pendingRepeatsCharge(),
  },
  {
    defect: "webhooks are lost in a burst",
    failing: ["finals-confirmed-by-webhook"],
    ...burstLost(),
  },
  {
    defect: "Connect Account answers a new accountId each time",
    failing: ["connect-account-id-stable"],
    front: answerRewrite("/connect-account", (body) => ({
      ...body,
      accountId: `acct_${crypto.randomUUID()}`,
    })),
  },
  {
    defect: "decline messages run past 300 characters",
    failing: ["decline-bodies-within-lengths"],
    front: answerRewrite(
      "/create-transaction",
      (body) =>
        body.reasonCode === undefined || body.reasonCode === 5005
          ? body
          : { ...body, errorMessage: `${body.errorMessage} ${"details ".repeat(50)}` },
    ),
  },
  {
    defect: "a refund over the balance is declined with a payment code",
    failing: ["reason-codes-in-operation-group"],
    front: answerRewrite(
      "/refund-transaction",
      (body) => body.reasonCode === 3022 ? { ...body, reasonCode: 3012 } : body,
    ),
  },
  {
    defect: "with Wix unreachable, the process exits",
    failing: ["survives-wix-outage"],
    async back(request, next, die) {
      try {
        return await forward(request, next);
      } catch {
        die();
        return new Response("unreachable", { status: 502 });
      }
    },
  },
];

/** A loopback server; a handler whose next hop is unreachable answers 502. */
const serve = (handler: (request: Request) => Promise<Response>) =>
  Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen() {} },
    (request) => handler(request).catch(() => new Response("unreachable", { status: 502 })),
  );

/** Runs `check` against the real server wrapped as `variant` says. */
async function checkVariant(
  variant: Partial<Variant>,
  options: Partial<ConformanceOptions> = {},
): Promise<RuleResult[]> {
  // The fake Wix listens first, on a port of its own choosing, so nothing can take it meanwhile.
  const wix = await startFakeWix(APP);
  const wixUrl = wix.url;
  let stopping: Promise<void> | undefined;
  // Called by a relay only once the service runs.
  const die = () => void (stopping ??= service.close());
  const back = variant.back && serve((request) => variant.back!(request, wixUrl, die));
  const service: TestService = await startTestService({
    ...fakeWixEnv({ url: back ? `http://127.0.0.1:${back.addr.port}` : wixUrl, ...APP }),
    ...FAST,
  });
  const target = service.url;
  const front = variant.front && serve((request) => variant.front!(request, target));
  try {
    return await runConformance({
      url: front ? `http://127.0.0.1:${front.addr.port}` : target,
      privateKey: await importRs256PrivateKey((await testKeyPair()).privatePem),
      wixPort: wix.port,
      wix,
      ...APP,
      webhookTimeoutMs: 8000,
      ...options,
    });
  } finally {
    await front?.shutdown();
    await (stopping ??= service.close());
    await back?.shutdown();
  }
}

const failing = (results: RuleResult[]) =>
  results.filter((r) => r.result !== "pass").map((r) => `${r.id} ${r.result}: ${r.evidence}`);

Deno.test("check: each broken variant of this server fails exactly the rule naming its defect", async () => {
  // Four at a time: the machine has two cores and each run waits on webhooks.
  for (let i = 0; i < VARIANTS.length; i += 4) {
    const batch = VARIANTS.slice(i, i + 4);
    const runs = await Promise.all(batch.map((variant) => checkVariant(variant)));
    batch.forEach((variant, i) => {
      const notPassing = failing(runs[i]);
      assert.deepEqual(
        notPassing.map((line) => line.split(" ").slice(0, 2).join(" ")),
        variant.failing.map((id) => `${id} fail:`),
        `${variant.defect}:\n${notPassing.join("\n")}`,
      );
    });
  }
});

/** A PSP that takes euros only, as the independent integration does: creates in any other
 * currency are declined 3003, Connect Account does not look. */
async function euroOnly(request: Request, next: string): Promise<Response> {
  const text = await request.text();
  if (request.url.endsWith("/create-transaction")) {
    const currency = JSON.parse(text).order?.description?.currency;
    if (currency !== "EUR") {
      return Response.json({
        reasonCode: 3003,
        errorCode: "CURRENCY_IS_NOT_SUPPORTED",
        errorMessage: "EUR only",
      });
    }
  }
  return await forward(request, next, text);
}

Deno.test("check: on a euro-only PSP, the wrong currency fails one rule naming --currency and skips the dependent ones; with the scenario's EUR all pass", async () => {
  const wrong = await checkVariant({ front: euroOnly });
  const approved = wrong.find((r) => r.id === "create-transaction-approved")!;
  assert.equal(approved.result, "fail");
  assert.match(
    approved.evidence,
    /declined 3003 CURRENCY_IS_NOT_SUPPORTED \(EUR only\): pass --currency/,
  );
  const skipped = wrong.filter((r) => r.result === "skip");
  for (
    const id of [
      "create-replay-idempotent",
      "decline-answers-200-with-reason",
      "refund-idempotent",
      "refund-within-balance",
      "concurrent-distinct-payments",
      "webhook-retried-after-failure",
    ]
  ) {
    const result = skipped.find((r) => r.id === id);
    assert.ok(result, `${id} is skipped: ${JSON.stringify(wrong.find((r) => r.id === id))}`);
    assert.match(result.evidence, /no approved payment: declined 3003 .*pass --currency/);
  }
  assert.deepEqual(
    wrong.filter((r) => r.result === "fail").map((r) => r.id),
    ["create-transaction-approved"],
    "nothing else is measured on a leftover decline",
  );
  const right = await checkVariant({ front: euroOnly }, { scenario: [{ currency: "EUR" }] });
  assert.deepEqual(failing(right), []);
});

Deno.test("check: webhook rules say what the fake Wix refused, never that nothing arrived", async () => {
  const results = await checkVariant({
    // The PSP's Submit Events carry no User-Agent.
    async back(request, next) {
      const headers = new Headers(request.headers);
      headers.set("user-agent", "");
      return await fetch(`${next}${new URL(request.url).pathname}`, {
        method: request.method,
        headers,
        body: await request.text(),
      });
    },
  }, {
    only: [
      "webhook-approval-matches-response",
      "webhook-requests-follow-contract",
      "webhooks-never-contradict",
    ],
    webhookTimeoutMs: 3000,
  });
  const [approval, contract, contradict] = results;
  assert.equal(approval.result, "fail");
  assert.match(
    approval.evidence,
    /\d+ Submit Events refused: User-Agent must be \{PSP\}\/\{version\}/,
  );
  assert.equal(contract.result, "fail");
  assert.match(contract.evidence, /Submit Events refused: User-Agent/);
  assert.equal(contradict.result, "skip");
  assert.match(contradict.evidence, /no event arrived; \d+ Submit Events refused/);
  assert.ok(results.every((r) => !r.evidence.includes("at all")));
});

/** `check` against this server started with `env` for its Wix settings (no wrapping). */
async function checkWithWixEnv(
  env: (wix: { url: string }) => Record<string, string>,
  only: string[],
): Promise<RuleResult[]> {
  const wix = await startFakeWix(APP);
  const service = await startTestService({ ...env(wix), ...FAST });
  try {
    return await runConformance({
      url: service.url,
      privateKey: await importRs256PrivateKey((await testKeyPair()).privatePem),
      wixPort: wix.port,
      wix,
      ...APP,
      webhookTimeoutMs: 4000,
      only,
    });
  } finally {
    await service.close();
  }
}

Deno.test("check: a server whose webhooks cannot reach the fake Wix fails the webhook rules at once, naming the settings", async () => {
  const webhookOnly = [
    "webhook-approval-matches-response",
    "webhook-decline-matches-response",
    "webhooks-never-contradict",
  ];
  // On its defaults the server sends no webhooks: after the payments, the rules stop waiting.
  const silent = await checkWithWixEnv(() => ({}), ["create-transaction-approved", ...webhookOnly]);
  assert.equal(silent[0].result, "pass");
  for (const result of silent.slice(1)) {
    assert.equal(result.result, "fail", result.id);
    assert.match(
      result.evidence,
      /^no token request reached this fake Wix at http:\/\/127\.0\.0\.1:\d+ in 4 s after an approved payment: .*start it with WIX_API_BASE_URL=http:\/\/127\.0\.0\.1:\d+ WIX_APP_ID=wix-check-app WIX_APP_SECRET=<check's --app-secret/,
    );
  }
  // With no payment rule before them, the first webhook rule waits as usual; the others do not.
  const wrongApp = await checkWithWixEnv(
    (wix) => ({ WIX_API_BASE_URL: wix.url, WIX_APP_ID: "another-app", WIX_APP_SECRET: "x" }),
    webhookOnly,
  );
  assert.equal(wrongApp[0].result, "fail");
  assert.doesNotMatch(wrongApp[0].evidence, /start it with/, "the first rule ran and waited");
  for (const result of wrongApp.slice(1)) {
    assert.equal(result.result, "fail", result.id);
    assert.match(
      result.evidence,
      /^the server asked this fake Wix for tokens with other app credentials \(bad client credentials \(client_id "another-app"\)\) during webhook-approval-matches-response: start it with WIX_API_BASE_URL=/,
    );
  }
});

/** Whether `text` is signed validly by the test key in `digest` (so a rewrite may re-sign it). */
async function validlySigned(request: Request, text: string): Promise<boolean> {
  const keys = await importWixPublicKeys((await testKeyPair()).publicPem);
  try {
    await verifyWixRequest(
      new Request(request.url, { method: "POST", headers: request.headers, body: text }),
      { keys, clockSkewSeconds: 60, maxLifetimeSeconds: 3600, maxBodyBytes: 1 << 20 },
    );
    return true;
  } catch {
    return false;
  }
}

/**
 * A PSP whose test mode draws each payment's outcome at random, with equal odds, whatever the
 * card: approved, declined 3012 or pending 5005 (then approved). A repeat gets its payment's
 * draw; the 3-D Secure card keeps its redirect; requests not validly signed pass unchanged.
 * `inner` (a defect) handles the rewritten request.
 */
function randomOutcomes(inner: Handler = (request, next) => forward(request, next)): Handler {
  const cards = ["4111111111111111", "4000000000000002", "4000000000005005"];
  return outcomesDrawn(() => cards[Math.floor(Math.random() * cards.length)], inner);
}

/** As {@link randomOutcomes}, with each payment's sandbox card drawn by `draw`, once per id. */
function outcomesDrawn(
  draw: (wixTransactionId: string) => string,
  inner: Handler = (request, next) => forward(request, next),
): Handler {
  const drawn = new Map<string, string>();
  return async (request, next) => {
    const text = await request.text();
    const same = () =>
      new Request(request.url, { method: "POST", headers: request.headers, body: text });
    if (!request.url.endsWith("/create-transaction")) return await inner(same(), next);
    const body = JSON.parse(text);
    const card = body.paymentMethodData?.card;
    if (!card || card.number === "4000000000003220" || !await validlySigned(request, text)) {
      return await inner(same(), next);
    }
    const id = body.wixTransactionId;
    if (!drawn.has(id)) drawn.set(id, draw(id));
    const changed = JSON.stringify({
      ...body,
      paymentMethodData: { ...body.paymentMethodData, card: { ...card, number: drawn.get(id) } },
    });
    const headers = new Headers(request.headers);
    headers.set("digest", await resign(changed));
    return await inner(new Request(request.url, { method: "POST", headers, body: changed }), next);
  };
}

const hasDistribution = (evidence: string) => /\b\w+ \d+\/\d+(, \w+ \d+\/\d+)*/.test(evidence);

Deno.test("check: against a PSP whose outcomes are random, every rule reaches its state or names the outcomes it saw; the determinism rule warns", async () => {
  // A retry after the outage rule's 3 s outage may land 7-8 s after Wix is back on a loaded
  // machine (the schedule's 5 s step, the sweeper's tick): wait longer than the default 8 s.
  const patient = { webhookTimeoutMs: 15_000 };
  // With one attempt, many states are missed: each miss must still say what came instead.
  for (const r of await checkVariant({ front: randomOutcomes() }, { attempts: 1, ...patient })) {
    if (r.result === "pass" || r.result === "warn") continue;
    assert.ok(
      /in \d+ attempt\(s\)/.test(r.evidence) && hasDistribution(r.evidence),
      `(1 attempt) ${r.id} ${r.result} without the outcomes it saw: ${r.evidence}`,
    );
  }
  const results = await checkVariant({ front: randomOutcomes() }, patient);
  const byId = Object.fromEntries(results.map((r) => [r.id, r]));
  assert.equal(byId["test-outcomes-deterministic"].result, "warn");
  assert.match(
    byId["test-outcomes-deterministic"].evidence,
    /the same card and amount gave different outcomes: card 411111…1111 for 1000: /,
  );
  for (const r of results) {
    if (r.result === "pass" || r.result === "warn") continue;
    assert.ok(
      /in \d+ attempt\(s\)/.test(r.evidence) && hasDistribution(r.evidence),
      `${r.id} ${r.result} without the outcomes it saw: ${r.evidence}`,
    );
  }
  const reached = results.filter((r) => /\(after \d+ tries: /.test(r.evidence));
  assert.ok(reached.every((r) => hasDistribution(r.evidence)), "tries name what came before");
});

Deno.test("check: webhook-retried-after-failure pays again when the answer is pending, whose refused event may rightly give way to its final one", async () => {
  // The rule's first two payments answer pending (the final is owed 1 s later, as the refused
  // event's retry falls due), the third approved: the rule judges the third. Before, it judged
  // the first, and failed it when the final went first: "the refused Submit Event (the answered
  // state, pending) was never accepted" (seen once in CI's random-outcome run).
  let retried = 0;
  const front = outcomesDrawn((id) =>
    id.includes("-retried-") && ++retried <= 2 ? "4000000000005005" : "4111111111111111"
  );
  const [result] = await checkVariant({ front }, { only: ["webhook-retried-after-failure"] });
  assert.equal(result.result, "pass", result.evidence);
  assert.equal(retried, 3);
  // With one attempt, the pending answer skips the rule, naming what came.
  retried = 0;
  const [once] = await checkVariant({ front }, {
    only: ["webhook-retried-after-failure"],
    attempts: 1,
  });
  assert.equal(once.result, "skip");
  assert.match(
    once.evidence,
    /^no final answer in 1 attempt\(s\) with card 411111…1111: pending 1\/1/,
  );
});

Deno.test("check: against a random PSP, five defects are each found in five runs out of five", async () => {
  const defects: { rule: string; variant: Partial<Variant> }[] = [
    "refund-within-balance",
    "pending-then-final-webhooks",
    "refund-idempotent",
    "webhook-retried-after-failure",
    "survives-wix-outage",
  ].map((rule) => {
    const variant = VARIANTS.find((v) => v.failing.includes(rule))!;
    return {
      rule,
      variant: {
        front: randomOutcomes(variant.front),
        back: variant.back,
      },
    };
  });
  // At 1/3 odds, 30 attempts miss a state with probability (2/3)^30, under 1e-5.
  const found = await Promise.all(defects.map(async ({ rule, variant }) => {
    const verdicts: string[] = [];
    for (let run = 0; run < 5; run++) {
      const [result] = await checkVariant(variant, {
        only: [rule],
        attempts: 30,
        webhookTimeoutMs: 4000,
      });
      verdicts.push(`${result.result}: ${result.evidence}`);
    }
    return { rule, verdicts };
  }));
  for (const { rule, verdicts } of found) {
    assert.ok(verdicts.every((v) => v.startsWith("fail")), `${rule}:\n${verdicts.join("\n")}`);
  }
});

Deno.test("check: --junit writes JUnit XML a parser accepts, one testcase per rule; --transcript writes each rule's exchanges with card numbers masked", async () => {
  const dir = await Deno.makeTempDir();
  const wixPort = freePort(); // check's own fake Wix listens there
  const service = await startTestService({
    ...fakeWixEnv({ url: `http://127.0.0.1:${wixPort}`, ...APP }),
    ...FAST,
  });
  try {
    const key = join(dir, "key.pem");
    await Deno.writeTextFile(key, (await testKeyPair()).privatePem);
    const junit = join(dir, "report.xml");
    const transcript = join(dir, "transcript");
    const run = await runCli(
      {},
      "check",
      "--url",
      service.url,
      "--private-key",
      key,
      "--wix-port",
      String(wixPort),
      "--only",
      "create-transaction-approved,decline-answers-200-with-reason,three-d-secure-redirect," +
        "test-outcomes-deterministic,webhook-approval-matches-response",
      "--3ds-card",
      "4111111111111111", // approved, not redirected: this rule fails
      "--junit",
      junit,
      "--transcript",
      transcript,
    );
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /JUnit report: /, run.stderr);
    const text = await Deno.readTextFile(junit);
    assert.equal(XMLValidator.validate(text), true);
    const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "" }).parse(text);
    const suite = doc.testsuites.testsuite;
    assert.equal(suite.tests, "5");
    assert.equal(suite.failures, "1");
    assert.equal(suite.errors, "0");
    const cases = [suite.testcase].flat();
    assert.deepEqual(cases.map((c: { name: string }) => c.name), [
      "create-transaction-approved",
      "decline-answers-200-with-reason",
      "three-d-secure-redirect",
      "test-outcomes-deterministic",
      "webhook-approval-matches-response",
    ]);
    for (const c of cases) assert.match(c.time, /^\d+\.\d{3}$/);
    const failed = cases.find((c: { failure?: unknown }) => c.failure);
    assert.equal(failed.name, "three-d-secure-redirect");
    assert.match(failed.failure.message, /no redirect in 6 attempt\(s\)/);
    const files = [...Deno.readDirSync(transcript)].map((f) => f.name).sort();
    assert.deepEqual(files, [
      "01-create-transaction-approved.json",
      "02-decline-answers-200-with-reason.json",
      "03-three-d-secure-redirect.json",
      "04-test-outcomes-deterministic.json",
      "05-webhook-approval-matches-response.json",
    ]);
    const decline = JSON.parse(await Deno.readTextFile(join(transcript, files[1])));
    assert.equal(decline.result, "pass");
    const [exchange] = decline.exchanges;
    assert.equal(exchange.request, "POST /v1/create-transaction");
    assert.equal(exchange.body.paymentMethodData.card.number, "400000…0002");
    assert.equal(exchange.body.paymentMethodData.card.cvv, "***");
    assert.equal(exchange.answer.reasonCode, 3012);
    const approval = JSON.parse(await Deno.readTextFile(join(transcript, files[4])));
    assert.equal(approval.webhooks.accepted.length, 1, "the webhook the rule judged");
    for (const file of files) {
      const raw = await Deno.readTextFile(join(transcript, file));
      for (const pan of ["4111111111111111", "4000000000000002", "4000000000005005"]) {
        assert.ok(!raw.includes(pan), `${file} holds the card number ${pan}`);
      }
      assert.ok(!raw.includes('"cvv": "123"'), `${file} holds a CVV`);
    }
  } finally {
    await service.close();
    await Deno.remove(dir, { recursive: true });
  }
});
