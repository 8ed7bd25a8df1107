/** Errors that carry the exit code the contract gives them. */
export class WearhookError extends Error {
  constructor(
    message: string,
    readonly exitCode: 1 | 2,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Exit 2: the user asked for something malformed (bad flag, bad date, missing credentials). */
export class UsageError extends WearhookError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 2, options);
  }
}

/** Exit 1: a well-formed request failed at run time (network, remote error, I/O). */
export class RuntimeError extends WearhookError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 1, options);
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
