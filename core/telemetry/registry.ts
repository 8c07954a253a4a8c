/**
 * A small in-process metrics registry rendered as Prometheus text (exposition format 0.0.4):
 * counters, histograms and gauges with label sets. The same values also go to OpenTelemetry
 * (see `instruments.ts`); this copy is what `GET /metrics` serves to operators who scrape.
 * @module
 */

/** Label values by label name. */
export type Labels = Record<string, string>;

interface Series<T> {
  labels: Labels;
  value: T;
}

interface HistogramValue {
  buckets: number[];
  sum: number;
  count: number;
}

type Family =
  | { kind: "counter"; help: string; series: Map<string, Series<number>> }
  | { kind: "gauge"; help: string; series: Map<string, Series<number>> }
  | {
    kind: "histogram";
    help: string;
    bounds: number[];
    series: Map<string, Series<HistogramValue>>;
  };

const seriesKey = (labels: Labels) => JSON.stringify(Object.entries(labels).sort());

/** A registry of metric families, keyed by their dotted OpenTelemetry names. */
export class MetricsRegistry {
  #families = new Map<string, Family>();

  /** Declares a counter, gauge or histogram (`bounds`: bucket upper bounds). */
  declare(name: string, kind: Family["kind"], help: string, bounds: number[] = []): void {
    if (this.#families.has(name)) return;
    this.#families.set(
      name,
      kind === "histogram"
        ? { kind, help, bounds, series: new Map() }
        : { kind, help, series: new Map() },
    );
  }

  /** Adds `value` to a counter. */
  add(name: string, value: number, labels: Labels = {}): void {
    const family = this.#family(name, "counter");
    const series = family.series as Map<string, Series<number>>;
    const key = seriesKey(labels);
    const current = series.get(key);
    if (current) current.value += value;
    else series.set(key, { labels, value });
  }

  /** Sets a counter to a total kept elsewhere (it must only grow). */
  setTotal(name: string, value: number, labels: Labels = {}): void {
    const family = this.#family(name, "counter");
    (family.series as Map<string, Series<number>>).set(seriesKey(labels), { labels, value });
  }

  /** Sets a gauge. */
  set(name: string, value: number, labels: Labels = {}): void {
    const family = this.#family(name, "gauge");
    (family.series as Map<string, Series<number>>).set(seriesKey(labels), { labels, value });
  }

  /** Records one observation in a histogram. */
  observe(name: string, value: number, labels: Labels = {}): void {
    const family = this.#family(name, "histogram");
    if (family.kind !== "histogram") return;
    const key = seriesKey(labels);
    let series = family.series.get(key);
    if (!series) {
      series = { labels, value: { buckets: family.bounds.map(() => 0), sum: 0, count: 0 } };
      family.series.set(key, series);
    }
    family.bounds.forEach((bound, i) => {
      if (value <= bound) series.value.buckets[i]++;
    });
    series.value.sum += value;
    series.value.count++;
  }

  /** A counter's or gauge's value for one label set (0 when never recorded). */
  value(name: string, labels: Labels = {}): number {
    const series = this.#families.get(name)?.series.get(seriesKey(labels));
    return typeof series?.value === "number" ? series.value : 0;
  }

  #family(name: string, kind: Family["kind"]): Family {
    const family = this.#families.get(name);
    if (!family || family.kind !== kind) throw new Error(`no ${kind} named ${name}`);
    return family;
  }

  /** The registry as Prometheus text: `.` becomes `_`, counters end in `_total`. */
  renderPrometheus(): string {
    const lines: string[] = [];
    for (const [dotted, family] of this.#families) {
      const base = dotted.replaceAll(".", "_");
      const name = family.kind === "counter" ? `${base}_total` : base;
      lines.push(`# HELP ${name} ${family.help}`, `# TYPE ${name} ${family.kind}`);
      for (const series of family.series.values()) {
        if (family.kind === "histogram") {
          lines.push(...histogramLines(base, family.bounds, series as Series<HistogramValue>));
        } else {
          lines.push(`${name}${labelText(series.labels)} ${series.value}`);
        }
      }
    }
    return `${lines.join("\n")}\n`;
  }
}

function histogramLines(name: string, bounds: number[], series: Series<HistogramValue>): string[] {
  const { buckets, sum, count } = series.value;
  return [
    ...bounds.map((bound, i) =>
      `${name}_bucket${labelText({ ...series.labels, le: String(bound) })} ${buckets[i]}`
    ),
    `${name}_bucket${labelText({ ...series.labels, le: "+Inf" })} ${count}`,
    `${name}_sum${labelText(series.labels)} ${sum}`,
    `${name}_count${labelText(series.labels)} ${count}`,
  ];
}

function labelText(labels: Labels): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return "";
  const escape = (v: string) =>
    v.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
  return `{${entries.map(([k, v]) => `${k}="${escape(v)}"`).join(",")}}`;
}
