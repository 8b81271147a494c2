import { ValidationError } from '../errors';
import { IMAGE_PINNED } from '../rules/guards';

/**
 * Container image references by the grammar of the distribution reference (the one
 * Docker, containerd and CRI-O parse):
 *
 *   reference  := name [ ":" tag ] [ "@" digest ]
 *   name       := [ domain "/" ] path-component { "/" path-component }
 *   domain     := host [ ":" port ]     (a first component with ".", ":" or "localhost")
 *   path-component := [a-z0-9]+ { separator [a-z0-9]+ },  separator := "." | "_" | "__" | "-"+
 *   tag        := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
 *   digest     := algorithm ":" hex   (sha256: 64 lower-case hex digits; sha512: 128)
 *
 * and the name at most 255 characters.
 */
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = new RegExp(`^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?$`);
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
/** An image repository (optional registry host and port, then path components), anchored: the charts' values schema. */
export const REPOSITORY_PATTERN = `^(?:${DOMAIN.source.slice(1, -1)}/)?${PATH_COMPONENT.source.slice(1, -1)}(?:/${PATH_COMPONENT.source.slice(1, -1)})*$`;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGESTS: Record<string, RegExp> = { sha256: /^[a-f0-9]{64}$/, sha512: /^[a-f0-9]{128}$/ };
/** A tag or "", anchored: the charts' values schema. */
export const TAG_PATTERN = `^(${TAG.source.slice(1, -1)})?$`;
/** A digest ("<algorithm>:<hex>") or "", anchored: the charts' values schema. */
export const DIGEST_PATTERN = `^(${Object.entries(DIGESTS).map(([alg, hex]) => `${alg}:${hex.source.slice(1, -1)}`).join('|')})?$`;
/**
 * The charts' values schema of a whole image reference held in one value (the hooks image, pod
 * template containers): the grammar above, pinned as IMAGE_PINNED says (a digest, or a tag other
 * than "latest"). The 255-character limit of the name is checked by the constructs only.
 */
export const PINNED_IMAGE_SCHEMA = {
  type: 'string',
  pattern: `${REPOSITORY_PATTERN.slice(0, -1)}(?:(?::${TAG.source.slice(1, -1)})?@(?:${DIGEST_PATTERN.slice(2, -3)})|:${TAG.source.slice(1, -1)})$`,
  not: { pattern: ':latest$' },
} as const;

export interface ImageReference {
  readonly domain?: string;
  readonly path: string;
  readonly tag?: string;
  readonly digest?: string;
}

const EXAMPLE = 'e.g. "flink:1.20.3-java17" or "registry.example.com/flink@sha256:<64 hex digits>"';

/** Parses an image reference, throwing a ValidationError naming `field` when it is not one. */
export function parseImageReference(field: string, image: unknown): ImageReference {
  if (typeof image !== 'string' || image.length === 0 || /\s/.test(image)) {
    throw new ValidationError(field, image, 'is invalid; expected an image reference such as "flink:1.20.3-java17"');
  }
  let rest = image;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    const [alg, hex] = digest.split(':', 2);
    if (!DIGESTS[alg] || hex === undefined || !DIGESTS[alg].test(hex)) {
      throw new ValidationError(field, image, 'has an invalid digest; expected "@sha256:" followed by 64 hex digits');
    }
  }
  let tag: string | undefined;
  const slash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > slash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) {
      throw new ValidationError(field, image, `has an invalid tag "${tag}"; expected at most 128 characters of letters, digits, ".", "_" or "-", not starting with "." or "-"`);
    }
  }
  if (rest.length > 255) {
    throw new ValidationError(field, image, 'has a name longer than 255 characters; expected a shorter repository name');
  }
  const parts = rest.split('/');
  let domain: string | undefined;
  if (parts.length > 1 && (/[.:]/.test(parts[0]) || parts[0] === 'localhost' || /[A-Z]/.test(parts[0]))) {
    domain = parts.shift()!;
    if (!DOMAIN.test(domain)) {
      throw new ValidationError(field, image, `has an invalid registry "${domain}"; expected a host name or address with an optional port, ${EXAMPLE}`);
    }
  }
  const bad = parts.find((p) => !PATH_COMPONENT.test(p));
  if (bad !== undefined) {
    throw new ValidationError(field, image, `has an invalid repository component "${bad}"; expected lower-case letters and digits separated by ".", "_", "__" or "-", ${EXAMPLE}`);
  }
  return { domain, path: parts.join('/'), tag, digest };
}

/** Accepts an image pinned by tag or digest; rejects `:latest`, untagged and malformed references. */
export function checkImage(field: string, image: unknown): string {
  const ref = parseImageReference(field, image);
  if (!IMAGE_PINNED.holds(ref)) {
    throw new ValidationError(field, image, ref.tag === undefined
      ? 'is not pinned; expected a tag or digest, e.g. "flink:1.20.3-java17"'
      : 'uses the moving tag "latest"; expected a pinned tag or digest, e.g. "flink:1.20.3-java17"');
  }
  return image as string;
}
