export type Variant = 'threaded' | 'single-threaded';

export interface Percentiles {
  count: number; min: number; p50: number; p90: number; p99: number; p999: number; max: number; mean: number;
}
export type Bucket = [lower: number, upper: number, count: number];
export type AddResult = { ok: true } | { ok: false; error: string };

export interface Histogram {
  /** false (and counted) for anything but a number in [0, 2^53]. */
  record(ns: number): boolean;
  count(): number;
  valueAtQuantile(q: number): number;
  percentiles(): Percentiles;
  buckets(): Bucket[];
  merge(other: Histogram): void;
  reset(): void;
  delete(): void;
}
export interface ParkSampler {
  start(periodNs: number): boolean;
  stop(): void;
  running(): boolean;
  percentiles(): Percentiles;
  buckets(): Bucket[];
  delete(): void;
}
export interface MetricsSnapshot {
  addCounter(name: string, help: string, labels: Record<string, string> | undefined, value: number): AddResult;
  addGauge(name: string, help: string, labels: Record<string, string> | undefined, value: number): AddResult;
  addHistogram(name: string, help: string, labels: Record<string, string> | undefined, h: Histogram): AddResult;
  toJson(): string;
  toPrometheus(): string;
  delete(): void;
}
export interface NodeStats {
  pressure: number; level: 'Empty' | 'Low' | 'Normal' | 'High' | 'Full';
  active: number; desired: number; queued: number; super: boolean;
}
export interface SystemStats {
  nodes: NodeStats[]; submitted: number; completed: number; rejected: number; panicked: number; maxedOut: number;
  queueWait: Percentiles; runTime: Percentiles;
}
export interface SystemConfig {
  nodes?: number; superNodes?: number;
  queueCapacity?: [regular: number, superNode: number];
  threads?: [regularMin: number, regularMax: number, superMin: number, superMax: number];
  /** Each worker thread times 1 task in this many for the wait/run percentiles (default 8; 1: every task). */
  timingSampleEvery?: number;
}
export type Workload = 'spin' | 'hash' | 'primes';
export declare class OmegaTaskError extends Error {}
export declare class OmegaNodeError extends Error { kind: 'SystemMaxedOut' | 'NodeShuttingDown' | 'NoNodesAvailable'; }
export declare class OmegaSystem {
  /** Rejects with TypeError for bad arguments, OmegaNodeError for backpressure, OmegaTaskError for a failed task. */
  submit(workload: Workload, arg: number, options?: { priority?: 'low' | 'normal' | 'high'; cost?: number }): Promise<number>;
  stats(): SystemStats;
  metricsPrometheus(): string;
  readonly pending: number;
  shutdown(): Promise<void>;
}
export interface OmegaModule {
  createSystem(config?: SystemConfig): OmegaSystem;
  variant: Variant;
  nowNs(): number;
  clockInfo(): { source: string; reason: string; resolutionNs: number };
  buildInfo(): { variant: Variant; simd: string; canPark: boolean; hardwareConcurrency: number; threadBudget: number };
  runtimeMetricsJson(): string;
  runtimeMetricsPrometheus(): string;
  Histogram: { new (): Histogram };
  ParkSampler: { new (): ParkSampler };
  MetricsSnapshot: { new (): MetricsSnapshot };
}
export function threadsAvailable(): boolean;
export function loadOmega(options?: { variant?: Variant; moduleArgs?: object }): Promise<OmegaModule>;
export default loadOmega;
