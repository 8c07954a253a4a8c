import assert from "node:assert/strict";
import { runConformance } from "../cli/conformance/mod.ts";
import type { ConformanceOptions, RuleResult } from "../cli/conformance/mod.ts";
import { signWixRequest } from "../cli/wix_signer.ts";
import { importRs256PrivateKey } from "../core/wix/mod.ts";
import { fakeWixEnv, startTestService, testKeyPair } from "./helpers.ts";
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
      if (body.reasonCode === undefined) return Response.json(body);
      return Response.json({ pluginRefundId: `rf_unchecked_${crypto.randomUUID()}` });
    },
  },
  {
    defect: "concurrent requests lose writes",
    failing: ["concurrent-distinct-payments"],
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
  // Half at a time: the machine has two cores and each run waits on webhooks.
  for (const batch of [VARIANTS.slice(0, 4), VARIANTS.slice(4)]) {
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
