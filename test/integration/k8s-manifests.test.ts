/**
 * Offline checks of the Kubernetes manifests in k8s/: each overlay is rendered with `kubectl kustomize`,
 * every object of a kind that kubernetes-models knows is validated against its schema, and the rules that
 * matter for Hookline (probes, resources, pod security, graceful shutdown, placeholder-only Secrets, the
 * dispatcher's egress wall, JetStream durability) are asserted on the rendered content.
 *
 * Every rule is a function returning its violations; the "rules can fail" block feeds each one a broken copy
 * of a real object, so a rule that silently passes everything is caught too.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { loadAll } from 'js-yaml';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import type { INetworkPolicyPeer } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicyPeer';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { IContainer } from 'kubernetes-models/v1/Container';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import type { IProbe } from 'kubernetes-models/v1/Probe';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { loadConfig } from '../../shared/config.js';
import { names } from '../../shared/nats/subjects.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const KUBECTL = process.env.KUBECTL ?? 'kubectl';
const OVERLAYS = ['dev', 'production'] as const;
type Overlay = (typeof OVERLAYS)[number];
const ROLES = ['api', 'router', 'dispatcher'] as const;
const APP_PORT = 8080;
const MIN_GRACE_SECONDS = 30;
const PLACEHOLDER = 'change-me';
/** The dispatcher must never reach these on the ports it uses for webhooks. */
const FORBIDDEN_EGRESS = [
  '10.0.0.0/8',
  '172.16.0.0/12',
  '192.168.0.0/16',
  '169.254.0.0/16',
  '100.64.0.0/10',
  '127.0.0.0/8',
];
/** Ports on which the dispatcher may reach private addresses: NATS and Postgres. */
const DATASTORE_PORTS = [4222, 5432];
const WEBHOOK_PORTS = [80, 443];
/** nats-server 2.10.20–2.10.22 lose stream data on process crashes; fixed in 2.10.23. */
const NATS_BAD = { from: [2, 10, 20], to: [2, 10, 22] } as const;
const NATS_MIN = [2, 10, 23] as const;

// ---------------------------------------------------------------------------------------------------------
// Rendering and schema validation

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

interface ModelClass {
  apiVersion: string;
  kind: string;
  new (data?: never): { validate(): void };
}

const MODELS: ModelClass[] = [
  Namespace,
  ServiceAccount,
  ConfigMap,
  Secret,
  Service,
  PersistentVolumeClaim,
  Deployment,
  StatefulSet,
  Job,
  PodDisruptionBudget,
  HorizontalPodAutoscaler,
  NetworkPolicy,
];
const MODEL_BY_TYPE = new Map(MODELS.map((m) => [`${m.apiVersion}/${m.kind}`, m]));
/** Custom resources kubernetes-models has no schema for; each has its own checks below. */
const CUSTOM_TYPES = new Set(['keda.sh/v1alpha1/ScaledObject']);

const typeOf = (o: K8sObject) => `${o.apiVersion}/${o.kind}`;

/** Throws (with the object named) when an object breaks its kubernetes-models schema. */
function validateSchema(o: K8sObject): void {
  const Model = MODEL_BY_TYPE.get(typeOf(o));
  if (!Model) throw new Error(`${typeOf(o)} ${o.metadata.name}: no schema known`);
  try {
    new Model(o as never).validate();
  } catch (err) {
    throw new Error(`${o.kind}/${o.metadata.name} fails its schema: ${(err as Error).message}`, { cause: err });
  }
}

const rendered = new Map<Overlay, K8sObject[]>();

function render(overlay: Overlay): K8sObject[] {
  const cached = rendered.get(overlay);
  if (cached) return cached;
  let yaml: string;
  try {
    yaml = execFileSync(KUBECTL, ['kustomize', path.join(ROOT, 'k8s', 'overlays', overlay)], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    const why =
      e.code === 'ENOENT' ? `${KUBECTL} not found (needs kubectl >= 1.27, kustomize v5; or set KUBECTL)` : e.stderr;
    throw new Error(`kubectl kustomize k8s/overlays/${overlay} failed: ${why ?? e.message}`, { cause: err });
  }
  const objects = loadAll(yaml).filter((o): o is K8sObject => o !== null && typeof o === 'object') as K8sObject[];
  rendered.set(overlay, objects);
  return objects;
}

const clone = <T>(v: T): T => structuredClone(v);

function find(objects: K8sObject[], kind: string, name: string): K8sObject {
  const hit = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!hit) throw new Error(`no ${kind}/${name} rendered`);
  return hit;
}

function ofKind(objects: K8sObject[], kind: string): K8sObject[] {
  return objects.filter((o) => o.kind === kind);
}

/** The hookline-config ConfigMap (its generated name carries a hash suffix). */
function appConfig(objects: K8sObject[]): Record<string, string> {
  const cms = ofKind(objects, 'ConfigMap').filter((o) => /^hookline-config(-[a-z0-9]+)?$/.test(o.metadata.name));
  if (cms.length !== 1) throw new Error(`expected one hookline-config ConfigMap, found ${cms.length}`);
  return new ConfigMap(cms[0] as never).data ?? {};
}

function podSpecOf(o: K8sObject): IPodSpec {
  const spec =
    o.kind === 'Deployment'
      ? new Deployment(o as never).spec?.template.spec
      : new StatefulSet(o as never).spec?.template.spec;
  if (!spec) throw new Error(`${o.kind}/${o.metadata.name} has no pod spec`);
  return spec;
}

const workloads = (objects: K8sObject[]) => objects.filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet');
const appDeploymentName = (role: string) => `hookline-${role}`;

// ---------------------------------------------------------------------------------------------------------
// Rules: each returns a list of violations (empty = compliant)

const allContainers = (spec: IPodSpec): IContainer[] => [...(spec.initContainers ?? []), ...spec.containers];

/** Pod and container securityContext: non-root, read-only root, no escalation, no capabilities, seccomp. */
function securityViolations(workload: string, spec: IPodSpec): string[] {
  const out: string[] = [];
  const pod = spec.securityContext;
  if (pod?.runAsNonRoot !== true) out.push(`${workload}: pod runAsNonRoot is not true`);
  if (!(typeof pod?.runAsUser === 'number' && pod.runAsUser > 0))
    out.push(`${workload}: pod runAsUser is not a non-root uid`);
  if (pod?.seccompProfile?.type !== 'RuntimeDefault') out.push(`${workload}: pod seccompProfile is not RuntimeDefault`);
  for (const c of allContainers(spec)) {
    const where = `${workload}/${c.name}`;
    const sc = c.securityContext;
    if (sc?.runAsNonRoot !== true) out.push(`${where}: runAsNonRoot is not true`);
    if (!(typeof sc?.runAsUser === 'number' && sc.runAsUser > 0)) out.push(`${where}: runAsUser is not a non-root uid`);
    if (sc?.readOnlyRootFilesystem !== true) out.push(`${where}: readOnlyRootFilesystem is not true`);
    if (sc?.allowPrivilegeEscalation !== false) out.push(`${where}: allowPrivilegeEscalation is not false`);
    if (!sc?.capabilities?.drop?.includes('ALL')) out.push(`${where}: capabilities do not drop ALL`);
    if ((sc?.capabilities?.add ?? []).length > 0) out.push(`${where}: adds capabilities`);
    if (sc?.privileged === true) out.push(`${where}: privileged`);
    if (sc?.seccompProfile?.type !== 'RuntimeDefault') out.push(`${where}: seccompProfile is not RuntimeDefault`);
  }
  return out;
}

const CPU = /^(\d+(?:\.\d+)?)(m?)$/;
const MEMORY = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/;
const MEMORY_FACTOR: Record<string, number> = {
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
};

/** A CPU or memory quantity in cores or bytes; NaN when it is not one. */
function quantity(resource: 'cpu' | 'memory', value: string | number | undefined): number {
  if (value === undefined) return Number.NaN;
  const s = String(value);
  if (resource === 'cpu') {
    const m = CPU.exec(s);
    return m ? Number(m[1]) / (m[2] === 'm' ? 1000 : 1) : Number.NaN;
  }
  const m = MEMORY.exec(s);
  return m ? Number(m[1]) * (MEMORY_FACTOR[m[2] ?? ''] ?? Number.NaN) : Number.NaN;
}

/** Every container (init ones too) requests and limits CPU and memory, and requests do not exceed limits. */
function resourceViolations(workload: string, spec: IPodSpec): string[] {
  const out: string[] = [];
  for (const c of allContainers(spec)) {
    for (const r of ['cpu', 'memory'] as const) {
      const req = quantity(r, c.resources?.requests?.[r]);
      const lim = quantity(r, c.resources?.limits?.[r]);
      if (!(req > 0)) out.push(`${workload}/${c.name}: no valid ${r} request`);
      if (!(lim > 0)) out.push(`${workload}/${c.name}: no valid ${r} limit`);
      if (req > lim) out.push(`${workload}/${c.name}: ${r} request exceeds its limit`);
    }
  }
  return out;
}

function probePort(c: IContainer, probe: IProbe): number | undefined {
  const port = probe.httpGet?.port;
  if (typeof port === 'number') return port;
  return c.ports?.find((p) => p.name === port)?.containerPort;
}

/** Every long-running container has a liveness and a readiness probe (init containers cannot have them). */
function probeViolations(workload: string, spec: IPodSpec): string[] {
  const out: string[] = [];
  for (const c of spec.containers) {
    if (!c.livenessProbe) out.push(`${workload}/${c.name}: no livenessProbe`);
    if (!c.readinessProbe) out.push(`${workload}/${c.name}: no readinessProbe`);
  }
  return out;
}

/** Hookline's own probes: liveness on /healthz and readiness on /readyz, both on the app port. */
function appProbeViolations(workload: string, spec: IPodSpec): string[] {
  const out: string[] = [];
  const c = spec.containers.find((x) => x.name === 'hookline');
  if (!c) return [`${workload}: no container named hookline`];
  const checks: Array<[string, IProbe | undefined, string]> = [
    ['livenessProbe', c.livenessProbe, '/healthz'],
    ['readinessProbe', c.readinessProbe, '/readyz'],
  ];
  for (const [kind, probe, pathWanted] of checks) {
    if (probe?.httpGet?.path !== pathWanted) out.push(`${workload}: ${kind} is not an HTTP GET of ${pathWanted}`);
    else if (probePort(c, probe) !== APP_PORT) out.push(`${workload}: ${kind} does not target port ${APP_PORT}`);
  }
  return out;
}

/** Values in a rendered Secret must all be placeholders, in stringData, so that a reviewer can see them. */
function secretViolations(o: K8sObject): string[] {
  const s = new Secret(o as never);
  const out: string[] = [];
  if (s.data && Object.keys(s.data).length > 0)
    out.push(`Secret/${o.metadata.name}: has base64 data (only placeholder stringData allowed)`);
  if ((o as { binaryData?: unknown }).binaryData) out.push(`Secret/${o.metadata.name}: has binaryData`);
  for (const [key, value] of Object.entries(s.stringData ?? {})) {
    if (!value.includes(PLACEHOLDER))
      out.push(`Secret/${o.metadata.name}: ${key} is not a "${PLACEHOLDER}" placeholder`);
  }
  return out;
}

/** IPv4 CIDR as an inclusive [first, last] address range. */
function cidrRange(cidr: string): [number, number] {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(cidr);
  if (!m) throw new Error(`not an IPv4 CIDR: ${cidr}`);
  const octets = m.slice(1, 5).map(Number);
  const bits = Number(m[5]);
  if (octets.some((x) => x > 255) || bits > 32) throw new Error(`not an IPv4 CIDR: ${cidr}`);
  const addr = octets.reduce((acc, x) => acc * 256 + x, 0);
  const size = 2 ** (32 - bits);
  const first = Math.floor(addr / size) * size;
  return [first, first + size - 1];
}

const contains = (outer: string, inner: string) => {
  const [a, b] = cidrRange(outer);
  const [c, d] = cidrRange(inner);
  return a <= c && d <= b;
};
const overlaps = (x: string, y: string) => {
  const [a, b] = cidrRange(x);
  const [c, d] = cidrRange(y);
  return a <= d && c <= b;
};

/** The forbidden ranges an ipBlock still lets through (overlapping its cidr and not wholly in its except list). */
function leakedRanges(peer: INetworkPolicyPeer): string[] {
  const block = peer.ipBlock;
  if (!block) return [];
  return FORBIDDEN_EGRESS.filter((r) => overlaps(block.cidr, r) && !(block.except ?? []).some((e) => contains(e, r)));
}

/**
 * The dispatcher's egress: Egress is enforced; webhooks (80/443) go only to ipBlocks that exclude every private,
 * link-local, CGNAT and loopback range; private addresses are reachable only on the NATS and Postgres ports;
 * nothing is open on every port; and an internet rule for 80 and 443 exists at all.
 */
function dispatcherEgressViolations(o: K8sObject): string[] {
  const np = new NetworkPolicy(o as never);
  const out: string[] = [];
  if (!np.spec?.policyTypes?.includes('Egress')) out.push('policyTypes lacks Egress: egress rules would be ignored');
  const rules = np.spec?.egress ?? [];
  let internet80 = false;
  let internet443 = false;
  rules.forEach((rule, i) => {
    const ports = (rule.ports ?? []).map((p) => p.port);
    if (ports.length === 0) out.push(`egress[${i}] allows every port`);
    if (ports.some((p) => typeof p !== 'number')) out.push(`egress[${i}] uses a named port`);
    const peers = rule.to ?? [];
    if (peers.length === 0) out.push(`egress[${i}] allows every destination`);
    const webhook = ports.some((p) => WEBHOOK_PORTS.includes(Number(p)));
    for (const peer of peers) {
      if (peer.ipBlock?.cidr.includes(':')) {
        out.push(`egress[${i}] has an IPv6 block (${peer.ipBlock.cidr}) these checks do not cover`);
        continue;
      }
      if (webhook && !peer.ipBlock) out.push(`egress[${i}] lets webhooks reach in-cluster pods`);
      const leaks = leakedRanges(peer);
      if (leaks.length > 0 && !ports.every((p) => DATASTORE_PORTS.includes(Number(p)))) {
        out.push(`egress[${i}] reaches ${leaks.join(', ')} on ports other than ${DATASTORE_PORTS.join('/')}`);
      }
      if (peer.ipBlock && cidrRange(peer.ipBlock.cidr)[1] - cidrRange(peer.ipBlock.cidr)[0] === 2 ** 32 - 1) {
        if (!ports.every((p) => WEBHOOK_PORTS.includes(Number(p))))
          out.push(`egress[${i}] opens 0.0.0.0/0 beyond 80/443`);
        const except = peer.ipBlock.except ?? [];
        const missing = FORBIDDEN_EGRESS.filter((r) => !except.includes(r));
        if (missing.length > 0) out.push(`egress[${i}] 0.0.0.0/0 does not except ${missing.join(', ')}`);
        else {
          internet80 ||= ports.includes(80);
          internet443 ||= ports.includes(443);
        }
      }
    }
  });
  if (!internet80 || !internet443) out.push('no rule lets webhooks out to the internet on both 80 and 443');
  return out;
}

/** Removes `#` and `//` comments from a nats-server config (`//` only where it starts a word: not in nats://). */
const stripComments = (conf: string) =>
  conf
    .split('\n')
    .map((line) => line.replace(/#.*$/, '').replace(/(^|\s)\/\/.*$/, '$1'))
    .join('\n');

/** The body of the top-level `jetstream { … }` block, or undefined. */
function jetstreamBlock(conf: string): string | undefined {
  const text = stripComments(conf);
  const start = /(^|\n)\s*jetstream\s*[:=]?\s*\{/.exec(text);
  if (!start) return undefined;
  let depth = 1;
  const open = start.index + start[0].length;
  for (let i = open; i < text.length; i++) {
    if (text[i] === '{') depth++;
    else if (text[i] === '}' && --depth === 0) return text.slice(open, i);
  }
  return undefined;
}

/** True when the jetstream block's last `sync_interval` (alias `sync`) setting is `always`. */
function syncsAlways(conf: string): boolean {
  const block = jetstreamBlock(conf);
  if (block === undefined) return false;
  // Only settings directly in the block, not in a nested one.
  let flat = '';
  let depth = 0;
  for (const ch of block) {
    if (ch === '{') depth++;
    if (depth === 0) flat += ch;
    if (ch === '}') depth--;
  }
  const settings = [...flat.matchAll(/^\s*(?:sync_interval|sync)\s*(?:[:=]\s*|\s+)["']?([^"'\s,;]+)["']?/gm)];
  return settings.length > 0 && settings[settings.length - 1][1] === 'always';
}

const compareVersions = (a: readonly number[], b: readonly number[]) => {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
};

/** A NATS image must name an exact release, at or past 2.10.23 and outside 2.10.20–2.10.22. */
function natsImageViolations(image: string): string[] {
  const m = /^(?:[\w.-]+(?::\d+)?\/)*nats:(\d+)\.(\d+)\.(\d+)(?:-[a-z0-9.]+)?(?:@sha256:[a-f0-9]{64})?$/.exec(image);
  if (!m) return [`${image}: not a nats image pinned to an exact x.y.z release`];
  const v = m.slice(1, 4).map(Number);
  const out: string[] = [];
  if (compareVersions(v, NATS_BAD.from) >= 0 && compareVersions(v, NATS_BAD.to) <= 0) {
    out.push(`${image}: 2.10.20–2.10.22 lose stream data on process crashes`);
  }
  if (compareVersions(v, NATS_MIN) < 0) out.push(`${image}: older than ${NATS_MIN.join('.')}`);
  return out;
}

/** Images other than NATS must carry an explicit tag or digest, never `latest`. */
function imagePinViolations(image: string): string[] {
  if (image.includes('@sha256:')) return [];
  const tag = /:([^/:]+)$/.exec(image)?.[1];
  if (!tag) return [`${image}: no tag`];
  return tag === 'latest' ? [`${image}: latest is not a version`] : [];
}

// ---------------------------------------------------------------------------------------------------------
// The rendered overlays

describe.each(OVERLAYS)('k8s/overlays/%s', (overlay) => {
  it('when rendered with kubectl kustomize, then every object of a known kind passes its schema', () => {
    const objects = render(overlay);
    expect(objects.length).toBeGreaterThan(10);
    for (const o of objects) {
      if (CUSTOM_TYPES.has(typeOf(o))) continue;
      expect(MODEL_BY_TYPE.has(typeOf(o)) ? typeOf(o) : `${typeOf(o)} (no schema and no custom checks)`).toBe(
        typeOf(o),
      );
      expect(() => validateSchema(o)).not.toThrow();
    }
    const names = objects.map((o) => `${o.kind}/${o.metadata.name}`);
    expect(new Set(names).size).toBe(names.length);
  });

  it('when rendered, then the three roles run as Deployments of one image with the role set in HOOKLINE_ROLES', () => {
    const objects = render(overlay);
    const images = new Set<string>();
    for (const role of ROLES) {
      const spec = podSpecOf(find(objects, 'Deployment', appDeploymentName(role)));
      const app = spec.containers.find((c) => c.name === 'hookline');
      expect(app?.env?.find((e) => e.name === 'HOOKLINE_ROLES')?.value).toBe(role);
      expect(app?.command).toBeUndefined(); // the image's ENTRYPOINT (node dist/services/all/main.js) runs
      expect(app?.ports?.find((p) => p.name === 'http')?.containerPort).toBe(APP_PORT);
      images.add(app?.image ?? '');
    }
    expect(images.size).toBe(1);
    expect(imagePinViolations([...images][0])).toEqual([]);
  });

  it('when a pod starts, then its migrate initContainer runs dist/scripts/migrate.js with the same image and config', () => {
    const objects = render(overlay);
    for (const role of ROLES) {
      const spec = podSpecOf(find(objects, 'Deployment', appDeploymentName(role)));
      const app = spec.containers.find((c) => c.name === 'hookline');
      const migrate = spec.initContainers?.find((c) => c.name === 'migrate');
      expect(migrate?.command).toEqual(['node', 'dist/scripts/migrate.js']);
      expect(migrate?.image).toBe(app?.image);
      expect(migrate?.envFrom).toEqual(app?.envFrom);
    }
    expect(ofKind(objects, 'Job')).toEqual([]); // one mechanism, not two
  });

  it('then every Deployment and StatefulSet container has liveness and readiness probes', () => {
    const objects = render(overlay);
    expect(workloads(objects).length).toBeGreaterThanOrEqual(3);
    expect(workloads(objects).flatMap((w) => probeViolations(`${w.kind}/${w.metadata.name}`, podSpecOf(w)))).toEqual(
      [],
    );
  });

  it('then the app probes liveness on /healthz and readiness on /readyz, port 8080', () => {
    const objects = render(overlay);
    expect(
      ROLES.flatMap((role) =>
        appProbeViolations(role, podSpecOf(find(objects, 'Deployment', appDeploymentName(role)))),
      ),
    ).toEqual([]);
  });

  it('then every container, init ones included, requests and limits CPU and memory', () => {
    const objects = render(overlay);
    expect(workloads(objects).flatMap((w) => resourceViolations(`${w.kind}/${w.metadata.name}`, podSpecOf(w)))).toEqual(
      [],
    );
  });

  it('then every pod and container runs non-root, read-only, without privilege escalation or capabilities, under RuntimeDefault seccomp', () => {
    const objects = render(overlay);
    expect(workloads(objects).flatMap((w) => securityViolations(`${w.kind}/${w.metadata.name}`, podSpecOf(w)))).toEqual(
      [],
    );
    for (const role of ROLES) {
      const spec = podSpecOf(find(objects, 'Deployment', appDeploymentName(role)));
      expect(spec.automountServiceAccountToken).toBe(false);
      // A read-only root still needs a writable /tmp.
      const tmp = spec.volumes?.find(
        (v) => v.emptyDir && spec.containers[0].volumeMounts?.some((m) => m.name === v.name && m.mountPath === '/tmp'),
      );
      expect(tmp).toBeDefined();
    }
  });

  it('when a pod is told to stop, then the grace period covers the app drain (HOOKLINE_SHUTDOWN_GRACE_MS)', () => {
    const objects = render(overlay);
    const drainMs = Number(appConfig(objects).HOOKLINE_SHUTDOWN_GRACE_MS);
    expect(drainMs).toBeGreaterThan(0);
    for (const role of ROLES) {
      const grace = podSpecOf(find(objects, 'Deployment', appDeploymentName(role))).terminationGracePeriodSeconds ?? 30;
      expect(grace).toBeGreaterThanOrEqual(MIN_GRACE_SECONDS);
      expect(grace * 1000).toBeGreaterThan(drainMs);
    }
  });

  it('then app pods carry Prometheus scrape annotations and spread over zones and nodes', () => {
    const objects = render(overlay);
    for (const role of ROLES) {
      const d = new Deployment(find(objects, 'Deployment', appDeploymentName(role)) as never);
      const tpl = d.spec?.template;
      expect(tpl?.metadata?.annotations).toMatchObject({
        'prometheus.io/scrape': 'true',
        'prometheus.io/port': String(APP_PORT),
        'prometheus.io/path': '/metrics',
      });
      const keys = (tpl?.spec?.topologySpreadConstraints ?? []).map((t) => {
        expect(t.labelSelector?.matchLabels).toEqual({
          'app.kubernetes.io/name': 'hookline',
          'app.kubernetes.io/component': role,
        });
        return t.topologyKey;
      });
      expect(keys).toEqual(expect.arrayContaining(['topology.kubernetes.io/zone', 'kubernetes.io/hostname']));
      // The autoscaler owns the replica count; a fixed one would reset it on every apply.
      expect(d.spec?.replicas).toBeUndefined();
    }
  });

  it('then the api Service selects the api pods on their http port', () => {
    const objects = render(overlay);
    const svc = new Service(find(objects, 'Service', 'hookline-api') as never);
    const labels =
      new Deployment(find(objects, 'Deployment', 'hookline-api') as never).spec?.template.metadata?.labels ?? {};
    expect(Object.keys(svc.spec?.selector ?? {}).length).toBeGreaterThan(0);
    expect(labels).toMatchObject(svc.spec?.selector ?? {});
    expect(svc.spec?.ports?.[0]?.targetPort).toBe('http');
  });

  it('then each role has a PodDisruptionBudget that selects exactly its pods', () => {
    const objects = render(overlay);
    for (const role of ROLES) {
      const pdb = new PodDisruptionBudget(find(objects, 'PodDisruptionBudget', appDeploymentName(role)) as never);
      expect(pdb.spec?.selector?.matchLabels).toEqual({
        'app.kubernetes.io/name': 'hookline',
        'app.kubernetes.io/component': role,
      });
      expect(pdb.spec?.maxUnavailable ?? pdb.spec?.minAvailable).toBeDefined();
    }
  });

  it('then api and router scale on CPU, and the dispatcher only through KEDA on its consumer lag', () => {
    const objects = render(overlay);
    const hpas = ofKind(objects, 'HorizontalPodAutoscaler').map((o) => new HorizontalPodAutoscaler(o as never));
    expect(hpas.map((h) => h.spec?.scaleTargetRef.name).sort()).toEqual(['hookline-api', 'hookline-router']);
    for (const h of hpas) {
      expect(h.spec?.metrics?.some((m) => m.type === 'Resource' && m.resource?.name === 'cpu')).toBe(true);
      expect(h.spec?.minReplicas ?? 1).toBeLessThanOrEqual(h.spec?.maxReplicas ?? 0);
    }

    const scaled = ofKind(objects, 'ScaledObject');
    expect(scaled).toHaveLength(1);
    const so = scaled[0] as K8sObject & {
      spec: {
        scaleTargetRef: { name: string; kind?: string };
        minReplicaCount?: number;
        maxReplicaCount?: number;
        triggers: Array<{ type: string; metadata: Record<string, string> }>;
      };
    };
    expect(so.apiVersion).toBe('keda.sh/v1alpha1');
    expect(so.spec.scaleTargetRef.name).toBe('hookline-dispatcher');
    expect(so.spec.scaleTargetRef.kind ?? 'Deployment').toBe('Deployment');
    find(objects, 'Deployment', so.spec.scaleTargetRef.name);
    expect(so.spec.minReplicaCount).toBeGreaterThanOrEqual(1);
    expect(so.spec.minReplicaCount ?? 0).toBeLessThanOrEqual(so.spec.maxReplicaCount ?? 0);
    expect(so.spec.triggers).toHaveLength(1);
    const [trigger] = so.spec.triggers;
    const n = names(appConfig(objects).HOOKLINE_STREAM_PREFIX ?? 'hl');
    expect(trigger.type).toBe('nats-jetstream');
    expect(trigger.metadata.stream).toBe(n.deliveriesStream);
    expect(trigger.metadata.consumer).toBe(n.dispatcherConsumer);
    expect(trigger.metadata.account).toBe('$G');
    expect(trigger.metadata.natsServerMonitoringEndpoint).toMatch(/^[a-z0-9-]+\.[a-z0-9-]+\.svc\.cluster\.local:8222$/);
    expect(Number.isInteger(Number(trigger.metadata.lagThreshold)) && Number(trigger.metadata.lagThreshold) > 0).toBe(
      true,
    );
  });

  it('then no Secret holds anything but placeholder values', () => {
    const objects = render(overlay);
    expect(ofKind(objects, 'Secret').flatMap(secretViolations)).toEqual([]);
  });

  it('then the dispatcher can reach DNS, NATS, Postgres and the public internet on 80/443, never private ranges or 169.254.0.0/16', () => {
    const objects = render(overlay);
    const policy = find(objects, 'NetworkPolicy', 'hookline-dispatcher');
    expect(dispatcherEgressViolations(policy)).toEqual([]);
    const egress = new NetworkPolicy(policy as never).spec?.egress ?? [];
    const portsOf = (i: number) => (egress[i].ports ?? []).map((p) => p.port);
    const allowed = egress.flatMap((_, i) => portsOf(i));
    expect(allowed).toEqual(expect.arrayContaining([53, 4222, 5432, 80, 443]));
    const dns = egress.find((r) => r.ports?.some((p) => p.port === 53 && p.protocol === 'UDP'));
    expect(dns?.to?.[0]?.podSelector?.matchLabels).toEqual({ 'k8s-app': 'kube-dns' });
    expect(dns?.to?.[0]?.namespaceSelector?.matchLabels).toEqual({ 'kubernetes.io/metadata.name': 'kube-system' });
  });

  it('then the api takes traffic on 8080 from anywhere and the router and dispatcher only from their namespace', () => {
    const objects = render(overlay);
    const api = new NetworkPolicy(find(objects, 'NetworkPolicy', 'hookline-api') as never).spec;
    expect(api?.podSelector.matchLabels).toMatchObject({ 'app.kubernetes.io/component': 'api' });
    expect(api?.ingress).toEqual([{ ports: [{ protocol: 'TCP', port: APP_PORT }] }]);
    for (const role of ['router', 'dispatcher']) {
      const spec = new NetworkPolicy(find(objects, 'NetworkPolicy', appDeploymentName(role)) as never).spec;
      expect(spec?.podSelector.matchLabels).toMatchObject({ 'app.kubernetes.io/component': role });
      expect(spec?.policyTypes).toContain('Ingress');
      expect(spec?.ingress).toEqual([{ from: [{ podSelector: {} }], ports: [{ protocol: 'TCP', port: APP_PORT }] }]);
    }
  });

  it('then streams are replicated 3 times and webhooks may not target private addresses', () => {
    const config = appConfig(render(overlay));
    expect(config.HOOKLINE_STREAM_REPLICAS).toBe('3');
    expect(loadConfig({ ...config, HOOKLINE_JWT_SECRET: 'x'.repeat(32) }).HOOKLINE_ALLOW_PRIVATE_TARGETS).toBe('');
  });

  it('then every namespace it creates enforces the restricted Pod Security Standard', () => {
    const namespaces = ofKind(render(overlay), 'Namespace');
    expect(namespaces).toHaveLength(1);
    expect(namespaces[0].metadata.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
  });
});

describe('k8s/overlays/dev', () => {
  it('when rendered, then it runs a 3-node JetStream cluster whose config fsyncs every write (sync_interval: always)', () => {
    const objects = render('dev');
    const nats = new StatefulSet(find(objects, 'StatefulSet', 'nats') as never);
    expect(nats.spec?.replicas).toBe(3);
    const headless = new Service(find(objects, 'Service', nats.spec?.serviceName ?? '') as never);
    expect(headless.spec?.clusterIP).toBe('None');

    const spec = nats.spec?.template.spec;
    const container = spec?.containers.find((c) => c.name === 'nats');
    // The config file the server is started with is the one in the mounted ConfigMap, and it syncs always.
    const configArg = container?.command?.[container.command.indexOf('--config') + 1] ?? '';
    const mount = container?.volumeMounts?.find((m) => configArg.startsWith(`${m.mountPath}/`));
    const volume = spec?.volumes?.find((v) => v.name === mount?.name);
    const cm = new ConfigMap(find(objects, 'ConfigMap', volume?.configMap?.name ?? '') as never);
    const conf = cm.data?.[path.basename(configArg)] ?? '';
    expect(syncsAlways(conf)).toBe(true);
    expect(jetstreamBlock(conf)).toMatch(/store_dir\s*[:=]\s*\/data\//);
    expect(container?.volumeMounts?.find((m) => m.name === 'data')?.mountPath).toBe('/data');
    expect(nats.spec?.volumeClaimTemplates?.map((v) => v.metadata?.name)).toEqual(['data']);
    // Three routes, one per pod of the StatefulSet.
    const routes = [...stripComments(conf).matchAll(/nats:\/\/(nats-\d)\.nats-headless:6222/g)].map((m) => m[1]);
    expect(routes).toEqual(['nats-0', 'nats-1', 'nats-2']);
  });

  it('then the NATS image is pinned to a release past the 2.10.20–2.10.22 data-loss bug', () => {
    const objects = render('dev');
    const images = podSpecOf(find(objects, 'StatefulSet', 'nats')).containers.map((c) => c.image ?? '');
    expect(images).toHaveLength(1);
    expect(natsImageViolations(images[0])).toEqual([]);
  });

  it('then Postgres is a single StatefulSet on a PVC, and the app connects to in-cluster NATS and Postgres', () => {
    const objects = render('dev');
    const pg = new StatefulSet(find(objects, 'StatefulSet', 'postgres') as never);
    expect(pg.spec?.replicas).toBe(1);
    expect(pg.spec?.volumeClaimTemplates?.[0]?.spec?.resources?.requests?.storage).toBeDefined();
    const config = appConfig(objects);
    expect(config.NATS_URL).toBe('nats://nats:4222');
    expect(config.HOOKLINE_ENV).toBe('development');
    find(objects, 'Service', 'nats');
    find(objects, 'Service', 'postgres');
    const dbUrl = new Secret(find(objects, 'Secret', 'hookline-secrets') as never).stringData?.DATABASE_URL ?? '';
    const pgPassword = new Secret(find(objects, 'Secret', 'postgres') as never).stringData?.POSTGRES_PASSWORD;
    expect(new URL(dbUrl).hostname).toBe('postgres');
    expect(decodeURIComponent(new URL(dbUrl).password)).toBe(pgPassword);
  });

  it('then the app listens on every interface of its pod and admits no private webhook target, development or not', () => {
    for (const overlay of ['dev', 'production'] as const) {
      const config = loadConfig({ ...appConfig(render(overlay)), HOOKLINE_JWT_SECRET: 'x'.repeat(32) });
      expect(config.HOOKLINE_HOST).toBe('0.0.0.0');
      expect(config.HOOKLINE_ALLOW_PRIVATE_TARGETS).toBe('');
    }
  });

  it('then KEDA reads lag from the dev NATS headless service', () => {
    const so = find(render('dev'), 'ScaledObject', 'hookline-dispatcher') as K8sObject & {
      spec: { triggers: Array<{ metadata: Record<string, string> }> };
    };
    expect(so.spec.triggers[0].metadata.natsServerMonitoringEndpoint).toBe(
      'nats-headless.hookline-dev.svc.cluster.local:8222',
    );
  });
});

describe('k8s/overlays/production', () => {
  it('when rendered, then it ships no Secret (the real one is created out of band and must not be overwritten)', () => {
    const objects = render('production');
    expect(ofKind(objects, 'Secret')).toEqual([]);
    for (const role of ROLES) {
      const envFrom = podSpecOf(find(objects, 'Deployment', appDeploymentName(role))).containers[0].envFrom ?? [];
      expect(envFrom.map((e) => e.secretRef?.name).filter(Boolean)).toEqual(['hookline-secrets']);
    }
  });

  it('then it expects external NATS and Postgres: their URLs come from the Secret, not the ConfigMap', () => {
    const objects = render('production');
    const config = appConfig(objects);
    expect(config).not.toHaveProperty('NATS_URL');
    expect(config).not.toHaveProperty('DATABASE_URL');
    expect(config.HOOKLINE_ENV).toBe('production');
    expect(ofKind(objects, 'StatefulSet')).toEqual([]);
  });

  it('then it runs more replicas with more resources than dev', () => {
    const min = (objects: K8sObject[], name: string) =>
      new HorizontalPodAutoscaler(find(objects, 'HorizontalPodAutoscaler', name) as never).spec?.minReplicas ?? 1;
    const cpu = (objects: K8sObject[], name: string) =>
      quantity('cpu', podSpecOf(find(objects, 'Deployment', name)).containers[0].resources?.requests?.cpu);
    const [dev, prod] = [render('dev'), render('production')];
    for (const name of ['hookline-api', 'hookline-router']) expect(min(prod, name)).toBeGreaterThan(min(dev, name));
    for (const role of ROLES)
      expect(cpu(prod, appDeploymentName(role))).toBeGreaterThan(cpu(dev, appDeploymentName(role)));
    const soMin = (objects: K8sObject[]) =>
      (find(objects, 'ScaledObject', 'hookline-dispatcher') as K8sObject & { spec: { minReplicaCount: number } }).spec
        .minReplicaCount;
    expect(soMin(prod)).toBeGreaterThan(soMin(dev));
  });

  it('then the reference nats-server.conf fsyncs every write and explains the cost', () => {
    const conf = readFileSync(path.join(ROOT, 'k8s/overlays/production/nats/nats-server.conf'), 'utf8');
    expect(syncsAlways(conf)).toBe(true);
    expect(conf).toMatch(/cost/i);
    expect(conf).toMatch(/2\.10\.23/);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Each rule rejects a broken copy of a real object: none of them passes everything.

describe('rules can fail', () => {
  const dev = () => render('dev');
  const apiSpec = () => podSpecOf(clone(find(dev(), 'Deployment', 'hookline-api')));

  it('when a Deployment breaks its schema, then validation throws', () => {
    const broken = clone(find(dev(), 'Deployment', 'hookline-api')) as K8sObject & {
      spec: { template: { spec: { containers: unknown } } };
    };
    broken.spec.template.spec.containers = 'not-a-list';
    expect(() => validateSchema(broken)).toThrow(/schema/);
    expect(() => validateSchema({ ...broken, kind: 'Frobnicator' })).toThrow(/no schema/);
  });

  it('when a container may write its root filesystem, escalate, keep capabilities or run as root, then security flags it', () => {
    const spec = apiSpec();
    const c = spec.containers[0];
    c.securityContext = {
      ...c.securityContext,
      readOnlyRootFilesystem: false,
      allowPrivilegeEscalation: true,
      capabilities: {},
    };
    expect(securityViolations('api', spec)).toEqual([
      'api/hookline: readOnlyRootFilesystem is not true',
      'api/hookline: allowPrivilegeEscalation is not false',
      'api/hookline: capabilities do not drop ALL',
    ]);
    const root = apiSpec();
    root.securityContext = { ...root.securityContext, runAsUser: 0 };
    delete root.initContainers?.[0].securityContext?.seccompProfile;
    expect(securityViolations('api', root)).toEqual([
      'api: pod runAsUser is not a non-root uid',
      'api/migrate: seccompProfile is not RuntimeDefault',
    ]);
  });

  it('when a limit or request is missing or inverted, then resources flags it', () => {
    const spec = apiSpec();
    delete spec.initContainers?.[0].resources?.limits;
    spec.containers[0].resources = { requests: { cpu: '2', memory: '64Mi' }, limits: { cpu: '500m', memory: '1Gi' } };
    expect(resourceViolations('api', spec)).toEqual([
      'api/migrate: no valid cpu limit',
      'api/migrate: no valid memory limit',
      'api/hookline: cpu request exceeds its limit',
    ]);
  });

  it('when a probe is missing or aimed elsewhere, then the probe rules flag it', () => {
    const spec = apiSpec();
    delete spec.containers[0].livenessProbe;
    expect(probeViolations('api', spec)).toEqual(['api/hookline: no livenessProbe']);
    const wrong = apiSpec();
    wrong.containers[0].readinessProbe = { httpGet: { path: '/healthz', port: 'http' } };
    wrong.containers[0].livenessProbe = { httpGet: { path: '/healthz', port: 9090 } };
    expect(appProbeViolations('api', wrong)).toEqual([
      'api: livenessProbe does not target port 8080',
      'api: readinessProbe is not an HTTP GET of /readyz',
    ]);
  });

  it('when a Secret carries a real-looking value or base64 data, then it is flagged', () => {
    const secret = clone(find(dev(), 'Secret', 'hookline-secrets')) as K8sObject & {
      stringData: Record<string, string>;
      data?: Record<string, string>;
    };
    secret.stringData.HOOKLINE_JWT_SECRET = 'k3Jq9Vx2LmP0aQ7rT5yU8iO1pZ4sD6fG';
    secret.data = { OTHER: 'c2VjcmV0' };
    expect(secretViolations(secret)).toEqual([
      'Secret/hookline-secrets: has base64 data (only placeholder stringData allowed)',
      'Secret/hookline-secrets: HOOKLINE_JWT_SECRET is not a "change-me" placeholder',
    ]);
  });

  it('when the dispatcher egress lets through a private range, metadata, all ports or in-cluster pods, then it is flagged', () => {
    const policy = () =>
      clone(find(dev(), 'NetworkPolicy', 'hookline-dispatcher')) as K8sObject & {
        spec: { egress: Array<Record<string, unknown>>; policyTypes: string[] };
      };
    const internet = (p: ReturnType<typeof policy>) =>
      p.spec.egress.find((r) => JSON.stringify(r).includes('0.0.0.0/0')) as {
        to: Array<{ ipBlock: { except: string[] } }>;
        ports?: unknown;
      };

    const noMetadata = policy();
    internet(noMetadata).to[0].ipBlock.except = FORBIDDEN_EGRESS.filter((r) => r !== '169.254.0.0/16');
    expect(dispatcherEgressViolations(noMetadata)).toEqual([
      'egress[3] reaches 169.254.0.0/16 on ports other than 4222/5432',
      'egress[3] 0.0.0.0/0 does not except 169.254.0.0/16',
      'no rule lets webhooks out to the internet on both 80 and 443',
    ]);

    const allPorts = policy();
    delete internet(allPorts).ports;
    expect(dispatcherEgressViolations(allPorts)).toContain('egress[3] allows every port');

    const privateWeb = policy();
    privateWeb.spec.egress.push({
      to: [{ ipBlock: { cidr: '10.1.0.0/16' } }],
      ports: [{ protocol: 'TCP', port: 443 }],
    });
    expect(dispatcherEgressViolations(privateWeb)).toEqual([
      'egress[4] reaches 10.0.0.0/8 on ports other than 4222/5432',
    ]);

    const podsOnWeb = policy();
    podsOnWeb.spec.egress.push({ to: [{ podSelector: {} }], ports: [{ protocol: 'TCP', port: 80 }] });
    expect(dispatcherEgressViolations(podsOnWeb)).toEqual(['egress[4] lets webhooks reach in-cluster pods']);

    const ingressOnly = policy();
    ingressOnly.spec.policyTypes = ['Ingress'];
    expect(dispatcherEgressViolations(ingressOnly)).toEqual([
      'policyTypes lacks Egress: egress rules would be ignored',
    ]);
  });

  it('when sync_interval is missing, commented out, elsewhere, overridden or not always, then syncsAlways is false', () => {
    const ok = 'jetstream {\n  store_dir: /data\n  sync_interval: always\n}\n';
    expect(syncsAlways(ok)).toBe(true);
    expect(syncsAlways('jetstream: { sync = "always" }')).toBe(true);
    expect(syncsAlways('jetstream {\n  store_dir: /data\n}\n')).toBe(false);
    expect(syncsAlways('jetstream {\n  # sync_interval: always\n}\n')).toBe(false);
    expect(syncsAlways('jetstream {\n  // sync_interval: always\n}\n')).toBe(false);
    expect(syncsAlways('jetstream {\n  store_dir: /data\n}\nsync_interval: always\n')).toBe(false);
    expect(syncsAlways('jetstream {\n  sync_interval: always\n  sync_interval: 2m\n}\n')).toBe(false);
    expect(syncsAlways('jetstream {\n  sync_interval: 2m\n}\n')).toBe(false);
    expect(syncsAlways('jetstream {\n  tiers { sync_interval: always }\n}\n')).toBe(false);
  });

  it('when the NATS image is floating or in 2.10.20–2.10.22, then it is flagged', () => {
    expect(natsImageViolations('nats:2.10.29-alpine')).toEqual([]);
    expect(natsImageViolations('nats:2.11.4')).toEqual([]);
    expect(natsImageViolations('nats:2.10.21-alpine')).toEqual([
      'nats:2.10.21-alpine: 2.10.20–2.10.22 lose stream data on process crashes',
      'nats:2.10.21-alpine: older than 2.10.23',
    ]);
    expect(natsImageViolations('nats:2.10.22')).toHaveLength(2);
    expect(natsImageViolations('nats:2.9.10')).toEqual(['nats:2.9.10: older than 2.10.23']);
    expect(natsImageViolations('nats:latest')).toHaveLength(1);
    expect(natsImageViolations('nats:2.10-alpine')).toHaveLength(1);
    expect(imagePinViolations('hookline:latest')).toHaveLength(1);
    expect(imagePinViolations('registry.example.com:5000/hookline')).toHaveLength(1);
  });

  it('when the CIDR helpers compare ranges, then they agree with the arithmetic', () => {
    expect(contains('0.0.0.0/0', '10.0.0.0/8')).toBe(true);
    expect(contains('10.0.0.0/8', '10.200.0.0/16')).toBe(true);
    expect(contains('10.0.0.0/16', '10.0.0.0/8')).toBe(false);
    expect(overlaps('172.16.0.0/12', '172.31.255.0/24')).toBe(true);
    expect(overlaps('172.16.0.0/12', '172.32.0.0/16')).toBe(false);
    expect(leakedRanges({ ipBlock: { cidr: '0.0.0.0/0', except: ['0.0.0.0/1'] } })).toEqual([
      '172.16.0.0/12',
      '192.168.0.0/16',
      '169.254.0.0/16',
    ]);
  });
});
