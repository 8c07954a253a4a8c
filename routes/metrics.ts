/**
 * `GET /metrics`: the service's metrics as Prometheus text, for operators who scrape rather
 * than push OpenTelemetry. With `METRICS_TOKEN` set it needs `Authorization: Bearer <token>`.
 * The webhook backlog gauges are counted afresh for each scrape.
 */

import type { AppDeps } from "./deps.ts";
import { countWebhookBacklog } from "../core/delivery/mod.ts";
import { requireBearer } from "../core/http/mod.ts";
import type { Route } from "../core/http/mod.ts";
import {
  recordKvCommits,
  recordWebhookBacklog,
  refreshBackupAge,
  registry,
} from "../core/telemetry/mod.ts";
import { groupCommitStats } from "../core/store/mod.ts";

export const metricsRoute: Route<AppDeps> = {
  name: "metrics",
  method: "GET",
  path: "/metrics",
  gate: "public",
  async handle(ctx, deps) {
    const token = deps.config.metricsToken;
    if (token !== undefined) {
      await requireBearer(ctx.request, token, "METRICS_TOKEN", {
        guard: deps.guard,
        clientAddress: ctx.clientAddress,
        surface: "metrics",
      });
    }
    const backlog = await countWebhookBacklog(deps.kv);
    recordWebhookBacklog(backlog.owed, backlog.dead);
    refreshBackupAge(Date.now());
    const commits = groupCommitStats(deps.kv);
    if (commits) recordKvCommits(commits.operations, commits.commits);
    return new Response(registry.renderPrometheus(), {
      headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
    });
  },
};
