/**
 * Rules on request signing (spec §7.1), all on Connect Account: a correctly signed request is
 * answered, and unsigned, tampered, expired, `exp`-less and foreign-key requests are refused,
 * with the digest taken over the exact bytes received. Every refusal rule first makes sure a
 * correctly signed request is accepted, else a server that refuses everything would pass.
 * @module
 */

import { generateRs256KeyPair } from "../../core/wix/mod.ts";
import { show } from "./client.ts";
import type { Reply, SendOptions } from "./client.ts";
import { Skip } from "./context.ts";
import type { CheckContext } from "./context.ts";
import { judge } from "./rule.ts";
import type { Rule, Verdict } from "./rule.ts";

const now = () => Math.floor(Date.now() / 1000);

const accepted = (reply: Reply) =>
  reply.status === 200 && reply.contentType.includes("application/json") &&
  reply.body !== undefined;

/** Skips unless a correctly signed Connect Account is answered 200. */
async function requireSignedAccepted(ctx: CheckContext): Promise<void> {
  const reply = await ctx.client.post("connect", ctx.connectBody());
  if (!accepted(reply)) {
    throw new Skip(`a correctly signed request is not accepted either (${show(reply)})`);
  }
}

/** A rule that a request sent with `options` is refused. */
function refusal(id: string, options: (ctx: CheckContext) => Promise<SendOptions>): Rule {
  return {
    id,
    async run(ctx) {
      await requireSignedAccepted(ctx);
      const reply = await ctx.client.post("connect", ctx.connectBody(), await options(ctx));
      return judge(
        reply.status !== 200,
        `${show(reply)}${reply.status === 200 ? " (accepted!)" : ""}`,
      );
    },
  };
}

async function digestOverRawBytes(ctx: CheckContext): Promise<Verdict> {
  await requireSignedAccepted(ctx);
  const body = ctx.connectBody();
  // Signed over its own pretty-printed bytes: valid, must be answered.
  const pretty = JSON.stringify(body, null, 2);
  const prettyReply = await ctx.client.post("connect", body, { signed: pretty });
  // Signed compact, sent re-spaced: not the signed bytes, must be refused.
  const respaced = JSON.stringify(body, null, 1);
  const respacedReply = await ctx.client.post("connect", body, { send: respaced });
  const problems = [
    ...(accepted(prettyReply)
      ? []
      : ["a pretty-printed body signed over its exact bytes was refused"]),
    ...(respacedReply.status === 200
      ? [
        "a body signed compact but sent re-spaced was accepted: the digest is not over the raw bytes",
      ]
      : []),
  ];
  return judge(
    problems.length === 0,
    problems.length > 0
      ? `${problems.join("; ")} (pretty: ${show(prettyReply)}; re-spaced: ${show(respacedReply)})`
      : `pretty-printed, signed over its bytes: HTTP ${prettyReply.status}; ` +
        `compact-signed, sent re-spaced: HTTP ${respacedReply.status}`,
  );
}

/** The signing rules, in order. */
export const AUTH_RULES: Rule[] = [
  {
    id: "signed-request-gets-200-json",
    async run(ctx) {
      const reply = await ctx.client.post("connect", ctx.connectBody());
      return judge(accepted(reply), show(reply));
    },
  },
  refusal("unsigned-request-refused", () => Promise.resolve({ sign: "unsigned" })),
  refusal("tampered-request-refused", (ctx) =>
    Promise.resolve({
      send: JSON.stringify({ ...ctx.connectBody(), wixMerchantId: `${ctx.merchantId}-x` }),
    })),
  refusal(
    "expired-token-refused",
    () => Promise.resolve({ sign: { iat: now() - 600, exp: now() - 480 } }),
  ),
  refusal("exp-required", () => Promise.resolve({ sign: { exp: null } })),
  refusal("foreign-key-refused", async () => ({
    key: (await generateRs256KeyPair()).privateKey,
  })),
  { id: "digest-over-raw-bytes", run: digestOverRawBytes },
];
