/**
 * Latency samples in microseconds. Every sample is kept (a few million doubles at most) and
 * percentiles are read from the sorted array: exact, no bucketing error.
 */
export class Samples {
  private data = new Float64Array(1024);
  private n = 0;

  add(us: number): void {
    if (this.n === this.data.length) {
      const bigger = new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.n++] = us;
  }

  get count(): number {
    return this.n;
  }

  /** p in [0, 100]; NaN without samples. */
  percentile(p: number): number {
    if (this.n === 0) return Number.NaN;
    const sorted = this.data.subarray(0, this.n).sort();
    const rank = Math.min(this.n - 1, Math.max(0, Math.ceil((p / 100) * this.n) - 1));
    return sorted[rank]!;
  }

  summary(): LatencySummary {
    if (this.n === 0) return { count: 0, p50_us: null, p90_us: null, p99_us: null, max_us: null };
    const round = (v: number) => Math.round(v);
    return {
      count: this.n,
      p50_us: round(this.percentile(50)),
      p90_us: round(this.percentile(90)),
      p99_us: round(this.percentile(99)),
      max_us: round(this.percentile(100)),
    };
  }
}

export interface LatencySummary {
  readonly count: number;
  readonly p50_us: number | null;
  readonly p90_us: number | null;
  readonly p99_us: number | null;
  readonly max_us: number | null;
}

/** A copy of `list` in ascending order. */
export const ascending = (list: readonly number[]): number[] => [...list].sort((a, b) => a - b);

/**
 * The element at rank ⌊p/100 · n⌋ of an ascending list (the last one for p = 100), undefined when
 * the list is empty: the scripts that keep plain arrays read their percentiles this way.
 */
export function percentileOf(sorted: readonly number[], p: number): number | undefined {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Microseconds since an arbitrary origin (monotonic). */
export function nowUs(): number {
  return performance.now() * 1000;
}

export function ms(us: number | null | undefined): string {
  return us === null || us === undefined || Number.isNaN(us) ? 'n/a' : `${(us / 1000).toFixed(2)} ms`;
}

export const sleep = (millis: number) => new Promise<void>((resolve) => setTimeout(resolve, millis));
