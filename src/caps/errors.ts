/**
 * Errors are values with a stable code and a message a person can act on. The CLI maps
 * `kind` to exit codes: 'input' -> 2 (bad input), 'denied' -> 1 (policy said no / divergence),
 * 'io' -> 2 (a file or process that cannot be read is bad input from the user's side).
 */
export type ErrorKind = 'input' | 'denied' | 'io';

export class CapctlError extends Error {
  readonly code: string;
  readonly kind: ErrorKind;
  constructor(code: string, message: string, kind: ErrorKind = 'input') {
    super(message);
    this.name = 'CapctlError';
    this.code = code;
    this.kind = kind;
  }
}

export function inputError(code: string, message: string): CapctlError {
  return new CapctlError(code, message, 'input');
}
