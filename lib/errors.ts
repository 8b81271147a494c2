/**
 * A mistake in a job definition or in command-line input. Its message is one line that
 * names the field, the value received and what is expected. The CLI prints it without a
 * stack trace and exits 1.
 */
export class ValidationError extends Error {
  public readonly field: string;
  constructor(field: string, value: unknown, expected: string) {
    super(`${field}: ${describe(value)} ${expected}`);
    this.name = 'ValidationError';
    this.field = field;
  }

  /** The same error with another message (for errors re-raised with more context). */
  public withMessage(message: string): ValidationError {
    this.message = message;
    return this;
  }
}

/** Renders a received value for an error message: strings quoted, objects as compact JSON. */
export function describe(value: unknown): string {
  if (value === undefined) return '(missing)';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  try {
    const s = JSON.stringify(value);
    return s.length > 80 ? s.slice(0, 77) + '...' : s;
  } catch {
    return String(value);
  }
}

const DNS_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

/**
 * Checks a name that becomes part of Kubernetes object names: a DNS-1035 label (lower-case
 * letters, digits and '-', starting with a letter, ending alphanumeric) no longer than `max`.
 */
export function checkName(field: string, value: unknown, max: number): string {
  if (typeof value !== 'string' || !DNS_LABEL.test(value) || value.length > max) {
    throw new ValidationError(field, value,
      `is not a valid name; expected a DNS-1035 label of at most ${max} characters: lower-case letters, digits and '-', starting with a letter and ending with a letter or digit`);
  }
  return value;
}

export function checkInt(field: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `between ${min} and ${max}`;
    throw new ValidationError(field, value, `is invalid; expected an integer ${range}`);
  }
  return value;
}

export function checkNumber(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new ValidationError(field, value, `is invalid; expected a number between ${min} and ${max}`);
  }
  return value;
}

const URI = /^[a-z][a-z0-9+.-]*:\/\/\S*$/;

/** A durable storage location Flink can write to, such as `s3://bucket/path` or `hdfs:///flink/ha`. */
export function checkUri(field: string, value: unknown): string {
  if (typeof value !== 'string' || !URI.test(value)) {
    throw new ValidationError(field, value, 'is not a URI; expected a scheme and a path such as "s3://bucket/flink/checkpoints" or "hdfs:///flink/checkpoints"');
  }
  return value;
}

const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const LABEL_KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

/** Kubernetes label keys and values (also used for annotations' keys). */
export function checkLabels(field: string, labels: Record<string, string> | undefined, valuesToo = true): Record<string, string> {
  if (!labels) return {};
  for (const [k, v] of Object.entries(labels)) {
    const name = k.includes('/') ? k.slice(k.indexOf('/') + 1) : k;
    if (!LABEL_KEY.test(k) || name.length > 63 || k.length > 316) {
      throw new ValidationError(`${field} key`, k, 'is not a valid label key; expected an optional DNS prefix and "/", then at most 63 characters of [A-Za-z0-9-_.]');
    }
    if (typeof v !== 'string') {
      throw new ValidationError(`${field}.${k}`, v, 'is invalid; expected a string');
    }
    if (valuesToo && (!LABEL_VALUE.test(v) || v.length > 63)) {
      throw new ValidationError(`${field}.${k}`, v, 'is not a valid label value; expected at most 63 characters of [A-Za-z0-9-_.], starting and ending alphanumeric');
    }
  }
  return { ...labels };
}
