import assert from "node:assert/strict";
import { join } from "node:path";
import { launchChromium } from "./chromium.ts";
import { SANDBOX_CARDS } from "../core/processors/sandbox/mod.ts";
import { startFakeWix } from "../cli/fake_wix.ts";
import { cardPayment, eventually, fakeWixEnv, PROJECT_ROOT, startTestService } from "./helpers.ts";

const ARTIFACTS = join(PROJECT_ROOT, "test-artifacts");

/** A stand-in for the merchant's shop: the return URLs land here. */
function startShop() {
  return Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, (request) => {
    const page = new URL(request.url).pathname.slice(1);
    return new Response(
      `<!doctype html><html lang="en"><title>Shop ${page}</title><h1>Shop: ${page}</h1></html>`,
      {
        headers: { "content-type": "text/html; charset=utf-8" },
      },
    );
  });
}

Deno.test("browser: the checkout page in Chromium (3-D Secure and a hosted method): each button leads to its return URL and webhook", async () => {
  await Deno.mkdir(ARTIFACTS, { recursive: true });
  const shop = startShop();
  const shopUrl = `http://127.0.0.1:${shop.addr.port}`;
  const wix = await startFakeWix();
  const t = await startTestService({
    ...fakeWixEnv(wix),
    REDIRECT_ABANDON_AFTER: "0s",
  });
  const browser = await launchChromium();
  try {
    await t.call("/v1/connect-account", {
      credentials: { apiKey: "k", accountName: "Blue Mug Shop" },
      wixMerchantId: "m-shop",
    });
    const runs = [
      { button: "Authenticate and pay", landing: "success", reasonCode: undefined },
      { button: "Fail authentication", landing: "error", reasonCode: 3004 },
      { button: "Cancel", landing: "cancel", reasonCode: 3030 },
      // A hosted-page method: the page names it, and failing there is a plain decline.
      { button: "Pay with iDEAL (RABOBANK)", landing: "success", reasonCode: undefined },
      { button: "Decline the payment", landing: "error", reasonCode: 3000 },
    ];
    // One page for every run: the packaged Chromium runs as a single process, which ends when
    // its last page closes.
    const page = await browser.newPage();
    for (const [index, run] of runs.entries()) {
      const card = cardPayment({
        number: SANDBOX_CARDS.threeDSecure,
        amount: 4250,
        currency: "EUR",
      });
      const body: Record<string, unknown> = index < 3 ? { ...card, wixMerchantId: "m-shop" } : {
        ...card,
        wixMerchantId: "m-shop",
        paymentMethod: "ideal",
        paymentMethodData: { ideal: { issuerBank: "RABOBANK" } },
      };
      const order = body.order as Record<string, unknown>;
      order.returnUrls = {
        successUrl: `${shopUrl}/success`,
        errorUrl: `${shopUrl}/error`,
        cancelUrl: `${shopUrl}/cancel`,
        pendingUrl: `${shopUrl}/pending`,
      };
      const answer = await t.call("/v1/create-transaction", body);
      await page.goto(answer.body.redirectUrl as string);
      assert.equal(
        await page.getByRole("heading", { level: 1 }).textContent(),
        "Pay Blue Mug Shop",
      );
      assert.ok((await page.content()).includes("42.50 EUR"));
      if (index === 0) {
        await page.screenshot({
          path: join(ARTIFACTS, "sandbox-checkout-page.png"),
          fullPage: true,
        });
      }
      await page.getByRole("button", { name: run.button }).click();
      await page.waitForURL(`${shopUrl}/${run.landing}`);
      assert.equal(page.url(), `${shopUrl}/${run.landing}`);
      assert.equal(await page.title(), `Shop ${run.landing}`);
      const [event] = await eventually("the webhook", () => {
        const events = wix.eventsFor(body.wixTransactionId as string);
        return events.length > 0 ? events : undefined;
      });
      assert.equal(event.payload.reasonCode, run.reasonCode);
      // Reloading the checkout page shows the final state and offers no more choices.
      await page.goto(answer.body.redirectUrl as string);
      assert.equal(await page.getByRole("button").count(), 0);
      assert.match(
        (await page.getByRole("status").textContent())!,
        /Payment (approved|declined|canceled)/,
      );
    }
    assert.equal(wix.events.length, runs.length);
    assert.deepEqual(wix.violations, []);
  } finally {
    await browser.close();
    await t.close();
    await wix.close();
    await shop.shutdown();
  }
});
