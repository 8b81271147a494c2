/**
 * Integer arithmetic written once and computed the same way on both sides: evaluated in
 * TypeScript (BigInt) and rendered as a Go template expression over sprig's int64 functions
 * (`add`, `sub`, `mul`, `div`, `mod`, `min`, `max`). Division truncates toward zero and `mod`
 * keeps the dividend's sign on both sides, as Go's `/` and `%` do. A named part renders as a
 * template variable assigned once before the expression that uses it.
 */
export type IntExpr =
  | { readonly kind: 'literal'; readonly value: bigint }
  | { readonly kind: 'input'; readonly name: string }
  | { readonly kind: 'op'; readonly op: IntOp; readonly args: readonly IntExpr[] }
  | { readonly kind: 'named'; readonly name: string; readonly expr: IntExpr };

type IntOp = 'add' | 'sub' | 'mul' | 'div' | 'mod' | 'min' | 'max';

type Operand = IntExpr | number;

const lift = (x: Operand): IntExpr => (typeof x === 'number' ? { kind: 'literal', value: BigInt(x) } : x);
// sprig's add, mul, min and max take any number of arguments; sub, div and mod two.
const many = (o: IntOp) => (...args: Operand[]): IntExpr => ({ kind: 'op', op: o, args: args.map(lift) });
const two = (o: IntOp) => (a: Operand, b: Operand): IntExpr => ({ kind: 'op', op: o, args: [lift(a), lift(b)] });

/** A value given at evaluation: a number in TypeScript, a Go expression in the template. */
export const input = (name: string): IntExpr => ({ kind: 'input', name });
export const add = many('add');
export const sub = two('sub');
export const mul = many('mul');
/** Quotient truncated toward zero. */
export const div = two('div');
export const mod = two('mod');
export const min = many('min');
export const max = many('max');
/** `expr` computed once: the template variable `$<name>`. */
export const named = (name: string, expr: IntExpr): IntExpr => ({ kind: 'named', name, expr });
/** `lo <= x <= hi`, clamped. */
export const clamp = (x: Operand, lo: number, hi: number): IntExpr => min(hi, max(lo, x));

const APPLY: Record<IntOp, (a: bigint, b: bigint) => bigint> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  mod: (a, b) => a % b,
  min: (a, b) => (a < b ? a : b),
  max: (a, b) => (a > b ? a : b),
};

/** The value in TypeScript; every input must be an integer. */
export function evaluate(e: IntExpr, inputs: Record<string, number>): number {
  return compile(e)(inputs);
}

/**
 * `e` as a TypeScript function, for evaluating one expression many times: in doubles while every
 * intermediate is a safe integer (where they are exact), else again in BigInt.
 */
export function compile(e: IntExpr): (inputs: Record<string, number>) => number {
  const fast = build(e, NUMBER);
  const exact = build(e, BIG);
  return (inputs) => {
    for (const [k, v] of Object.entries(inputs)) {
      if (!Number.isInteger(v)) throw new Error(`integer expression: input ${k} is ${v}; expected an integer`);
    }
    const n = fast(inputs, []);
    return n !== undefined ? n : Number(exact(inputs, []));
  };
}

interface Arith<T> {
  readonly of: (n: number | bigint) => T;
  readonly apply: Record<IntOp, (a: T, b: T) => T>;
}

/** In doubles; undefined once an intermediate leaves the safe integers. */
const NUMBER: Arith<number | undefined> = (() => {
  const safe = (f: (a: number, b: number) => number) => (a: number | undefined, b: number | undefined) => {
    if (a === undefined || b === undefined) return undefined;
    const r = f(a, b);
    return Number.isSafeInteger(r) ? r : undefined;
  };
  return {
    of: (n) => (typeof n === 'bigint' && (n > BigInt(Number.MAX_SAFE_INTEGER) || n < BigInt(Number.MIN_SAFE_INTEGER)) ? undefined : Number(n)),
    apply: {
      add: safe((a, b) => a + b), sub: safe((a, b) => a - b), mul: safe((a, b) => a * b),
      // Both operands are safe integers: the remainder is exact, and so the quotient from it.
      div: safe((a, b) => (a - (a % b)) / b), mod: safe((a, b) => a % b),
      min: safe(Math.min), max: safe(Math.max),
    },
  };
})();

const BIG: Arith<bigint> = { of: (n) => BigInt(n), apply: APPLY };

type Compiled<T> = (inputs: Record<string, number>, memo: T[]) => T;

function build<T>(e: IntExpr, arith: Arith<T>): Compiled<T> {
  let slots = 0;
  const go = (x: IntExpr): Compiled<T> => {
    switch (x.kind) {
      case 'literal': {
        const v = arith.of(x.value);
        return () => v;
      }
      case 'input': return (inputs) => arith.of(inputs[x.name]);
      case 'named': {
        const slot = slots++;
        const inner = go(x.expr);
        return (inputs, memo) => (slot in memo ? memo[slot] : (memo[slot] = inner(inputs, memo)));
      }
      default: {
        const [first, ...rest] = x.args.map(go);
        const apply = arith.apply[x.op];
        return (inputs, memo) => {
          let acc = first(inputs, memo);
          for (const a of rest) acc = apply(acc, a(inputs, memo));
          return acc;
        };
      }
    }
  };
  return go(e);
}

/**
 * The Go template expression, with the assignments of its named parts (`{{- $name := ... }}`
 * lines, each before its first use) to place before it; `inputs` gives each input's Go expression.
 */
export function goExpression(e: IntExpr, inputs: Record<string, string>): { assignments: string; expr: string } {
  const assigned = new Set<string>();
  const lines: string[] = [];
  const go = (x: IntExpr): string => {
    switch (x.kind) {
      case 'literal': return x.value.toString();
      case 'input': {
        const v = inputs[x.name];
        if (v === undefined) throw new Error(`integer expression: no Go expression for input ${x.name}`);
        return `(${v})`;
      }
      case 'named': {
        if (!assigned.has(x.name)) {
          const text = go(x.expr);
          assigned.add(x.name);
          lines.push(`{{- $${x.name} := ${text} }}\n`);
        }
        return `$${x.name}`;
      }
      default: return `(${x.op} ${x.args.map(go).join(' ')})`;
    }
  };
  const expr = go(e);
  return { assignments: lines.join(''), expr };
}

/**
 * floor(x * fraction) for x >= 0 (truncated toward zero below), the fraction read to 9 decimal
 * places as a reduced ratio num/den, split so that no product leaves int64: x*num/den =
 * (x / den) * num + ((x % den) * num) / den, with (x % den) * num < den^2 <= 10^18.
 */
export function timesFraction(x: IntExpr, fraction: number): IntExpr {
  if (!(fraction >= 0 && fraction <= 1)) throw new Error(`integer expression: fraction ${fraction}; expected 0 to 1`);
  const scaled = BigInt(Math.round(fraction * 1e9));
  if (scaled === 0n) return lift(0);
  let [a, b] = [scaled, 1_000_000_000n];
  while (b !== 0n) [a, b] = [b, a % b];
  const [num, den] = [scaled / a, 1_000_000_000n / a];
  if (num === den) return x;
  if (num === 1n) return div(x, Number(den));
  return add(mul(div(x, Number(den)), Number(num)), div(mul(mod(x, Number(den)), Number(num)), Number(den)));
}
