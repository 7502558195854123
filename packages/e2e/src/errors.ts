/**
 * The e2e package's error catalogue (style §6): stable codes for what a caller of the scenario
 * engine can get wrong, and for a scenario step the stack did not carry out in time.
 */
export const E2E_ERRORS = {
  FS_E2E_UNKNOWN_SCENARIO: 'no scenario has this name',
  FS_E2E_INVALID_COMBINATION: 'this strategy, leg and driver cannot run together',
  FS_E2E_STEP_TIMEOUT: 'a scenario step did not happen in time',
  FS_E2E_STEP_FAILED: 'a scenario step was refused',
} as const;

/** A code of {@link E2E_ERRORS}. */
export type E2eErrorCode = keyof typeof E2E_ERRORS;

/** An error of the scenario engine, with a stable code. */
export class E2eError extends Error {
  override readonly name = 'E2eError';
  constructor(
    readonly code: E2eErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${code}: ${message}`, options);
  }
}

/** True for an {@link E2eError}. */
export function isE2eError(error: unknown): error is E2eError {
  return error instanceof E2eError;
}
