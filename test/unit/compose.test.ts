import { existsSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import Ajv2019 from 'ajv/dist/2019.js';
import { load } from 'js-yaml';
import { CONFIG_VARIABLES, loadConfig } from '../../shared/config.js';
import { REPO_ROOT } from '../helpers/broker-process.js';

/**
 * `compose.yaml` checked offline (no Docker engine or image registry here): valid against the Compose
 * Specification's JSON schema, and wired the way Hookline needs — healthy NATS with JetStream on a volume and
 * Postgres before Hookline starts, URLs that reach them, and only variables the configuration knows.
 */

interface Service {
  image?: string;
  build?: string | { context: string };
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
}
interface Compose {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

const file = readFileSync(path.join(REPO_ROOT, 'compose.yaml'), 'utf8');
const compose = load(file) as Compose;

function composeValidator() {
  // The schema names draft 2019-09 by an alias Ajv does not register; Ajv2019 is that draft.
  const { $schema: _draft, ...schema } = JSON.parse(
    readFileSync(path.join(REPO_ROOT, 'test/fixtures/compose-spec/compose-spec.json'), 'utf8'),
  ) as Record<string, unknown>;
  const ajv = new Ajv2019.default({
    allErrors: true,
    allowUnionTypes: true,
    // The schema's own formats, as Compose defines them.
    formats: {
      duration: /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/,
      ports: /^((\[[0-9a-fA-F:.]+\]|[0-9.]+):)?(\d+(-\d+)?:)?\d+(-\d+)?(\/(tcp|udp|sctp))?$/,
      expose: /^\d+(-\d+)?(\/(tcp|udp|sctp))?$/,
      subnet_ip_address: (s: string) => isIP(s.split('/')[0] ?? '') !== 0,
    },
  });
  // The schema still uses draft-04's `id` for annotations; Ajv refuses it unless told it is only a keyword.
  ajv.removeKeyword('id');
  ajv.addKeyword('id');
  return ajv.compile(schema);
}

/** Replaces `${VAR:-default}` the way Compose does when VAR is unset. */
function interpolate(value: string): string {
  return value.replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1');
}

describe('compose.yaml', () => {
  const validate = composeValidator();

  it('when validated against the Compose Specification schema, then it has no errors', () => {
    const valid = validate(compose);
    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
  });

  it('when a service carries an unknown key or a malformed port, then the same validator refuses it', () => {
    const broken = structuredClone(compose);
    (broken.services.hookline as Record<string, unknown>).restart_policy = 'always';
    expect(validate(broken)).toBe(false);
    const badPort = structuredClone(compose);
    badPort.services.hookline!.ports = ['localhost-8080'];
    expect(validate(badPort)).toBe(false);
  });

  it('then NATS runs JetStream with its store on a named volume, and Postgres keeps its data on one', () => {
    const nats = compose.services.nats!;
    expect(nats.command).toContain('-js');
    const storeDir = nats.command![nats.command!.indexOf('-sd') + 1];
    expect(nats.volumes).toContain(`nats-data:${storeDir}`);
    expect(compose.services.postgres!.volumes).toContain('postgres-data:/var/lib/postgresql/data');
    expect(Object.keys(compose.volumes ?? {})).toEqual(expect.arrayContaining(['nats-data', 'postgres-data']));
  });

  it('then NATS and Postgres run the exact releases the dev manifests pin', () => {
    const pinned = (file: string) => /image: (\S+)/.exec(readFileSync(path.join(REPO_ROOT, file), 'utf8'))?.[1];
    expect(compose.services.nats!.image).toBe(pinned('k8s/overlays/dev/nats/statefulset.yaml'));
    expect(compose.services.postgres!.image).toBe(pinned('k8s/overlays/dev/postgres/statefulset.yaml'));
  });

  it('then Hookline is built from the Dockerfile and starts once NATS and Postgres are healthy', () => {
    const hookline = compose.services.hookline!;
    expect(hookline.build).toBe('.');
    expect(existsSync(path.join(REPO_ROOT, 'Dockerfile'))).toBe(true);
    expect(hookline.depends_on).toEqual({ nats: { condition: 'service_healthy' }, postgres: { condition: 'service_healthy' } });
    for (const name of ['nats', 'postgres', 'hookline']) {
      expect(compose.services[name]!.healthcheck?.test?.length).toBeGreaterThan(1);
    }
    expect(compose.services.nats!.healthcheck!.test.join(' ')).toContain('js-enabled-only=true');
    expect(hookline.healthcheck!.test.join(' ')).toContain('/readyz');
  });

  it('then every variable given to Hookline is one its configuration reads, and the configuration accepts them', () => {
    const env = compose.services.hookline!.environment!;
    expect(Object.keys(env).filter((k) => !CONFIG_VARIABLES.includes(k))).toEqual([]);
    const config = loadConfig(Object.fromEntries(Object.entries(env).map(([k, v]) => [k, interpolate(String(v))])));
    expect(config.HOOKLINE_HOST).toBe('0.0.0.0');
    // The URLs reach the services by name, on their ports, with Postgres's own credentials and database.
    const nats = new URL(config.NATS_URL);
    expect([nats.hostname, nats.port]).toEqual(['nats', '4222']);
    const db = new URL(config.DATABASE_URL);
    const pgEnv = compose.services.postgres!.environment!;
    expect([db.hostname, db.port, db.username, db.password, db.pathname]).toEqual([
      'postgres',
      '5432',
      pgEnv.POSTGRES_USER,
      pgEnv.POSTGRES_PASSWORD,
      `/${pgEnv.POSTGRES_DB}`,
    ]);
    // The API is published on this machine's loopback only, on the port it listens on.
    expect(compose.services.hookline!.ports).toEqual([`127.0.0.1:${config.PORT}:${config.PORT}`]);
    expect(compose.services.nats!.ports ?? []).toEqual([]);
    expect(compose.services.postgres!.ports ?? []).toEqual([]);
  });
});
