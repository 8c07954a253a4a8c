import assert from "node:assert/strict";
import { join } from "node:path";
import { launchChromium } from "./chromium.ts";
import { startFakeWix } from "../cli/fake_wix.ts";
import {
  cardPayment,
  eventually,
  fakeWixEnv,
  PROJECT_ROOT,
  startTestService,
  uniqueId,
} from "./helpers.ts";
import type { TestService } from "./helpers.ts";
import { transactionRecord } from "./helpers.ts";
import { listTransactions, search } from "../core/console/mod.ts";
import { indexEarlierTransactions } from "../core/payments/mod.ts";
import { kvKeys } from "../core/store/mod.ts";

const KEY = "console-key-0123456789abcdef";
const CARD = "4111111111111111";
const MERCHANT = "0a1b2c3d-0000-4000-8000-000000000001";
const ARTIFACTS = join(PROJECT_ROOT, "test-artifacts");

/** Signs in with fetch; the cookie and the CSRF token of the overview's forms. */
async function signIn(t: TestService, headers: Record<string, string> = {}) {
  const response = await fetch(`${t.url}/console/login`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body: new URLSearchParams({ key: KEY }),
    redirect: "manual",
  });
  await response.body?.cancel();
  assert.equal(response.status, 303);
  const setCookie = response.headers.get("set-cookie") ?? "";
  const cookie = /^psp_console=([^;]+)/.exec(setCookie)![1];
  const overview =
    await (await fetch(`${t.url}/console`, { headers: { cookie: `psp_console=${cookie}` } }))
      .text();
  const csrf = /name="csrf" value="([^"]+)"/.exec(overview)![1];
  return { cookie, csrf, setCookie };
}

Deno.test("console: sessions, CSRF and cross-site requests; off without PSP_API_KEY", async () => {
  const off = await startTestService();
  try {
    const response = await fetch(`${off.url}/console/login`);
    assert.equal(response.status, 404);
    await response.body?.cancel();
  } finally {
    await off.close();
  }
  const t = await startTestService({ PSP_API_KEY: KEY });
  try {
    const anonymous = await fetch(`${t.url}/console`, { redirect: "manual" });
    await anonymous.body?.cancel();
    assert.equal(anonymous.status, 303);
    assert.equal(anonymous.headers.get("location"), "/console/login");
    const wrong = await fetch(`${t.url}/console/login`, {
      method: "POST",
      body: new URLSearchParams({ key: "nope" }),
    });
    assert.equal(wrong.status, 401);
    assert.ok(!(await wrong.text()).includes(KEY));
    const { cookie, csrf, setCookie } = await signIn(t);
    assert.match(setCookie, /; Path=\/console; HttpOnly; SameSite=Strict; Max-Age=28800$/);
    const https = await signIn(t, { "x-forwarded-proto": "https" });
    assert.match(https.setCookie, /; Secure$/);
    const post = (
      path: string,
      form: Record<string, string>,
      headers: Record<string, string> = {},
    ) =>
      fetch(`${t.url}${path}`, {
        method: "POST",
        headers: {
          cookie: `psp_console=${cookie}`,
          "content-type": "application/x-www-form-urlencoded",
          ...headers,
        },
        body: new URLSearchParams(form),
        redirect: "manual",
      }).then(async (r) => ({ status: r.status, text: await r.text() }));
    assert.equal((await post("/console/dead/redeliver-all", {})).status, 403, "no CSRF token");
    assert.equal((await post("/console/dead/redeliver-all", { csrf: "forged" })).status, 403);
    const crossSite = await post("/console/dead/redeliver-all", { csrf }, {
      origin: "https://evil.example",
    });
    assert.equal(
      crossSite.status,
      403,
      "a cross-site POST is refused even with the session and token",
    );
    assert.match(crossSite.text, /cross-site/);
    const fetchSite = await post("/console/dead/redeliver-all", { csrf }, {
      "sec-fetch-site": "cross-site",
    });
    assert.equal(fetchSite.status, 403);
    assert.equal(
      (await post("/console/dead/redeliver-all", { csrf })).status,
      303,
      "same-origin with the token",
    );
    const badCursor = await fetch(`${t.url}/console/transactions?cursor=%21%21%21`, {
      headers: { cookie: `psp_console=${cookie}` },
    });
    assert.equal(badCursor.status, 400);
    assert.match(await badCursor.text(), /not valid any more/);
    assert.equal((await post("/console/logout", { csrf })).status, 303);
    const after = await fetch(`${t.url}/console`, {
      headers: { cookie: `psp_console=${cookie}` },
      redirect: "manual",
    });
    await after.body?.cancel();
    assert.equal(after.status, 303, "the session ended with sign-out");
    assert.equal((await post("/console/dead/redeliver-all", { csrf })).status, 401);
    const page = await fetch(`${t.url}/console/login`);
    assert.equal(
      page.headers.get("content-security-policy"),
      "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    );
    assert.ok(!(await page.text()).includes("<script"));
  } finally {
    await t.close();
  }
});

Deno.test("console (Chromium): sign in, overview, find a payment, its timeline, redeliver its dead webhook, sign out", async () => {
  await Deno.mkdir(ARTIFACTS, { recursive: true });
  const wix = await startFakeWix();
  const t = await startTestService({
    ...fakeWixEnv(wix),
    PSP_API_KEY: KEY,
    WEBHOOK_RETRY_SCHEDULE: "0s,100ms",
  });
  const browser = await launchChromium();
  try {
    const delivered = uniqueId("console-ok");
    const okAnswer = await t.call(
      "/v1/create-transaction",
      cardPayment({ wixTransactionId: delivered, number: CARD }),
    );
    await t.call(
      "/v1/create-transaction",
      cardPayment({ wixTransactionId: delivered, number: CARD }),
    ); // a replay
    await t.call("/v1/create-transaction", cardPayment({ number: "4000000000000002" }));
    await eventually("both webhooks", () => wix.events.length >= 2 || undefined);
    wix.setFailureRate(1, [500]);
    const doomed = uniqueId("console-dead");
    await t.call("/v1/create-transaction", cardPayment({ wixTransactionId: doomed, number: CARD }));
    const deadId = await eventually(
      "its webhook dead",
      async () => (await t.service.deps.delivery.listDead())[0]?.id,
    );
    wix.setFailureRate(0);

    const page = await browser.newPage();
    await page.goto(`${t.url}/console`);
    assert.equal(await page.getByRole("heading", { level: 1 }).textContent(), "Sign in");
    await page.getByLabel("PSP API key").fill(KEY);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(`${t.url}/console`);
    assert.equal(await page.getByRole("heading", { level: 1 }).textContent(), "Last 24 hours");
    assert.equal(
      await page.getByRole("img", { name: /Payments per hour/ }).count(),
      1,
      "the chart",
    );
    const health = await page.locator(".card").allTextContents();
    assert.ok(health.some((text) => /^1dead$/.test(text)), health.join(" | "));
    await page.screenshot({ path: join(ARTIFACTS, "console-overview.png"), fullPage: true });

    await page.getByLabel("Find").fill(okAnswer.body.pluginTransactionId as string);
    await page.getByRole("button", { name: "Search" }).click();
    await page.waitForURL(`${t.url}/console/transactions/${delivered}`);
    const requests = await page.locator("h2:has-text('SPI requests answered') + table tbody tr")
      .count();
    assert.equal(requests, 2, "the first request and its replay, each answered");

    await page.getByLabel("Find").fill(doomed);
    await page.keyboard.press("Enter");
    await page.waitForURL(`${t.url}/console/transactions/${doomed}`);
    assert.equal(
      await page.getByRole("heading", { level: 1 }).textContent(),
      `Transaction ${doomed}`,
    );
    assert.match(
      await page.locator("h2:has-text('Webhooks') + table").textContent() ?? "",
      /dead.*500/s,
    );
    await page.screenshot({ path: join(ARTIFACTS, "console-timeline.png"), fullPage: true });
    await page.getByRole("button", { name: "Redeliver" }).click();
    await page.waitForURL(`${t.url}/console/transactions/${doomed}`);
    await eventually("the redelivered webhook", () => wix.eventsFor(doomed)[0]);
    await eventually("shown as delivered", async () => {
      await page.reload();
      return /delivered/.test(
        await page.locator("h2:has-text('Webhooks') + table").textContent() ?? "",
      ) || undefined;
    });
    assert.equal(
      (await t.service.deps.delivery.listDead()).find((w) => w.id === deadId),
      undefined,
    );

    await page.getByLabel("Find").fill(MERCHANT);
    await page.getByRole("button", { name: "Search" }).click();
    await page.waitForURL(/\/console\/transactions\?merchant=/);
    assert.ok((await page.locator("tbody tr").count()) >= 3);
    const html = await page.content();
    for (const secret of [KEY, CARD, wix.appSecret, '"cvv"']) {
      assert.ok(!html.includes(secret), `no ${secret} in the page`);
    }

    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL(`${t.url}/console/login`);
    await page.goto(`${t.url}/console/dead`);
    assert.equal(page.url(), `${t.url}/console/login`, "no page without the session");
    const logs = t.logs.join("\n");
    for (const secret of [KEY, CARD, wix.appSecret]) {
      assert.ok(!logs.includes(secret), `no ${secret} in the logs`);
    }
  } finally {
    await browser.close();
    await t.close();
    await wix.close();
  }
});

Deno.test("console: payments recorded before the indexes existed are indexed once, then listed and found", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    for (const [i, id] of ["old-1", "old-2", "old-3"].entries()) {
      const tx = transactionRecord("approved", {
        wixTransactionId: id,
        pluginTransactionId: `plugin-${id}`,
        wixMerchantId: "m-old",
        createdAt: 1_000 + i,
      });
      await kv.set(kvKeys.transaction(id), tx);
    }
    assert.deepEqual((await listTransactions(kv)).transactions, []);
    assert.equal(await indexEarlierTransactions(kv), 3);
    assert.equal(await indexEarlierTransactions(kv), 0, "once per database");
    const page = await listTransactions(kv, { limit: 2 });
    assert.deepEqual(page.transactions.map((tx) => tx.wixTransactionId), ["old-3", "old-2"]);
    const older = await listTransactions(kv, { limit: 2, cursor: page.next });
    assert.deepEqual(older.transactions.map((tx) => tx.wixTransactionId), ["old-1"]);
    assert.deepEqual(await search(kv, "plugin-old-2"), {
      kind: "transaction",
      wixTransactionId: "old-2",
    });
    assert.deepEqual(await search(kv, "m-old"), { kind: "merchant", wixMerchantId: "m-old" });
    assert.deepEqual(await search(kv, "nothing"), { kind: "none" });
  } finally {
    kv.close();
  }
});

Deno.test("console: money in one format on a timeline; webhooks held while no Wix was configured are shown apart from the lag", async () => {
  const dir = await Deno.makeTempDir();
  const KV_PATH = join(dir, "psp.sqlite3");
  const id = uniqueId("console-held");
  // First without a Wix app: the webhooks wait.
  const first = await startTestService({ KV_PATH, PSP_API_KEY: KEY });
  try {
    await first.call("/v1/create-transaction", cardPayment({ wixTransactionId: id, amount: 1000 }));
    const refund = await first.call("/v1/refund-transaction", {
      wixTransactionId: id,
      wixRefundId: `${id}-r`,
      refundAmount: 500,
    });
    assert.equal(refund.body.reasonCode, undefined);
  } finally {
    await first.close();
  }
  const wix = await startFakeWix();
  const second = await startTestService({ ...fakeWixEnv(wix), KV_PATH, PSP_API_KEY: KEY });
  try {
    await eventually(
      "both held webhooks delivered",
      () => wix.eventsFor(id).length === 2 || undefined,
    );
    const later = uniqueId("console-prompt");
    await second.call("/v1/create-transaction", cardPayment({ wixTransactionId: later }));
    await eventually("the prompt one", () => wix.eventsFor(later)[0]);
    const { cookie } = await signIn(second);
    const get = async (path: string) =>
      await (await fetch(`${second.url}${path}`, { headers: { cookie: `psp_console=${cookie}` } }))
        .text();
    const overview = await eventually("the deliveries marked", async () => {
      const html = await get("/console");
      return /<b>2<\/b>delivered after waiting for a Wix app/.test(html) ? html : undefined;
    });
    const lag = /<b>(\d+) ms<\/b>lag p99/.exec(overview);
    assert.ok(lag, "the prompt webhook's lag is shown");
    const timelineHtml = await get(`/console/transactions/${id}`);
    assert.match(timelineHtml, /<td>10\.00 USD<\/td>/);
    assert.match(timelineHtml, /<td>10\.00 USD \/ 5\.00 USD<\/td>/, "captured / refunded");
    assert.match(timelineHtml, /refund \(wix\)<\/td><td>5\.00 USD<\/td>/);
  } finally {
    await second.close();
    await wix.close();
    await Deno.remove(dir, { recursive: true });
  }
});
