/**
 * The thin Flex adapter: `init(flex, manager)` as a Flex plugin's `init` is called, wiring
 * `flex.Actions` and `manager.user.token` (facts §6) into {@link registerFlexStreams}.
 */
import type { RetryOptions } from './client.js';
import type { FlexActions, FlexTask } from './flex-types.js';
import { createConsoleLogger, type PluginLogger } from './logger.js';
import { registerFlexStreams, type FlexStreamsHandle } from './register.js';
import type { PluginCallResult } from './client.js';
import { FlexPluginError } from './errors.js';

/** The part of the `Flex` namespace the plugin uses. */
export interface FlexLike {
  readonly Actions: FlexActions;
}

/**
 * The part of Flex's `Manager` the plugin uses: `user.token` (`UserInfo`, facts §6 "Calling a
 * backend") and the Flex configuration's `ui_attributes` (`manager.serviceConfiguration`).
 */
export interface FlexManagerLike {
  readonly user: { readonly token: string };
  readonly serviceConfiguration?: { readonly ui_attributes?: unknown } | undefined;
}

/** Options of {@link FlexStreamsPlugin}. */
export interface FlexStreamsPluginOptions {
  /** Overrides `ui_attributes.flexStreams.controllerUrl`. */
  readonly controllerUrl?: string;
  readonly logger?: PluginLogger;
  readonly fetch?: typeof fetch;
  readonly retry?: RetryOptions;
  readonly timeoutMs?: number;
}

/**
 * Where the controller URL is read from: the Flex configuration's
 * `ui_attributes.flexStreams.controllerUrl` (set with the Flex Configuration API, README
 * "Configuration").
 */
export function controllerUrlFromConfiguration(manager: FlexManagerLike): unknown {
  const attributes = manager.serviceConfiguration?.ui_attributes;
  if (typeof attributes !== 'object' || attributes === null) return undefined;
  const section = (attributes as Record<string, unknown>).flexStreams;
  if (typeof section !== 'object' || section === null) return undefined;
  return (section as Record<string, unknown>).controllerUrl;
}

/** The plugin: call `init(flex, manager)` from the generated Flex plugin's `init`. */
export class FlexStreamsPlugin {
  readonly #options: FlexStreamsPluginOptions;
  #handle: FlexStreamsHandle | null = null;

  constructor(options: FlexStreamsPluginOptions = {}) {
    this.#options = options;
  }

  /**
   * Registers the listeners. A missing or bad controller URL is logged as an error and nothing
   * is registered (Flex keeps working, with no streams); returns whether it registered.
   */
  init(flex: FlexLike, manager: FlexManagerLike): boolean {
    const logger = this.#options.logger ?? createConsoleLogger();
    const controllerUrl = this.#options.controllerUrl ?? controllerUrlFromConfiguration(manager);
    try {
      this.#handle = registerFlexStreams({
        actions: flex.Actions,
        // Read on every request: Flex refreshes the token in place (facts §6).
        getToken: () => manager.user.token,
        controllerUrl: typeof controllerUrl === 'string' ? controllerUrl : '',
        logger,
        ...(this.#options.fetch === undefined ? {} : { fetch: this.#options.fetch }),
        ...(this.#options.retry === undefined ? {} : { retry: this.#options.retry }),
        ...(this.#options.timeoutMs === undefined ? {} : { timeoutMs: this.#options.timeoutMs }),
      });
      return true;
    } catch (error) {
      logger.error(
        {
          code: error instanceof FlexPluginError ? error.code : 'FS_PLUGIN_ERR_CONFIG',
          controllerUrl,
        },
        `flex-streams is not active: ${error instanceof Error ? error.message : String(error)}. ` +
          'Set ui_attributes.flexStreams.controllerUrl in the Flex configuration ' +
          '(see the flex-plugin README "Configuration")',
      );
      return false;
    }
  }

  /** Pauses the task's stream (see `FlexStreamsHandle.pause`); an error result before `init`. */
  pause(task: FlexTask, reason?: string): Promise<PluginCallResult> {
    return this.#handle === null ? notActive() : this.#handle.pause(task, reason);
  }

  /** Resumes the task's stream (see `FlexStreamsHandle.resume`). */
  resume(task: FlexTask): Promise<PluginCallResult> {
    return this.#handle === null ? notActive() : this.#handle.resume(task);
  }
}

function notActive(): Promise<PluginCallResult> {
  return Promise.resolve({
    ok: false,
    error: new FlexPluginError('FS_PLUGIN_ERR_CONFIG', 'flex-streams is not active (init failed)'),
  });
}
