import { describe, expect, it } from '@jest/globals';
import { headers as natsHeaders } from 'nats';
import { ConfigError, loadConfig } from '../../shared/config.js';
import { extractNats, injectHttp, inSpan, tracingEnabled } from '../../shared/tracing/spans.js';
import { startTracing, tracesEndpoint } from '../../shared/tracing/start-tracing.js';

describe('tracing configuration', () => {
  it('when no OTEL_* variable is set, then there is no traces endpoint and startTracing loads nothing', async () => {
    const cfg = loadConfig({});
    expect(tracesEndpoint(cfg)).toBeUndefined();
    const tracing = await startTracing(cfg, 'hookline');
    expect(tracing.enabled).toBe(false);
    expect(tracingEnabled()).toBe(false);
  });

  it('when tracing is off, then the span helpers run the wrapped call and touch no header', async () => {
    const h = natsHeaders();
    expect(extractNats(h)).toBeUndefined();
    const headers: Record<string, string> = {};
    injectHttp(headers);
    expect(headers).toEqual({});
    await expect(inSpan('api', 'x', {}, async (span) => (span === undefined ? 'plain' : 'traced'))).resolves.toBe('plain');
  });

  it('when an endpoint is set, then /v1/traces is appended to the base URL and a traces URL is used as is', () => {
    expect(tracesEndpoint(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }))).toBe('http://collector:4318/v1/traces');
    expect(
      tracesEndpoint(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://b/otlp/traces' })),
    ).toBe('https://b/otlp/traces');
    expect(tracesEndpoint(loadConfig({ OTEL_TRACES_EXPORTER: 'otlp' }))).toBe('http://localhost:4318/v1/traces');
  });

  it('when OTEL_SDK_DISABLED or OTEL_TRACES_EXPORTER=none is set, then tracing stays off despite an endpoint', () => {
    expect(tracesEndpoint(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318', OTEL_SDK_DISABLED: 'true' }))).toBeUndefined();
    expect(tracesEndpoint(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318', OTEL_TRACES_EXPORTER: 'none' }))).toBeUndefined();
  });

  it('when an OTEL_* value is invalid, then start-up fails naming the variable', () => {
    for (const [name, value] of [
      ['OTEL_EXPORTER_OTLP_ENDPOINT', 'collector:4318'],
      ['OTEL_TRACES_SAMPLER', 'sometimes'],
      ['OTEL_TRACES_SAMPLER_ARG', '2'],
      ['OTEL_EXPORTER_OTLP_PROTOCOL', 'grpc'],
      ['OTEL_TRACES_EXPORTER', 'jaeger'],
    ] as const) {
      expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
      expect(() => loadConfig({ [name]: value })).toThrow(name);
    }
  });
});
