/** `FlexStreamsPlugin.init(flex, manager)`: configuration from Flex, the token from the manager. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FlexStreamsPlugin, type FlexManagerLike } from '../src/index.js';
import { startFakeController, type FakeController } from './controller-server.js';
import { FakeFlexActions } from './fake-flex-actions.js';
import { createRecordingLogger } from './recording-logger.js';

const RESERVATION = 'WR' + 'a'.repeat(32);
const task = {
  sid: RESERVATION,
  taskSid: 'WT' + 'b'.repeat(32),
  taskChannelUniqueName: 'voice',
  attributes: { call_sid: 'CA' + '1'.repeat(32) },
};

describe('FlexStreamsPlugin', () => {
  let controller: FakeController;
  beforeEach(async () => {
    controller = await startFakeController();
  });
  afterEach(async () => {
    await controller.close();
  });

  it('reads ui_attributes.flexStreams.controllerUrl and the manager’s current token', async () => {
    const actions = new FakeFlexActions();
    actions.registerAction('AcceptTask', () => undefined);
    const user = { token: 'token-1' };
    const manager: FlexManagerLike = {
      user,
      serviceConfiguration: {
        ui_attributes: { flexStreams: { controllerUrl: `${controller.url}/` } },
      },
    };
    const plugin = new FlexStreamsPlugin({ logger: createRecordingLogger() });
    expect(plugin.init({ Actions: actions }, manager)).toBe(true);
    await actions.invokeAction('AcceptTask', { task, conferenceOptions: {} });
    // Flex refreshes the token in place on the same UserInfo.
    user.token = 'token-2';
    expect((await plugin.pause(task)).ok).toBe(true);
    expect(controller.requests.map((r) => [r.path, r.authorization])).toEqual([
      ['/v1/plugin/segments/start', 'Bearer token-1'],
      ['/v1/plugin/segments/pause', 'Bearer token-2'],
    ]);
  });

  it('without a controller URL registers nothing and says where to set it', async () => {
    const actions = new FakeFlexActions();
    const logger = createRecordingLogger();
    const plugin = new FlexStreamsPlugin({ logger });
    expect(plugin.init({ Actions: actions }, { user: { token: 't' } })).toBe(false);
    expect(actions.listenerCount('afterAcceptTask')).toBe(0);
    expect(logger.at('error')[0]?.message).toMatch(/ui_attributes\.flexStreams\.controllerUrl/);
    const result = await plugin.resume(task);
    expect(result.ok).toBe(false);
    expect(controller.requests).toEqual([]);
  });
});
