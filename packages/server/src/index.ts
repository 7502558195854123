export { main } from './cli/main.js';
export type { Command, CommandIo } from './cli/command.js';
export {
  loadServiceConfig,
  SERVICE_CONFIG_DEFAULTS,
  SERVICE_ENV_VARIABLES,
  STREAM_STATUS_PATH,
  type Environment,
  type FlexTokenValidation,
  type LogLevel,
  type ServiceConfig,
} from './config.js';
export { startService, type RunningService, type ServiceDeps } from './service/start.js';
export {
  startReconciler,
  type ReconcileReport,
  type Reconciler,
  type ReconcilerOptions,
} from './service/reconciler.js';
export {
  CALL_STATUS_PATH,
  CONFERENCE_STATUS_PATH,
  createServiceApp,
  PLUGIN_PATH,
  TASKROUTER_EVENTS_PATH,
  type ServiceApp,
  type ServiceAppDeps,
} from './service/app.js';
export {
  FS_SERVICE_ERRORS,
  isServiceError,
  ServiceError,
  type ServiceErrorCode,
} from './service/errors.js';
export {
  CALL_FILE_FORMAT,
  openFileSegmentStore,
  type FileSegmentStore,
  type FileSegmentStoreOptions,
} from './store/file-store.js';
