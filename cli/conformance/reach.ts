/**
 * Whether the server's webhooks can reach this run's fake Wix at all. When no token request
 * arrives (the server's `WIX_API_BASE_URL` points elsewhere, or it has no Wix settings), or
 * only with other app credentials, the webhook rules fail at once with the settings to use,
 * instead of each waiting `--webhook-timeout` for webhooks that cannot come.
 * @module
 */

import type { FakeWix } from "../fake_wix.ts";
import type { CheckContext } from "./context.ts";
import type { RuleOutcome } from "./rule.ts";

/** What the run has learnt about the server's webhooks reaching the fake Wix. */
export class WebhookReach {
  #known = false;
  #problem?: string;

  constructor(
    readonly wix: FakeWix,
    /** The rules that need the server's webhooks. */
    readonly webhookRules: Set<string>,
    readonly webhookTimeoutMs: number,
  ) {}

  /**
   * Before rule `id`: the evidence to fail it with at once, if webhooks cannot reach the fake
   * Wix. Once an approval was answered, its token request is due: it is waited for (at most
   * 10 s) before the first webhook rule.
   */
  async before(id: string, ctx: CheckContext): Promise<string | undefined> {
    if (!this.webhookRules.has(id)) return undefined;
    if (!this.#known && await ctx.hasApproval()) {
      const ms = Math.min(10_000, this.webhookTimeoutMs);
      await awaitTokenRequest(this.wix, ms);
      this.#learn(
        webhookProblem(this.wix, `in ${Math.round(ms / 1000)} s after an approved payment`),
      );
    }
    return this.#problem;
  }

  /** After rule `id` ran: a webhook rule that did not skip has shown whether webhooks come. */
  after(id: string, result: RuleOutcome): void {
    if (this.#known || !this.webhookRules.has(id) || result === "skip") return;
    this.#learn(webhookProblem(this.wix, `during ${id}`));
  }

  #learn(problem: string | undefined) {
    this.#known = true;
    this.#problem = problem;
  }
}

/** Waits up to `ms` for any token request. */
async function awaitTokenRequest(wix: FakeWix, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  const reached = () => wix.tokensIssued > 0 || wix.refusals.some((r) => r.endpoint === "token");
  while (!reached() && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Why the server's webhooks cannot reach this fake Wix, with the fix, or undefined when they
 * can (a token was issued, or a token request broke the contract, which the rules report). The
 * webhook rules then fail at once instead of each waiting for webhooks that cannot come.
 */
function webhookProblem(wix: FakeWix, when: string): string | undefined {
  if (wix.tokensIssued > 0) return undefined;
  const tokenRefusals = wix.refusals.filter((r) => r.endpoint === "token");
  if (tokenRefusals.some((r) => r.status !== 401)) return undefined;
  const settings = `WIX_API_BASE_URL=${wix.url} WIX_APP_ID=${wix.appId} ` +
    "WIX_APP_SECRET=<check's --app-secret, default wix-check-secret>";
  if (tokenRefusals.length > 0) {
    return `the server asked this fake Wix for tokens with other app credentials ` +
      `(${tokenRefusals[0].reason}) ${when}: start it with ${settings}`;
  }
  return `no token request reached this fake Wix at ${wix.url} ${when}: the server sends its ` +
    `webhooks elsewhere, or none; start it with ${settings}`;
}
