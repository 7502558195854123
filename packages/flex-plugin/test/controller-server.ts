/**
 * A real HTTP server on 127.0.0.1 port 0 that answers like the controller's plugin API
 * (packages/server README "Endpoints": 200 `{outcome, detail, segments}`, errors as
 * `{error: {code, message, twilioCode?}}`), records every request, and plays scripted answers:
 * a list of statuses per action (503s, 4xxs…), a hang (no answer: a timeout), or a gate the test
 * opens.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the server received. */
export interface RecordedRequest {
  readonly action: string;
  readonly path: string;
  readonly authorization: string | undefined;
  readonly contentType: string | undefined;
  readonly body: Record<string, unknown>;
}

/** A scripted answer. */
export type ScriptedAnswer =
  | { readonly status: number; readonly code?: string; readonly retryAfter?: string }
  | { readonly hang: true }
  | { readonly gate: Promise<void> };

export interface FakeController {
  readonly url: string;
  readonly requests: RecordedRequest[];
  /** Answers for the next requests of `action`, in order; then 200 again. */
  script(action: string, ...answers: ScriptedAnswer[]): void;
  /** Resolves once `count` requests of `action` have arrived. */
  waitForRequests(action: string, count: number): Promise<RecordedRequest[]>;
  close(): Promise<void>;
}

const ERROR_MESSAGES: Record<number, string> = {
  401: 'the token has expired',
  403: 'not the segment owner',
  404: 'segment not found',
  429: 'too many requests',
  503: 'unavailable',
};

export async function startFakeController(): Promise<FakeController> {
  const requests: RecordedRequest[] = [];
  const scripts = new Map<string, ScriptedAnswer[]>();
  const waiters: { action: string; count: number; done: (r: RecordedRequest[]) => void }[] = [];
  const hanging = new Set<ServerResponse>();

  const ofAction = (action: string) => requests.filter((r) => r.action === action);
  const notify = (): void => {
    for (const waiter of [...waiters]) {
      const list = ofAction(waiter.action);
      if (list.length >= waiter.count) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.done(list);
      }
    }
  };

  const readBody = async (request: IncomingMessage): Promise<string> => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  };

  const server = createServer((request, response) => {
    void (async () => {
      const text = await readBody(request);
      const path = request.url ?? '';
      const action = path.replace(/^\/v1\/plugin\/segments\//, '');
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(text) as Record<string, unknown>;
      } catch {
        body = { unparsed: text };
      }
      requests.push({
        action,
        path,
        authorization: request.headers.authorization,
        contentType: request.headers['content-type'],
        body,
      });
      notify();
      const answer = scripts.get(action)?.shift() ?? { status: 200 };
      if ('hang' in answer) {
        hanging.add(response);
        return;
      }
      if ('gate' in answer) await answer.gate;
      const scripted: { status: number; code?: string; retryAfter?: string } =
        'status' in answer ? answer : { status: 200 };
      const { status } = scripted;
      const headers: Record<string, string> = { 'Content-Type': 'application/json' };
      if (scripted.retryAfter !== undefined) headers['Retry-After'] = scripted.retryAfter;
      response.writeHead(status, headers);
      if (status < 400) {
        response.end(JSON.stringify({ outcome: 'applied', detail: action, segments: [] }));
      } else {
        const code = scripted.code ?? 'FS_ERR_X';
        response.end(
          JSON.stringify({
            error: { code, message: ERROR_MESSAGES[status] ?? 'refused', twilioCode: 20404 },
          }),
        );
      }
    })();
  });
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    script(action, ...answers) {
      scripts.set(action, [...(scripts.get(action) ?? []), ...answers]);
    },
    waitForRequests(action, count) {
      return new Promise((done) => {
        waiters.push({ action, count, done });
        notify();
      });
    },
    async close() {
      for (const response of hanging) response.destroy();
      server.closeAllConnections();
      await new Promise<void>((closed) => {
        server.close(() => {
          closed();
        });
      });
    },
  };
}
