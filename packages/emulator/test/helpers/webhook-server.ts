import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import qs from 'qs';

/** One request the emulator sent to the app. */
export interface ReceivedWebhook {
  readonly method: string;
  /** The full URL as the emulator requested it (what Twilio signs). */
  readonly url: string;
  readonly path: string;
  readonly signature: string | undefined;
  readonly params: Record<string, string>;
}

/**
 * A real HTTP server on 127.0.0.1:0 playing the customer's app: it answers TwiML per path (set
 * with `route`) and records every webhook it receives.
 */
export async function startWebhookServer(): Promise<{
  url: string;
  received: ReceivedWebhook[];
  route(path: string, twiml: string, status?: number): void;
  close(): Promise<void>;
}> {
  const routes = new Map<string, { twiml: string; status: number }>();
  const received: ReceivedWebhook[] = [];
  const readBody = (request: IncomingMessage): Promise<string> =>
    new Promise((resolve, reject) => {
      let data = '';
      request.on('data', (chunk: Buffer) => {
        data += chunk.toString();
      });
      request.on('end', () => {
        resolve(data);
      });
      request.on('error', reject);
    });
  const server = createServer((request, response) => {
    void readBody(request).then((body) => {
      const url = new URL(request.url ?? '/', base);
      const params =
        request.method === 'GET'
          ? (qs.parse(url.search.slice(1)) as Record<string, string>)
          : (qs.parse(body) as Record<string, string>);
      const signature = request.headers['x-twilio-signature'];
      received.push({
        method: request.method ?? '',
        url: url.toString(),
        path: url.pathname,
        signature: typeof signature === 'string' ? signature : undefined,
        params,
      });
      const route = routes.get(url.pathname);
      response.statusCode = route?.status ?? 200;
      response.setHeader('Content-Type', route ? 'text/xml' : 'text/plain');
      response.end(route?.twiml ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: base,
    received,
    route: (path, twiml, status = 200) => {
      routes.set(path, { twiml, status });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}
