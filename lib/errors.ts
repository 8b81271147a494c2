/**
 * Markers carried by the toolkit's own errors. `Symbol.for` keys live in the process-wide symbol
 * registry, so an error raised by a second copy of this module (an app that bundles its own copy
 * of the library, two versions in node_modules) carries the same marker and is recognised as
 * well; `instanceof` and the error's `name` are not relied on.
 */
const USER_ERROR = Symbol.for('cdk8s-flink.user-error');
const DEFINITION_ERROR = Symbol.for('cdk8s-flink.definition-error');

/** Exit code of a command line that does not fit the command (both CLIs): BSD sysexits' EX_USAGE. */
export const EXIT_USAGE = 64;

/**
 * An error whose message is the whole story for the user: bad input (a definition, an option's
 * value, a missing file) or a failure outside the toolkit (helm, a JobManager, Kafka). The CLIs
 * print its message as one line without a stack trace and exit with its `exitCode`. Anything
 * else that reaches a CLI is unexpected and offers `--verbose` for the stack trace.
 */
export class UserError extends Error {
  /** Whether `e` is a UserError of any copy of this module. */
  public static isUserError(e: unknown): e is UserError {
    return typeof e === 'object' && e !== null && typeof (e as Record<symbol, unknown>)[USER_ERROR] === 'number';
  }

  /** The exit code `e` asks for when it is a UserError (of any copy of this module), else undefined. */
  public static exitCodeOf(e: unknown): number | undefined {
    return UserError.isUserError(e) ? (e as unknown as Record<symbol, number>)[USER_ERROR] : undefined;
  }

  constructor(message: string, public readonly exitCode = 1) {
    super(message);
    this.name = new.target.name;
    Object.defineProperty(this, USER_ERROR, { value: exitCode });
  }
}

/**
 * A command line that does not fit the command's declaration: an unknown command or option, a
 * missing or extra argument, an option without its value or with a value not of its declared
 * type. The CLIs print the message, then the command's usage line, and exit {@link EXIT_USAGE}.
 */
export class UsageError extends UserError {
  /** Whether `e` is a UsageError of any copy of this module. */
  public static isUsageError(e: unknown): e is UsageError {
    return UserError.exitCodeOf(e) === EXIT_USAGE;
  }

  constructor(message: string) {
    super(message, EXIT_USAGE);
  }
}

/**
 * A mistake in a job definition or in command-line input. Its message is one line that
 * names the field, the value received and what is expected. The CLI prints it without a
 * stack trace and exits 1.
 */
export class ValidationError extends UserError {
  /** Whether `e` is a definition error of any copy of this module (recognised by its marker, not its name or class). */
  public static isDefinitionError(e: unknown): e is ValidationError {
    return typeof e === 'object' && e !== null && (e as Record<symbol, unknown>)[DEFINITION_ERROR] === true;
  }

  public readonly field: string;

  constructor(field: string, value: unknown, expected: string) {
    super(`${field}: ${describe(value)} ${expected}`);
    this.field = field;
    Object.defineProperty(this, DEFINITION_ERROR, { value: true });
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

const URI = /^([a-z][a-z0-9+.-]*):\/\/([^/?#]*)(\S*)$/;

/** URI schemes of the file systems Flink ships (built in or as plugins of the official images). */
export const FLINK_FS_SCHEMES = ['file', 'hdfs', 'viewfs', 's3', 's3a', 's3p', 'gs', 'oss', 'wasb', 'wasbs', 'abfs', 'abfss', 'cosn', 'obs'];
/** Azure's schemes, whose authority is `<container>@<account>`. */
const AZURE_SCHEMES = ['wasb', 'wasbs', 'abfs', 'abfss'];
/** Schemes whose authority is the bucket, container or account: without it there is nowhere to write. */
export const NEEDS_BUCKET = ['s3', 's3a', 's3p', 'gs', 'oss', 'wasb', 'wasbs', 'abfs', 'abfss', 'cosn', 'obs'];

/**
 * A durable storage location Flink can write to, such as `s3://bucket/path` or
 * `hdfs:///flink/ha`: a scheme a Flink file system serves, a bucket where the scheme needs one,
 * no credentials in the URI and no `.` or `..` segments.
 */
export function checkUri(field: string, value: unknown): string {
  const m = typeof value === 'string' ? URI.exec(value) : null;
  if (!m) {
    throw new ValidationError(field, value, 'is not a URI; expected a scheme and a path such as "s3://bucket/flink/checkpoints" or "hdfs:///flink/checkpoints"');
  }
  const [, scheme, authority, rest] = m;
  if (!FLINK_FS_SCHEMES.includes(scheme)) {
    throw new ValidationError(field, value, `uses scheme "${scheme}", which no Flink file system serves; expected one of ${FLINK_FS_SCHEMES.join(', ')}`);
  }
  // Azure's `container@account` names a place, not a user; a password (`user:key@`) is a credential anywhere.
  if (/^[^@]*:[^@]*@/.test(authority) || (authority.includes('@') && !AZURE_SCHEMES.includes(scheme))) {
    throw new ValidationError(field, redactUrl(value as string), 'carries credentials in the URI; expected them in a Kubernetes Secret (e.g. FlinkConfigValue.fromSecret for the file system\'s key options)');
  }
  if (NEEDS_BUCKET.includes(scheme) && authority === '') {
    throw new ValidationError(field, value, `has no bucket; expected "${scheme}://<bucket>/<path>"`);
  }
  if (scheme === 'file' && authority !== '' && authority !== 'localhost') {
    throw new ValidationError(field, value, `is a relative path (Flink reads "${authority}" as a host); expected an absolute path such as "file:///${authority}${rest}"`);
  }
  if (rest.split('/').some((s) => s === '.' || s === '..')) {
    throw new ValidationError(field, value, 'has "." or ".." segments; expected a normalized path');
  }
  return value as string;
}

/**
 * S3's grammar, declared once for the definitions' checks, the charts' schema and the operations
 * tool: a bucket name (3-63 lower-case letters, digits, "." or "-"; a pattern source, to be
 * embedded), a region (`eu-west-1`), and an http(s) endpoint without user or password.
 */
export const S3_BUCKET = '[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]';
export const S3_REGION = /^[a-z0-9][a-z0-9-]{0,40}$/;
export const HTTP_ENDPOINT = /^https?:\/\/[^\s/?#@]+(\/\S*)?$/;

/** A URL with user information (`scheme://user:password@`). */
export const URL_CREDENTIALS = /^([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/i;

/** Whether a string is a URL with user information (`scheme://user:password@host`). */
export function hasUrlCredentials(s: string): boolean {
  return URL_CREDENTIALS.test(s);
}

/** The URL with its user information replaced by `***`, for error messages. */
export function redactUrl(s: string): string {
  return s.replace(URL_CREDENTIALS, '$1***@');
}

/**
 * A format rule of the API server for a kind of name (k8s.io/apimachinery `validation`): `test`
 * accepts a valid name, `expected` completes "<field>: <value> ..." for one that is not.
 * Declared once, used by the constructs' checks below and by the schema validator
 * (`lib/schema/validate.ts`).
 */
export interface NameRule {
  readonly test: (s: string) => boolean;
  readonly expected: string;
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
export const LABEL_KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DATA_KEY = /^[-._a-zA-Z0-9]+$/;

export const NAME_RULES = {
  /** Most object names (IsDNS1123Subdomain). */
  dnsSubdomain: {
    test: (s) => DNS_SUBDOMAIN.test(s) && s.length <= 253,
    expected: 'is not a valid object name; expected a DNS subdomain: lower-case letters, digits, "-" and ".", at most 253 characters',
  },
  /** Namespaces, container and volume names, Service port names (IsDNS1123Label). */
  dnsLabel: {
    test: (s) => DNS_1123_LABEL.test(s) && s.length <= 63,
    expected: 'is not a valid name; expected a DNS-1123 label: at most 63 lower-case letters, digits and "-", starting and ending with a letter or digit',
  },
  /** Service names (IsDNS1035Label). */
  dns1035Label: {
    test: (s) => DNS_LABEL.test(s) && s.length <= 63,
    expected: 'is not a valid name; expected a DNS-1035 label: at most 63 lower-case letters, digits and "-", starting with a letter and ending with a letter or digit',
  },
  /** RBAC object names (IsValidPathSegmentName). */
  pathSegment: {
    test: (s) => s !== '' && s !== '.' && s !== '..' && !/[/%]/.test(s),
    expected: 'is not a valid name; expected a path segment: not "." or "..", without "/" or "%"',
  },
  /** Label and annotation keys (IsQualifiedName). */
  labelKey: {
    test: (s) => {
      const slash = s.indexOf('/');
      return LABEL_KEY.test(s) && s.length - slash - 1 <= 63 && slash <= 253;
    },
    expected: 'is not a valid label key; expected an optional DNS prefix and "/", then at most 63 characters of [A-Za-z0-9-_.]',
  },
  /** Label values (IsValidLabelValue). */
  labelValue: {
    test: (s) => LABEL_VALUE.test(s) && s.length <= 63,
    expected: 'is not a valid label value; expected at most 63 characters of [A-Za-z0-9-_.], starting and ending alphanumeric',
  },
  /** Keys of ConfigMap and Secret data (IsConfigMapKey). */
  dataKey: {
    test: (s) => DATA_KEY.test(s) && s.length <= 253 && !s.startsWith('..') && s !== '.',
    expected: 'is not a valid Secret or ConfigMap key; expected at most 253 characters of [-._a-zA-Z0-9], not "." and not starting with ".."',
  },
  /** Container port names and named target ports (IsValidPortName). */
  portName: {
    test: (s) => /^[-a-z0-9]{1,15}$/.test(s) && /[a-z]/.test(s) && !s.startsWith('-') && !s.endsWith('-') && !s.includes('--'),
    expected: 'is not a valid port name; expected an IANA service name: at most 15 lower-case letters, digits and "-" with at least one letter, no "--", not starting or ending with "-"',
  },
} satisfies Record<string, NameRule>;

/** Throws a ValidationError unless `value` is a string the rule accepts. */
export function checkNameRule(field: string, value: unknown, rule: NameRule): string {
  if (typeof value !== 'string' || !rule.test(value)) throw new ValidationError(field, value, rule.expected);
  return value;
}

/** A key of a Secret or ConfigMap: at most 253 characters of [-._a-zA-Z0-9], not "." or "..". */
export function checkDataKey(field: string, value: unknown): string {
  return checkNameRule(field, value, NAME_RULES.dataKey);
}

/** A name of a Secret, ConfigMap or claim: a DNS subdomain of at most 253 characters. */
export function checkObjectName(field: string, value: unknown): string {
  return checkNameRule(field, value, NAME_RULES.dnsSubdomain);
}

/** Kubernetes label keys and values (also used for annotations' keys). */
export function checkLabels(field: string, labels: Record<string, string> | undefined, valuesToo = true): Record<string, string> {
  if (!labels) return {};
  for (const [k, v] of Object.entries(labels)) {
    checkNameRule(`${field} key`, k, NAME_RULES.labelKey);
    if (typeof v !== 'string') {
      throw new ValidationError(`${field}.${k}`, v, 'is invalid; expected a string');
    }
    if (valuesToo) checkNameRule(`${field}.${k}`, v, NAME_RULES.labelValue);
  }
  return { ...labels };
}
