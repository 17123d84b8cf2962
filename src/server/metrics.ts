/**
 * A tiny Prometheus text-format registry (exposition format 0.0.4): counters, gauges read at
 * scrape time, and cumulative histograms. Enough for `/metrics`; no dependency.
 */

type Labels = Record<string, string>;

function formatLabels(labels: Labels | undefined, extra?: [string, string]): string {
  const pairs = Object.entries(labels ?? {});
  if (extra) pairs.push(extra);
  if (pairs.length === 0) return '';
  return `{${pairs.map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')}"`).join(',')}}`;
}

function formatNumber(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return '+Inf';
  if (n === -Infinity) return '-Inf';
  return String(n);
}

interface Metric {
  render(): string;
}

export class Counter implements Metric {
  private readonly values = new Map<string, { labels?: Labels; value: number }>();

  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  inc(by = 1, labels?: Labels): void {
    const key = formatLabels(labels);
    const slot = this.values.get(key);
    if (slot) slot.value += by;
    else this.values.set(key, { labels, value: by });
  }

  get(labels?: Labels): number {
    return this.values.get(formatLabels(labels))?.value ?? 0;
  }

  render(): string {
    let out = `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} counter\n`;
    if (this.values.size === 0) out += `${this.name} 0\n`;
    for (const { labels, value } of this.values.values()) out += `${this.name}${formatLabels(labels)} ${formatNumber(value)}\n`;
    return out;
  }
}

/** A gauge whose samples are read when scraped. */
export class Gauge implements Metric {
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly read: () => Array<{ labels?: Labels; value: number }> | number,
  ) {}

  render(): string {
    const samples = this.read();
    const list = typeof samples === 'number' ? [{ value: samples }] : samples;
    if (list.length === 0) return '';
    let out = `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} gauge\n`;
    for (const s of list) out += `${this.name}${formatLabels((s as { labels?: Labels }).labels)} ${formatNumber(s.value)}\n`;
    return out;
  }
}

export const SECONDS_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class Histogram implements Metric {
  private readonly counts: number[];
  private sum = 0;
  private count = 0;

  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: number[] = SECONDS_BUCKETS,
  ) {
    this.counts = new Array(buckets.length).fill(0);
  }

  observe(value: number): void {
    this.sum += value;
    this.count++;
    for (let i = 0; i < this.buckets.length; i++) {
      if (value <= this.buckets[i]) {
        this.counts[i]++;
        break;
      }
    }
  }

  /** Starts a timer; call the returned function to observe the elapsed seconds. */
  startTimer(): () => number {
    const start = performance.now();
    return () => {
      const seconds = (performance.now() - start) / 1000;
      this.observe(seconds);
      return seconds;
    };
  }

  get observations(): number {
    return this.count;
  }

  render(): string {
    let out = `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} histogram\n`;
    let cumulative = 0;
    for (let i = 0; i < this.buckets.length; i++) {
      cumulative += this.counts[i];
      out += `${this.name}_bucket${formatLabels(undefined, ['le', formatNumber(this.buckets[i])])} ${cumulative}\n`;
    }
    out += `${this.name}_bucket{le="+Inf"} ${this.count}\n`;
    out += `${this.name}_sum ${formatNumber(this.sum)}\n${this.name}_count ${this.count}\n`;
    return out;
  }
}

export class Registry {
  private readonly metrics: Metric[] = [];

  register<M extends Metric>(metric: M): M {
    this.metrics.push(metric);
    return metric;
  }

  render(): string {
    return this.metrics.map((m) => m.render()).join('');
  }
}

/** The server's metrics (spec/api.md, Operations). Gauges that read the log are added by createApp. */
export interface ServerMetrics {
  registry: Registry;
  appendSeconds: Histogram;
  recordsRejected: Counter;
  requests: Counter;
}

export function createServerMetrics(): ServerMetrics {
  const registry = new Registry();
  return {
    registry,
    appendSeconds: registry.register(new Histogram('pvl_append_seconds', 'Time to admit and durably sequence one POST /records request (validation included).')),
    recordsRejected: registry.register(new Counter('pvl_records_rejected_total', 'Records refused at admission (400 answers to POST /records).')),
    requests: registry.register(new Counter('pvl_http_requests_total', 'HTTP requests answered, by status class.')),
  };
}
