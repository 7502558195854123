/**
 * The controller's Prometheus metrics, registered on a registry passed in so the receiver's metrics
 * (same process, `flex-streams start`) can share one `/metrics`.
 */
import { Counter, type Registry } from 'prom-client';

/** Counters the service updates. */
export interface ServiceMetrics {
  /** `route` (the route pattern), `method`, `status`. */
  readonly httpRequests: Counter<'route' | 'method' | 'status'>;
  /** `use_case` (`reservation-accepted`, `pause`…) and `outcome` (`applied`, `duplicate`…). */
  readonly useCaseOutcomes: Counter<'use_case' | 'outcome'>;
  /** Webhooks and plugin requests refused before any use case ran: `endpoint`, `code`. */
  readonly rejections: Counter<'endpoint' | 'code'>;
  /** Reconciler passes' calls, by `result` (`visited`, `changed`, `failed`). */
  readonly reconciledCalls: Counter<'result'>;
}

function counter<T extends string>(
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly T[],
): Counter<T> {
  // A second service on the same registry (a restart in one process) reuses the counters.
  const existing = registry.getSingleMetric(name);
  if (existing instanceof Counter) return existing;
  return new Counter<T>({ name, help, labelNames, registers: [registry] });
}

/** Creates (or finds) the service's counters on `registry`. */
export function createServiceMetrics(registry: Registry): ServiceMetrics {
  return {
    httpRequests: counter(
      registry,
      'flex_streams_controller_http_requests_total',
      'HTTP requests answered by the controller service',
      ['route', 'method', 'status'],
    ),
    useCaseOutcomes: counter(
      registry,
      'flex_streams_controller_use_case_outcomes_total',
      'Controller use cases run, by outcome (applied, duplicate, ignored, failed, error)',
      ['use_case', 'outcome'],
    ),
    rejections: counter(
      registry,
      'flex_streams_controller_rejections_total',
      'Requests refused before any use case ran (bad signature, bad token, malformed body…)',
      ['endpoint', 'code'],
    ),
    reconciledCalls: counter(
      registry,
      'flex_streams_controller_reconciled_calls_total',
      'Live calls the reconciler visited, changed (segments ended, waiting streams started) or failed on',
      ['result'],
    ),
  };
}
