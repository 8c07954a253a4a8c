import assert from "node:assert/strict";
import { startFakeWix } from "../cli/fake_wix.ts";
import { importRs256PrivateKey } from "../core/wix/mod.ts";
import {
  cardPayment,
  eventually,
  fakeWixEnv,
  signedPost,
  spawnServer,
  startTestService,
  testKeyPair,
  uniqueId,
} from "./helpers.ts";

const CARD = "4111111111111111";

/** Parses Prometheus text into `name{labels}` -> value, failing on any malformed line. */
function parsePrometheus(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("# HELP ") || line.startsWith("# TYPE ")) continue;
    const match =
      /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (-?[0-9.e+]+|\+Inf|NaN)$/
        .exec(line);
    assert.ok(match, `not a Prometheus sample line: ${line}`);
    samples.set(`${match[1]}${match[2] ?? ""}`, Number(match[3]));
  }
  return samples;
}

const sample = (samples: Map<string, number>, prefix: string) =>
  [...samples].filter(([key]) => key.startsWith(prefix)).reduce((sum, [, v]) => sum + v, 0);

Deno.test("metrics: /metrics is Prometheus text whose counters move; 401 without the token", async () => {
  const token = "metrics-token-0123456789";
  const t = await startTestService({ METRICS_TOKEN: token });
  try {
    const scrape = async () => {
      const response = await fetch(`${t.url}/metrics`, {
        headers: { authorization: `Bearer ${token}` },
      });
      assert.equal(response.status, 200);
      assert.match(response.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
      return parsePrometheus(await response.text());
    };
    const before = await scrape();
    await t.call("/v1/create-transaction", cardPayment({ number: CARD }));
    await t.call("/v1/create-transaction", cardPayment({ number: "4000000000000002" }));
    const after = await scrape();
    const approved =
      'psp_spi_requests_total{operation="create-transaction",outcome="approved",reason_code=""}';
    const declined =
      'psp_spi_requests_total{operation="create-transaction",outcome="declined",reason_code="3012"}';
    assert.equal((after.get(approved) ?? 0) - (before.get(approved) ?? 0), 1);
    assert.equal((after.get(declined) ?? 0) - (before.get(declined) ?? 0), 1);
    const count = 'psp_spi_duration_count{operation="create-transaction"}';
    assert.equal((after.get(count) ?? 0) - (before.get(count) ?? 0), 2);
    assert.ok(sample(after, "psp_processor_duration_count") >= 2);
    assert.ok(after.has("psp_webhook_owed"), "the backlog gauge is served");
    assert.ok(after.has("psp_webhook_dead"));
    const attempts: Record<string, string>[] = [{}, {
      authorization: "Bearer wrong-token-0123456789",
    }];
    for (const headers of attempts) {
      const refused = await fetch(`${t.url}/metrics`, { headers });
      assert.equal(refused.status, 401);
      assert.equal(refused.headers.get("www-authenticate"), "Bearer");
      assert.ok(!(await refused.text()).includes("psp_"));
    }
  } finally {
    await t.close();
  }
});

/** A loopback OTLP/HTTP JSON receiver: every body posted to /v1/metrics and /v1/traces. */
function startOtlpReceiver() {
  const received = { metrics: [] as unknown[], traces: [] as unknown[], text: [] as string[] };
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, async (request) => {
    const text = await request.text();
    received.text.push(text);
    const path = new URL(request.url).pathname;
    if (path === "/v1/metrics") received.metrics.push(JSON.parse(text));
    if (path === "/v1/traces") received.traces.push(JSON.parse(text));
    return Response.json({});
  });
  return { url: `http://127.0.0.1:${server.addr.port}`, received, close: () => server.shutdown() };
}

// deno-lint-ignore no-explicit-any
type Json = any;

/** Metric data points by metric name, each with its attributes as a plain object. */
function metricPoints(bodies: Json[]): Map<string, Record<string, unknown>[]> {
  const points = new Map<string, Record<string, unknown>[]>();
  for (const body of bodies) {
    for (const rm of body.resourceMetrics ?? []) {
      for (const sm of rm.scopeMetrics ?? []) {
        for (const metric of sm.metrics ?? []) {
          const data = metric.sum ?? metric.histogram ?? metric.gauge ?? {};
          for (const point of data.dataPoints ?? []) {
            const attributes = Object.fromEntries(
              (point.attributes ?? []).map((a: Json) => [a.key, Object.values(a.value)[0]]),
            );
            points.set(metric.name, [...(points.get(metric.name) ?? []), attributes]);
          }
        }
      }
    }
  }
  return points;
}

function spans(bodies: Json[]): Json[] {
  return bodies.flatMap((body) =>
    (body.resourceSpans ?? []).flatMap((rs: Json) =>
      (rs.scopeSpans ?? []).flatMap((ss: Json) => ss.spans ?? [])
    )
  );
}

Deno.test("telemetry: the OTLP export carries the named metrics with their attributes, and one trace per request", async () => {
  const otlp = startOtlpReceiver();
  const wix = await startFakeWix({ appId: "otel-app", appSecret: "otel-secret" });
  const { publicPem, privatePem } = await testKeyPair();
  const dir = await Deno.makeTempDir();
  const server = await spawnServer({
    ...fakeWixEnv(wix),
    PORT: "0",
    HOST: "127.0.0.1",
    KV_PATH: `${dir}/psp.sqlite3`,
    WIX_APP_PUBLIC_KEY: publicPem,
    WEBHOOK_RETRY_SCHEDULE: "0s,300ms,1s",
    OTEL_DENO: "true",
    OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
    OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
    OTEL_METRIC_EXPORT_INTERVAL: "300",
    OTEL_SERVICE_NAME: "wix-psp-server-test",
  });
  try {
    const key = await importRs256PrivateKey(privatePem);
    const failedFirst = uniqueId("otel-retried");
    wix.failNextFor(failedFirst, 1, 503);
    const ids = [failedFirst, uniqueId("otel-a"), uniqueId("otel-b")];
    for (const id of ids) {
      const answer = await signedPost(
        `${server.url}/v1/create-transaction`,
        cardPayment({ wixTransactionId: id, number: CARD }),
        key,
      );
      assert.equal(answer.status, 200);
    }
    await signedPost(
      `${server.url}/v1/create-transaction`,
      cardPayment({ number: "4000000000000002" }),
      key,
    );
    await eventually(
      "every payment's webhook delivered",
      () => ids.every((id) => wix.eventsFor(id).length > 0) || undefined,
      15_000,
    );
    const points = await eventually("the named metrics exported", () => {
      const found = metricPoints(otlp.received.metrics);
      const attempts = found.get("psp.webhook.attempts") ?? [];
      const ready = attempts.some((a) => a.result === "failed") &&
        attempts.some((a) => a.result === "delivered") && found.has("psp.webhook.lag") &&
        found.has("psp.webhook.owed") && found.has("psp.webhook.dead");
      return ready ? found : undefined;
    }, 15_000);
    const requests = points.get("psp.spi.requests")!;
    assert.ok(
      requests.some((a) =>
        a.operation === "create-transaction" && a.outcome === "approved" && a.reason_code === ""
      ),
    );
    assert.ok(requests.some((a) => a.outcome === "declined" && a.reason_code === "3012"));
    assert.ok(points.get("psp.spi.duration")!.some((a) => a.operation === "create-transaction"));
    assert.ok(
      points.get("psp.processor.duration")!.some((a) =>
        a.operation === "createPayment" && a.result === "approved"
      ),
    );

    const all = await eventually("the spans of a payment exported", () => {
      const list = spans(otlp.received.traces);
      return list.some((s) => s.name === "processor.call") &&
          list.some((s) => s.name === "webhook.attempt")
        ? list
        : undefined;
    }, 15_000);
    const call = all.find((s: Json) => s.name === "processor.call");
    const trace = all.filter((s: Json) => s.traceId === call.traceId).map((s: Json) => s.name);
    for (const name of ["wix.verify", "payments.claim", "processor.call", "payments.commit"]) {
      assert.ok(trace.includes(name), `${name} in the request's trace: ${trace.join(", ")}`);
    }
    assert.ok(trace.length >= 5, `the server span too: ${trace.join(", ")}`);
    const attempt = all.find((s: Json) => s.name === "webhook.attempt");
    const children = all.filter((s: Json) => s.parentSpanId === attempt.spanId).map((s: Json) =>
      s.name
    );
    assert.deepEqual(children.sort().filter((n: string) => n.startsWith("wix.")), [
      "wix.submit_event",
      "wix.token",
    ]);
    const exported = otlp.received.text.join("\n");
    for (const secret of [CARD, "otel-secret", '"cvv"', "PRIVATE KEY"]) {
      assert.ok(!exported.includes(secret), `the export holds no ${secret}`);
    }
    assert.ok(!/tok_[0-9a-f-]{36}/.test(exported), "no access token in the export");
  } finally {
    await server.stop();
    await wix.close();
    await otlp.close();
    await Deno.remove(dir, { recursive: true });
  }
});
