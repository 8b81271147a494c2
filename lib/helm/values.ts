import { parse } from 'yaml';
import { emitYaml } from '../synth/yaml';
import { FLINK_FS_SCHEMES, LABEL_KEY, NEEDS_BUCKET, S3_BUCKET } from '../errors';

/** One value of a chart: its default, what it means, and its JSON schema. */
export interface ValueSpec {
  readonly doc: string;
  readonly value: unknown;
  readonly schema: Record<string, unknown>;
}

/** A tree of values: maps of values or of subtrees (each subtree documented too). */
export interface ValueTree {
  readonly [key: string]: ValueSpec | { readonly doc: string; readonly children: ValueTree };
}

function isLeaf(x: ValueSpec | { doc: string; children: ValueTree }): x is ValueSpec {
  return 'schema' in x;
}

/** A subtree's key that its `key:` line gives back as written. */
const PLAIN_KEY = /^[A-Za-z][A-Za-z0-9]*$/;
/** A block scalar keeping its trailing line breaks: what follows it in the file could join it. */
const KEEP_BLOCK = /\|\d?\+$/m;
/** Leaf texts read back (text -> JSON of what it reads as): the same leaves recur across units. */
const leavesRead = new Map<string, string>();
const LEAVES_KEPT = 20_000;

/**
 * values.yaml: every value commented, starting with its own name (Helm's convention). A value
 * without a default is refused, and the text is read back and must give the same values, so a
 * chart never ships a values.yaml that Helm cannot load. What is read back: each value's own
 * text (once per distinct text: most recur from unit to unit), when the lines around them (plain
 * subtree keys, comments, indentation) cannot change what they read as; otherwise the whole file.
 */
export function renderValues(tree: ValueTree, header: string): string {
  const out: string[] = [header.trimEnd(), ''];
  const leaves: [string, unknown, string][] = [];
  let composable = true;
  const walk = (t: ValueTree, indent: number, at: string) => {
    const pad = ' '.repeat(indent);
    for (const [k, v] of Object.entries(t)) {
      for (const line of `${k} -- ${v.doc}`.split('\n')) out.push(`${pad}# ${line}`.trimEnd());
      if (isLeaf(v)) {
        if (v.value === undefined) throw new Error(`values.yaml: ${at}${k} has no default value`);
        const text = emitYaml({ [k]: v.value }).replace(/^\n/, '').trimEnd();
        leaves.push([text, { [k]: v.value }, `${at}${k}`]);
        if (KEEP_BLOCK.test(text)) composable = false;
        out.push(...text.split('\n').map((l) => pad + l));
      } else {
        if (!PLAIN_KEY.test(k)) composable = false;
        out.push(`${pad}${k}:`);
        walk(v.children, indent + 2, `${at}${k}.`);
      }
      if (indent === 0) out.push('');
    }
  };
  walk(tree, 0, '');
  const text = out.join('\n').trimEnd() + '\n';
  if (composable) {
    for (const [leaf, expected, at] of leaves) {
      let read = leavesRead.get(leaf);
      if (read === undefined) {
        read = JSON.stringify(parse(leaf, { schema: 'core' }));
        if (leavesRead.size < LEAVES_KEPT) leavesRead.set(leaf, read);
      }
      if (read !== JSON.stringify(expected)) throw new Error(`values.yaml: ${at} reads back as another value than the definition's default:\n${leaf}`);
    }
  } else if (JSON.stringify(parse(text, { schema: 'core' })) !== JSON.stringify(defaults(tree))) {
    throw new Error(`values.yaml: the rendered text reads back as other values than the definition's defaults:\n${text}`);
  }
  return text;
}

/** The default values of a tree, as a plain object. */
export function defaults(tree: ValueTree): Record<string, unknown> {
  return Object.fromEntries(Object.entries(tree).map(([k, v]) => [k, isLeaf(v) ? v.value : defaults(v.children)]));
}

/** values.schema.json: types, enums and patterns; unknown keys are rejected at every level. */
export function renderSchema(tree: ValueTree, title: string): string {
  const node = (t: ValueTree): Record<string, unknown> => ({
    type: 'object',
    additionalProperties: false,
    properties: Object.fromEntries(Object.entries(t).map(([k, v]) => [k, isLeaf(v)
      ? { description: v.doc.split('\n')[0], ...v.schema }
      : { description: v.doc.split('\n')[0], ...node(v.children) }])),
  });
  return JSON.stringify({ $schema: 'https://json-schema.org/draft-07/schema#', title, ...node(tree) }, null, 2) + '\n';
}

export const QUANTITY_CPU = { type: 'string', pattern: '^([1-9][0-9]*|[0-9]+\\.[0-9]+|[1-9][0-9]*m)$' };
export const QUANTITY_MEMORY = { type: 'string', pattern: '^[1-9][0-9]*(Mi|Gi)$' };
/**
 * A storage URI as `checkUri` accepts it (or ""): a Flink file system's scheme, a bucket where
 * the scheme needs one, no `user:password@`, no relative `file://` path, no `.`/`..` segments.
 */
export const URI_OR_EMPTY = {
  type: 'string',
  pattern: `^((${NEEDS_BUCKET.join('|')})://[^/@\\s?#]+(/\\S*)?|(${FLINK_FS_SCHEMES.filter((x) => !NEEDS_BUCKET.includes(x) && x !== 'file').join('|')})://[^/@\\s?#]*(/\\S*)?|file://(localhost)?/\\S*)?$`,
  not: { pattern: '/\\.\\.?(/|$)' },
};
/** A job jar in an image: `local:///p.jar`, `file:///p.jar` or `/p.jar` (JobSource.jar's check). */
export const JAR_IN_IMAGE = { type: 'string', pattern: '^((local|file)://)?(/[^/\\s]+)+\\.jar$', not: { pattern: '/\\.\\.?/' } };
/** An https job jar without credentials in the URL. */
export const JAR_HTTPS = { type: 'string', pattern: '^https://[^/@\\s]+/\\S*[^/\\s]$' };
/** An s3://bucket/key job jar. */
export const JAR_S3 = { type: 'string', pattern: `^s3://${S3_BUCKET}/\\S*[^/\\s]$` };
/** A sha256 digest, or "" for none. */
export const SHA256_OR_EMPTY = { type: 'string', pattern: '^([0-9a-fA-F]{64})?$' };
/** Labels or annotations: keys as the API server checks them (a newline or space in a key would otherwise inject YAML). */
export const LABELS = { type: 'object', propertyNames: { pattern: LABEL_KEY.source, maxLength: 317 }, additionalProperties: { type: 'string' } };
