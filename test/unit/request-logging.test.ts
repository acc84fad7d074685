/**
 * The API's request id reaches every log line of its request: the problem document of a 500 promises that
 * "the request id identifies it in our logs", so the line logged for that 500 must carry it, with the stack.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from '@jest/globals';
import express from 'express';
import request from 'supertest';
import { createLogger } from '../../shared/logger.js';
import { problemHandler } from '../../services/api/middleware/problem.js';
import { requestId } from '../../services/api/middleware/request-id.js';
import { requestLog } from '../../services/api/middleware/request-log.js';

function capturedLogger() {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l));
      done();
    },
  });
  return { logger: createLogger('info', {}, sink), lines };
}

function appThatFails(logger: ReturnType<typeof createLogger>) {
  const app = express();
  app.use(requestId(logger));
  app.use(requestLog(logger));
  app.get('/boom', () => {
    throw new Error('the database said no');
  });
  app.use(problemHandler(logger));
  return app;
}

describe('request ids in logs', () => {
  it('when a request fails with a 500, then its error log line carries the response request id and the stack', async () => {
    const { logger, lines } = capturedLogger();
    const res = await request(appThatFails(logger)).get('/boom').expect(500);
    const id = res.headers['x-request-id'];
    expect(res.body.requestId).toBe(id);
    const failed = lines.find((l) => l.msg === 'request failed' && l.err);
    expect(failed).toBeDefined();
    expect(failed!.requestId).toBe(id);
    expect((failed!.err as { stack?: string }).stack).toContain('the database said no');
  });

  it('when a caller sends its own X-Request-Id, then every line of that request carries it', async () => {
    const { logger, lines } = capturedLogger();
    await request(appThatFails(logger)).get('/boom').set('x-request-id', 'caller-id-42').expect(500);
    expect(lines.length).toBeGreaterThanOrEqual(2);
    for (const l of lines) expect(l.requestId).toBe('caller-id-42');
  });
});
