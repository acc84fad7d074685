import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
// The OTLP protobuf types as the OpenTelemetry exporters themselves encode them (generated from
// opentelemetry-proto); the package exposes them only under build/.
import otlpRoot from '@opentelemetry/otlp-transformer/build/src/generated/root.js';

/** One span as an OTLP/HTTP collector received it. */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  /** 1 internal, 2 server, 3 client, 4 producer, 5 consumer (OTLP's SpanKind) */
  kind: number;
  /** instrumentation scope, e.g. `hookline.router` */
  scope: string;
  service: string;
  attributes: Record<string, unknown>;
  links: { traceId: string; spanId: string }[];
  /** OTLP status code: 0 unset, 1 ok, 2 error */
  status: number;
}

/** A collector on 127.0.0.1 (port 0) that accepts OTLP/HTTP trace exports and keeps every span. */
export interface OtlpReceiver {
  /** For OTEL_EXPORTER_OTLP_ENDPOINT (the exporter appends /v1/traces). */
  url: string;
  spans: ReceivedSpan[];
  /** Content types of the export requests received. */
  contentTypes: string[];
  close(): Promise<void>;
}

interface AnyValue {
  stringValue?: string | null;
  intValue?: number | string | { toNumber(): number } | null;
  boolValue?: boolean | null;
  doubleValue?: number | null;
}
interface KeyValue {
  key: string;
  value?: AnyValue;
}

function valueOf(v: AnyValue | undefined): unknown {
  // Decoded protobuf messages hold null for the members of the oneof that are not set.
  if (!v) return undefined;
  if (v.stringValue != null) return v.stringValue;
  if (v.intValue != null) return typeof v.intValue === 'object' ? v.intValue.toNumber() : Number(v.intValue);
  if (v.boolValue != null) return v.boolValue;
  return v.doubleValue ?? undefined;
}

function attributes(kvs: KeyValue[] | undefined): Record<string, unknown> {
  return Object.fromEntries((kvs ?? []).map((kv) => [kv.key, valueOf(kv.value)]));
}

/** Ids arrive as bytes (protobuf) or as hex strings (OTLP/JSON). */
function hex(id: Uint8Array | string | undefined): string {
  if (!id) return '';
  return typeof id === 'string' ? id : Buffer.from(id).toString('hex');
}

interface ExportRequest {
  resourceSpans?: {
    resource?: { attributes?: KeyValue[] };
    scopeSpans?: {
      scope?: { name?: string };
      spans?: {
        traceId: Uint8Array | string;
        spanId: Uint8Array | string;
        parentSpanId?: Uint8Array | string;
        name: string;
        kind?: number;
        attributes?: KeyValue[];
        links?: { traceId: Uint8Array | string; spanId: Uint8Array | string }[];
        status?: { code?: number };
      }[];
    }[];
  }[];
}

type Decoder = { decode(buf: Uint8Array): ExportRequest };
const ExportTraceServiceRequest = (
  otlpRoot as unknown as { opentelemetry: { proto: { collector: { trace: { v1: { ExportTraceServiceRequest: Decoder } } } } } }
).opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;

function decode(contentType: string, body: Buffer): ExportRequest {
  return contentType.includes('json') ? (JSON.parse(body.toString('utf8')) as ExportRequest) : ExportTraceServiceRequest.decode(body);
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const contentTypes: string[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces') {
        res.writeHead(404).end();
        return;
      }
      const type = String(req.headers['content-type'] ?? '');
      contentTypes.push(type);
      let request: ExportRequest;
      try {
        request = decode(type, Buffer.concat(chunks));
      } catch {
        res.writeHead(400).end();
        return;
      }
      for (const rs of request.resourceSpans ?? []) {
        const service = String(attributes(rs.resource?.attributes)['service.name'] ?? '');
        for (const ss of rs.scopeSpans ?? []) {
          for (const s of ss.spans ?? []) {
            spans.push({
              traceId: hex(s.traceId),
              spanId: hex(s.spanId),
              parentSpanId: hex(s.parentSpanId),
              name: s.name,
              kind: s.kind ?? 0,
              scope: ss.scope?.name ?? '',
              service,
              attributes: attributes(s.attributes),
              links: (s.links ?? []).map((l) => ({ traceId: hex(l.traceId), spanId: hex(l.spanId) })),
              status: s.status?.code ?? 0,
            });
          }
        }
      }
      // An empty ExportTraceServiceResponse: full success, in the encoding the exporter sent.
      if (type.includes('json')) res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      else res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    contentTypes,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
