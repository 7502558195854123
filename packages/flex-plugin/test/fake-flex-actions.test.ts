/** The fake keeps Flex's Actions contract (twilio-facts §6), so tests built on it mean something. */
import { describe, expect, it } from 'vitest';
import { FakeFlexActions } from './fake-flex-actions.js';

describe('FakeFlexActions', () => {
  it('awaits every before-listener together, then the action, then the after-listeners', async () => {
    const actions = new FakeFlexActions();
    const order: string[] = [];
    let releaseSlow = (): void => undefined;
    const slowStarted = new Promise<void>((started) => {
      actions.addListener('beforeTransferTask', () => {
        order.push('slow:start');
        started();
        return new Promise<void>((done) => {
          releaseSlow = () => {
            order.push('slow:end');
            done();
          };
        });
      });
    });
    actions.addListener('beforeTransferTask', () => {
      order.push('quick');
    });
    actions.addListener('afterTransferTask', () => {
      order.push('after');
    });
    actions.registerAction('TransferTask', () => {
      order.push('action');
    });
    const invoked = actions.invokeAction('TransferTask', {});
    await slowStarted;
    // Both listeners started together; the action waits for the slow one.
    expect(order).toEqual(['slow:start', 'quick']);
    releaseSlow();
    expect(await invoked).toEqual({ aborted: false });
    expect(order).toEqual(['slow:start', 'quick', 'slow:end', 'action', 'after']);
  });

  it('a rejecting or throwing listener does not cancel the action; abortFunction does', async () => {
    const actions = new FakeFlexActions();
    const ran: string[] = [];
    actions.registerAction('AcceptTask', () => {
      ran.push('accept');
    });
    actions.addListener('beforeAcceptTask', () => Promise.reject(new Error('boom')));
    actions.addListener('beforeAcceptTask', () => {
      throw new Error('sync boom');
    });
    actions.addListener('afterAcceptTask', () => {
      ran.push('after');
    });
    expect(await actions.invokeAction('AcceptTask', {})).toEqual({ aborted: false });
    expect(ran).toEqual(['accept', 'after']);
    expect(actions.listenerErrors.map((e) => e.listener)).toEqual([
      'beforeAcceptTask',
      'beforeAcceptTask',
    ]);

    actions.addListener('beforeAcceptTask', (_payload, abort) => {
      abort();
    });
    expect(await actions.invokeAction('AcceptTask', {})).toEqual({ aborted: true });
    expect(ran).toEqual(['accept', 'after']);
  });
});
