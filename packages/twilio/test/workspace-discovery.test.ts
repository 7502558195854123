/**
 * `discoverFlexWorkspace` over the official SDK: TaskRouter's `ListWorkspace` answered by a
 * scripted server (v1 paging shape, twilio_taskrouter_v1.json). The one workspace of an account,
 * or Flex's by name among several; none or an ambiguous set is a clear error naming them.
 */
import { isVoiceApiError } from '@flex-streams/core';
import { afterEach, describe, expect, it } from 'vitest';
import { createTwilioClient, discoverFlexWorkspace, isFsTwilioError } from '../src/index.js';
import { startScriptedServer, twilioErrorBody, type ScriptedServer } from './helpers.js';

const ACCOUNT = `AC${'a'.repeat(32)}`;
const ws = (n: number) => `WS${String(n).repeat(32)}`;

function page(workspaces: { sid: string; name: string }[]): string {
  const url = 'https://taskrouter.twilio.com/v1/Workspaces?PageSize=50&Page=0';
  return JSON.stringify({
    workspaces: workspaces.map((w) => ({
      sid: w.sid,
      friendly_name: w.name,
      account_sid: ACCOUNT,
      url: `https://taskrouter.twilio.com/v1/Workspaces/${w.sid}`,
    })),
    meta: {
      page: 0,
      page_size: 50,
      first_page_url: url,
      previous_page_url: null,
      url,
      next_page_url: null,
      key: 'workspaces',
    },
  });
}

let server: ScriptedServer | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
});

async function discover(body: string, status = 200) {
  server = await startScriptedServer({ status, body });
  const client = createTwilioClient(
    { accountSid: ACCOUNT, authToken: 'token' },
    { apiBaseUrl: server.url },
  );
  return discoverFlexWorkspace(client);
}

async function refusal(body: string): Promise<string> {
  try {
    await discover(body);
  } catch (error) {
    expect(isFsTwilioError(error, 'FS_TW_WORKSPACE_AMBIGUOUS')).toBe(true);
    return (error as Error).message;
  }
  throw new Error('expected discoverFlexWorkspace to fail');
}

describe('discoverFlexWorkspace', () => {
  it("picks the account's only workspace, whatever its name, with one ListWorkspace", async () => {
    expect(await discover(page([{ sid: ws(1), name: 'Support' }]))).toEqual({
      sid: ws(1),
      friendlyName: 'Support',
    });
    expect(server?.requests.map((r) => [r.method, r.url.split('?')[0]])).toEqual([
      ['GET', '/v1/Workspaces'],
    ]);
  });

  it('picks the workspace named "Flex Task Assignment" among several', async () => {
    const found = await discover(
      page([
        { sid: ws(1), name: 'Sales' },
        { sid: ws(2), name: 'Flex Task Assignment' },
      ]),
    );
    expect(found.sid).toBe(ws(2));
  });

  it('reads every page: the Flex workspace may be past the first 50', async () => {
    const first = Array.from({ length: 50 }, (_, i) => ({ sid: ws(i % 9), name: `Team ${i}` }));
    const second = [{ sid: `WS${'f'.repeat(32)}`, name: 'Flex Task Assignment' }];
    server = await startScriptedServer({ status: 200, body: '' });
    server.answer = (request) => {
      const url = new URL(request.url, 'http://x');
      const pageNumber = url.searchParams.get('Page') ?? '0';
      const body = JSON.parse(page(pageNumber === '0' ? first : second)) as {
        meta: { next_page_url: string | null; page: number };
      };
      body.meta.page = Number(pageNumber);
      body.meta.next_page_url =
        pageNumber === '0'
          ? 'https://taskrouter.twilio.com/v1/Workspaces?PageSize=50&Page=1&PageToken=PT1'
          : null;
      return { status: 200, body: JSON.stringify(body) };
    };
    const client = createTwilioClient(
      { accountSid: ACCOUNT, authToken: 'token' },
      { apiBaseUrl: server.url },
    );
    expect((await discoverFlexWorkspace(client)).sid).toBe(`WS${'f'.repeat(32)}`);
    expect(server.requests).toHaveLength(2);
  });

  it('refuses to guess: no workspace, or several and none (or two) named for Flex', async () => {
    expect(await refusal(page([]))).toMatch(/has no TaskRouter workspace.*TWILIO_WORKSPACE_SID/);
    const several = await refusal(
      page([
        { sid: ws(1), name: 'Sales' },
        { sid: ws(2), name: 'Support' },
      ]),
    );
    expect(several).toContain(`${ws(1)} "Sales"`);
    expect(several).toMatch(/none is named "Flex Task Assignment"/);
    expect(
      await refusal(
        page([
          { sid: ws(1), name: 'Flex Task Assignment' },
          { sid: ws(2), name: 'Flex Task Assignment' },
        ]),
      ),
    ).toMatch(/several are named/);
  });

  it("reports TaskRouter's refusal as a VoiceApiError with Twilio's code", async () => {
    let thrown: unknown;
    try {
      await discover(twilioErrorBody(401, 20003, 'Authenticate'), 401);
    } catch (error) {
      thrown = error;
    }
    expect(isVoiceApiError(thrown)).toBe(true);
    expect(thrown).toMatchObject({ status: 401, code: 20003 });
  });
});
