/**
 * The benchmark's table: each figure of a run's report, with its ratio or its target marked
 * `met` or `MISSED`.
 * @module
 */

import type { Isolation } from "./isolation.ts";
import type { measureDataScale } from "./scale.ts";
import type { pacedReport } from "./paced.ts";

export type Report = {
  mode: string;
  connections: number;
  floors: {
    serveRequestsPerSecond: number;
    rs256VerificationsPerSecond: number;
    joseRs256VerificationsPerSecond: number;
    kvCheckedCommitsPerSecond: number;
    servePaced: { rate: number; latencyMs: Latency };
  };
  createTransaction: {
    saturation: { perSecond: number };
    moderate: Paced;
    quarter: Paced;
    ratioToServeFloor: number;
    ratioToVerifyFloor: number;
    ratioToCommitFloor: number;
    ratioToLowerFloor: number;
  };
  webhooks: {
    latencyMs: { p50: number; p99: number };
    backlog: { owed: number; deliveriesPerSecond: number };
  };
  service: {
    peakRssMb: number;
    idleRssMb: number;
    cpuMsPerPayment: number;
    cpuMsAnswering: number;
    cpuMsDelivering: number;
    kv: { operationsPerPayment: number; commitsPerPayment: number; writtenKbPerPayment: number };
  };
  instances: { processes: number; perSecond: number }[];
  targets: Record<string, boolean>;
  memory64: { connections: number; peakRssMb: number };
  isolation: Isolation;
  dataScale: Awaited<ReturnType<typeof measureDataScale>>;
};

type Latency = { p50: number; p90: number; p99: number };
/** A paced phase as `pacedReport` keeps it: rate, latency, threads busy, CPU and commits. */
type Paced = ReturnType<typeof pacedReport>;
type Row = [measure: string, value: string, target: string];

/** A number in the table's style: thousands separated, `digits` decimals. */
const n = (value: number, digits = 0) =>
  value.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
const met = (ok: boolean) => ok ? "met" : "MISSED";
const latencies = (ms: Latency) =>
  `p50 ${n(ms.p50, 1)} / p90 ${n(ms.p90, 1)} / p99 ${n(ms.p99, 1)} ms`;

/** The floors' rows. */
function floorRows(report: Report): Row[] {
  return [
    [
      "floor: trivial Deno.serve JSON handler",
      `${n(report.floors.serveRequestsPerSecond)} req/s`,
      "",
    ],
    [
      "floor: RS256 verify (the gate's, 2048-bit)",
      `${n(report.floors.rs256VerificationsPerSecond)} /s`,
      `jose with WebCrypto: ${n(report.floors.joseRs256VerificationsPerSecond)} /s`,
    ],
    ["floor: checked KV commit (file)", `${n(report.floors.kvCheckedCommitsPerSecond)} /s`, ""],
    [
      `floor: trivial Deno.serve at ${n(report.floors.servePaced.rate)} req/s (evenly spaced)`,
      latencies(report.floors.servePaced.latencyMs),
      "what the load generator and the machine add at the half rate",
    ],
  ];
}

/** Create Transaction at saturation and half load, and the webhooks' rows. */
function paymentRows(report: Report): Row[] {
  const ct = report.createTransaction;
  return [
    [
      `create-transaction, saturation (${report.connections} conns)`,
      `${n(ct.saturation.perSecond)} req/s`,
      `x${n(ct.ratioToServeFloor, 3)} serve, x${n(ct.ratioToVerifyFloor, 2)} verify, x${
        n(ct.ratioToCommitFloor, 2)
      } commit; >= 0.25 commit: ${
        met(report.targets.atLeastQuarterOfCommitFloor)
      }; >= 0.60 of lower floor: ${met(report.targets.throughputAtLeast60PercentOfLowerFloor)}`,
    ],
    [
      `create-transaction at ${n(ct.moderate.rate)} req/s (50%, evenly spaced)`,
      latencies(ct.moderate.latencyMs),
      `p99 < 25 ms: ${met(report.targets.p99Under25ms)}`,
    ],
    [
      `create-transaction at ${n(ct.quarter.rate)} req/s (25%, evenly spaced)`,
      latencies(ct.quarter.latencyMs),
      "",
    ],
    ...[["50%", ct.moderate] as const, ["25%", ct.quarter] as const].map(([share, p]): Row => [
      `  at ${share}: main thread / KV writer busy; CPU, commits, disk written per payment`,
      `${n(100 * p.busy.main)}% / ${n(100 * p.busy.kv)}%; ${n(p.cpuMsPerPayment, 2)} ms; ${
        n(p.commitsPerPayment, 2)
      }; ${n(p.writtenKbPerPayment)} KB`,
      "",
    ]),
    [
      "webhook: answer -> Submit Event arrives",
      `p50 ${n(report.webhooks.latencyMs.p50)} / p99 ${n(report.webhooks.latencyMs.p99)} ms`,
      `p99 < 250 ms: ${met(report.targets.webhookP99Under250ms)}`,
    ],
    [
      `webhook backlog: ${n(report.webhooks.backlog.owed)} owed at once`,
      `${n(report.webhooks.backlog.deliveriesPerSecond)} deliveries/s`,
      `>= 1,000/s: ${met(report.targets.backlogAtLeast1000PerSecond)}`,
    ],
  ];
}

/** CPU, KV commits, several processes and memory. */
function resourceRows(report: Report): Row[] {
  const service = report.service;
  return [
    [
      "service CPU per payment (webhook included)",
      `${n(service.cpuMsPerPayment, 2)} ms`,
      `<= 1.2 ms: ${met(report.targets.cpuAtMost1_2ms)}; <= 0.7 ms: ${
        met(report.targets.cpuAtMost0_7ms)
      }`,
    ],
    [
      "  of which: answering (webhooks off) / delivering a backlog",
      `${n(service.cpuMsAnswering, 2)} / ${n(service.cpuMsDelivering, 2)} ms`,
      "",
    ],
    [
      "KV at saturation (webhook included): atomic operations / commits / disk written per payment",
      `${n(service.kv.operationsPerPayment, 2)} / ${n(service.kv.commitsPerPayment, 2)} / ${
        n(service.kv.writtenKbPerPayment)
      } KB`,
      `payments per commit (fsync): ${n(1 / service.kv.commitsPerPayment, 2)}`,
    ],
    ...report.instances.map((m): Row => [
      `create-transaction, ${m.processes} process${m.processes > 1 ? "es" : ""} on one KV file`,
      `${n(m.perSecond)} req/s`,
      `x${n(m.perSecond / report.instances[0].perSecond, 2)} of one process`,
    ]),
    [
      "service RSS: idle after start / peak",
      `${n(service.idleRssMb, 1)} / ${n(service.peakRssMb, 1)} MB`,
      `peak < 150 MB: ${met(report.targets.memoryUnder150MB)}`,
    ],
  ];
}

/** The drain's cost to payments made meanwhile, and the seeded store against an empty one. */
function isolationAndScaleRows(report: Report): Row[] {
  const iso = report.isolation;
  const scale = report.dataScale;
  const pages = Object.entries(scale.consoleMs.empty).map(([page, empty]) =>
    `${page} ${n(empty, 1)} -> ${
      n(scale.consoleMs.seeded[page as keyof typeof scale.consoleMs.seeded], 1)
    }`
  ).join(", ");
  const worst = Math.max(...Object.values(scale.consoleMs.ratio));
  return [
    [
      `create-transaction at ${n(iso.rate)} req/s: quiet / while ${n(iso.backlog)} webhooks drain`,
      `p50 ${n(iso.p50QuietMs, 1)} / ${n(iso.p50DuringDrainMs, 1)}, p99 ${n(iso.p99QuietMs, 1)} / ${
        n(iso.p99DuringDrainMs, 1)
      } ms`,
      `x${n(iso.p99DuringDrainMs / iso.p99QuietMs, 2)}; <= 1.5: ${
        met(iso.p99DuringDrainMs <= 1.5 * iso.p99QuietMs)
      }${iso.drainOutlastedPayments ? "" : " (the drain ended first)"}; backlog ${
        n(iso.backlogPerSecondDuringPayments)
      }/s meanwhile; drained in ${n(iso.drainSeconds, 1)} s`,
    ],
    [
      `saturation: empty store / ${n(scale.seededPayments)} earlier payments (better of 2)`,
      `${n(scale.saturationEmpty)} / ${n(scale.saturationSeeded)} req/s`,
      `x${n(scale.saturationRatio, 2)}; >= 0.9: ${met(scale.saturationRatio >= 0.9)}; rounds ${
        scale.saturationRounds.empty.map((one) => n(one)).join(", ")
      } / ${scale.saturationRounds.seeded.map((one) => n(one)).join(", ")}`,
    ],
    [
      "console pages, median ms (lower of 2 rounds): empty -> seeded",
      pages,
      `worst x${n(worst, 2)}; <= 1.5: ${met(worst <= 1.5)}`,
    ],
    [
      "sweeper pass / backlog count, median ms (lower of 2): empty / seeded",
      `${n(scale.sweepMs.empty, 1)} / ${n(scale.sweepMs.seeded, 1)}; ${
        n(scale.backlogCountMs.empty, 1)
      } / ${n(scale.backlogCountMs.seeded, 1)}`,
      "",
    ],
    [
      `service peak RSS, ${report.memory64.connections} connections, webhooks on`,
      `${n(report.memory64.peakRssMb, 1)} MB`,
      `< 150 MB: ${met(report.memory64.peakRssMb < 150)}`,
    ],
  ];
}

/** The one table: each figure, its ratio or target. */
export function renderTable(report: Report): string {
  const rows = [
    ...floorRows(report),
    ...paymentRows(report),
    ...resourceRows(report),
    ...isolationAndScaleRows(report),
  ];
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((row) => row[i].length)));
  const line = (row: string[]) => `| ${row.map((cell, i) => cell.padEnd(widths[i])).join(" | ")} |`;
  return [
    `benchmark (${report.mode})`,
    line(["measure", "value", "ratio / target"]),
    line(widths.map((w) => "-".repeat(w))),
    ...rows.map(line),
  ].join("\n");
}
