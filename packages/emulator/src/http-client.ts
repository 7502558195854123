import twilio from 'twilio';
import type BaseRequestClient from 'twilio/lib/base/RequestClient.js';
import type * as ResponseModule from 'twilio/lib/http/response.js';

/**
 * A twilio-node `httpClient` that sends every request, whatever Twilio domain it names
 * (`api`, `taskrouter`, …), to the emulator: it rewrites the origin of `opts.uri` and lets the
 * SDK's own `RequestClient` do the rest (twilio-facts §5; twilio-node
 * `advanced-examples/custom-http-client.md`).
 *
 * Usage: `twilio(emu.accountSid, emu.authToken, { httpClient: emulatorHttpClient(emu.url) })`.
 */
export function emulatorHttpClient(emulatorUrl: string): twilio.RequestClient {
  const target = new URL(emulatorUrl);
  class EmulatorRequestClient extends twilio.RequestClient {
    override request<TData>(
      opts: BaseRequestClient.RequestOptions<TData>,
    ): Promise<ResponseModule.default<TData>> {
      const uri = new URL(opts.uri);
      uri.protocol = target.protocol;
      uri.host = target.host;
      return super.request({ ...opts, uri: uri.toString() });
    }
  }
  return new EmulatorRequestClient();
}
