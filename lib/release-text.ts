/**
 * Text that embeds a cluster's name or namespace (PromQL selectors, rule group names, dashboard
 * titles and ids): generated with tokens in place of the two, rendered as literals in dist/ and
 * as the release's name and namespace in charts/. Only text built with the tokens follows the
 * release; any other text (alert wording, a user's title, a word that happens to equal the
 * cluster's name) stays as written.
 */

/** Stands for the cluster's name in generated text (a private-use character, never in a name). */
export const CLUSTER_NAME = '\uE000';
/** Stands for the cluster's namespace in generated text. */
export const CLUSTER_NAMESPACE = '\uE001';

const TOKENS = /[\uE000\uE001]/;

/** One piece of a token-form string: literal text, or the cluster's name or namespace. */
export type TextPart = { readonly text: string } | { readonly token: 'name' | 'namespace' };

/** The literal strings of one cluster's generated text, each with the token form it came from. */
export class ReleaseTexts {
  private readonly forms = new Map<string, string>();

  constructor(public readonly name: string, public readonly namespace?: string) {}

  /** `x` with the tokens of every string replaced by the literals; remembers each such string's token form. */
  public literal<X>(x: X): X {
    if (typeof x === 'string') {
      if (!TOKENS.test(x)) return x;
      const lit = x.split(CLUSTER_NAME).join(this.name).split(CLUSTER_NAMESPACE).join(this.namespace ?? '');
      this.forms.set(lit, x);
      return lit as unknown as X;
    }
    if (Array.isArray(x)) return x.map((v) => this.literal(v)) as unknown as X;
    if (x !== null && typeof x === 'object' && (x as object).constructor === Object) {
      return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, this.literal(v)])) as X;
    }
    return x;
  }

  /** How a string of the finished objects follows the release, if it is text generated with tokens. */
  public parts(literal: string): TextPart[] | undefined {
    const form = this.forms.get(literal);
    if (form === undefined) return undefined;
    const out: TextPart[] = [];
    let text = '';
    for (const ch of form) {
      if (ch === CLUSTER_NAME || ch === CLUSTER_NAMESPACE) {
        out.push({ text }, { token: ch === CLUSTER_NAME ? 'name' : 'namespace' });
        text = '';
      } else {
        text += ch;
      }
    }
    out.push({ text });
    return out;
  }
}
