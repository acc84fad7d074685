import type { Attributes, Context, Link, SpanKind } from '@opentelemetry/api';
import type { Sampler, SamplingResult } from '@opentelemetry/sdk-trace-base';
import { setTracingApi } from './spans.js';
import { VERSION } from '../version.js';

/** The standard OTEL_* settings Hookline honours (validated in shared/config.ts). */
export interface TracingSettings {
  OTEL_SDK_DISABLED?: boolean;
  OTEL_TRACES_EXPORTER?: 'otlp' | 'none';
  OTEL_EXPORTER_OTLP_ENDPOINT?: string;
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?: string;
  OTEL_EXPORTER_OTLP_PROTOCOL?: 'http/protobuf' | 'http/json';
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL?: 'http/protobuf' | 'http/json';
  OTEL_TRACES_SAMPLER?: TracesSampler;
  OTEL_TRACES_SAMPLER_ARG?: number;
  OTEL_SERVICE_NAME?: string;
}

export const TRACES_SAMPLERS = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
] as const;
export type TracesSampler = (typeof TRACES_SAMPLERS)[number];

/**
 * The sampler when OTEL_TRACES_SAMPLER is unset: parent-based, so a trace the publisher sampled (its
 * `traceparent` flag) is kept whole across every hop, and a ratio of the traces Hookline starts itself.
 */
export const DEFAULT_SAMPLER: TracesSampler = 'parentbased_traceidratio';
/** The ratio when OTEL_TRACES_SAMPLER_ARG is unset. @default 0.1 */
export const DEFAULT_SAMPLE_RATIO = 0.1;

/** Where traces go, or undefined when the configuration asks for none. */
export function tracesEndpoint(s: TracingSettings): string | undefined {
  if (s.OTEL_SDK_DISABLED || s.OTEL_TRACES_EXPORTER === 'none') return undefined;
  if (s.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) return s.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  if (s.OTEL_EXPORTER_OTLP_ENDPOINT) return `${s.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, '')}/v1/traces`;
  // The exporter named without an endpoint: the OTLP/HTTP default, a collector beside the process.
  if (s.OTEL_TRACES_EXPORTER === 'otlp') return 'http://localhost:4318/v1/traces';
  return undefined;
}

/** A running tracer provider; `shutdown` exports what is buffered. */
export interface Tracing {
  enabled: boolean;
  shutdown(): Promise<void>;
}

const OFF: Tracing = { enabled: false, shutdown: async () => {} };
let running: Tracing | undefined;

/**
 * Starts tracing when the OTEL_* settings ask for it: only then are the OpenTelemetry API and SDK imported.
 * Spans go over OTLP/HTTP (protobuf, or JSON with `http/json`) through a batching processor; the exporter
 * also reads OTEL_EXPORTER_OTLP_HEADERS, _TIMEOUT and OTEL_BSP_* from the environment itself. One
 * provider per process: a second call returns the first.
 * @param serviceName `service.name` unless OTEL_SERVICE_NAME sets it
 */
export async function startTracing(settings: TracingSettings, serviceName: string): Promise<Tracing> {
  const url = tracesEndpoint(settings);
  if (!url) return OFF;
  if (running) return running;
  const [api, node, base, resources, core] = await Promise.all([
    import('@opentelemetry/api'),
    import('@opentelemetry/sdk-trace-node'),
    import('@opentelemetry/sdk-trace-base'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/core'),
  ]);
  const protocol = settings.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? settings.OTEL_EXPORTER_OTLP_PROTOCOL ?? 'http/protobuf';
  const { OTLPTraceExporter } =
    protocol === 'http/json' ? await import('@opentelemetry/exporter-trace-otlp-http') : await import('@opentelemetry/exporter-trace-otlp-proto');
  const ratio = settings.OTEL_TRACES_SAMPLER_ARG ?? DEFAULT_SAMPLE_RATIO;
  const samplers: Record<TracesSampler, () => Sampler> = {
    always_on: () => new base.AlwaysOnSampler(),
    always_off: () => new base.AlwaysOffSampler(),
    traceidratio: () => new base.TraceIdRatioBasedSampler(ratio),
    parentbased_always_on: () => new base.ParentBasedSampler({ root: new base.AlwaysOnSampler() }),
    parentbased_always_off: () => new base.ParentBasedSampler({ root: new base.AlwaysOffSampler() }),
    parentbased_traceidratio: () => new base.ParentBasedSampler({ root: new base.TraceIdRatioBasedSampler(ratio) }),
  };
  /**
   * A span with no parent that links to a sampled trace is sampled too: a retry's new trace (linked to its
   * publish) is kept exactly when the publish's trace was, whatever the ratio.
   */
  const followLinks = (inner: Sampler): Sampler => ({
    shouldSample(ctx: Context, traceId: string, name: string, kind: SpanKind, attrs: Attributes, links: Link[]): SamplingResult {
      if (!api.trace.getSpanContext(ctx) && links.some((l) => (l.context.traceFlags & api.TraceFlags.SAMPLED) !== 0)) {
        return { decision: base.SamplingDecision.RECORD_AND_SAMPLED };
      }
      return inner.shouldSample(ctx, traceId, name, kind, attrs, links);
    },
    toString: () => `FollowLinks{${inner.toString()}}`,
  });
  const sampler = settings.OTEL_TRACES_SAMPLER ?? DEFAULT_SAMPLER;
  const provider = new node.NodeTracerProvider({
    resource: resources.defaultResource().merge(
      resources.resourceFromAttributes({
        'service.name': settings.OTEL_SERVICE_NAME ?? serviceName,
        'service.version': VERSION,
      }),
    ),
    sampler: sampler.startsWith('parentbased_') ? followLinks(samplers[sampler]()) : samplers[sampler](),
    spanProcessors: [new base.BatchSpanProcessor(new OTLPTraceExporter({ url }))],
  });
  provider.register({
    propagator: new core.CompositePropagator({
      propagators: [new core.W3CTraceContextPropagator(), new core.W3CBaggagePropagator()],
    }),
  });
  setTracingApi(api);
  const tracing: Tracing = {
    enabled: true,
    async shutdown() {
      if (running !== tracing) return;
      running = undefined;
      setTracingApi(undefined);
      await provider.shutdown();
      api.trace.disable();
      api.context.disable();
      api.propagation.disable();
    },
  };
  running = tracing;
  return tracing;
}
