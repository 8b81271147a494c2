/**
 * read_committed for kafkajs consumers, as Kafka's Java consumer does it.
 *
 * A fetch response lists the aborted transactions that overlap the records it returns (producer
 * id and first offset). kafkajs 2.2.4 (`src/consumer/filterAbortedMessages.js`) takes that list in
 * the order the broker sends it, enters at most one transaction per record, and only once a
 * record's offset reaches the first listed transaction's first offset. The broker lists them in
 * the order they ended (its transaction index), not by first offset. So when transactions of
 * several producers interleave in a partition and end in another order, as when a restored Flink
 * job fences the open transactions of all its Kafka writers at once, records of aborted
 * transactions are handed to the application as if committed (and a producer entered after its
 * abort marker has its later committed records dropped).
 *
 * Kafka's Java consumer orders the list by first offset and, before each record batch, enters
 * every aborted transaction that starts at or before it; an abort marker ends its producer's.
 * `readCommittedFilter` does the same per record (a batch's records share its producer and
 * flags). Importing this module installs it as kafkajs's filter; it must be imported before
 * kafkajs is first loaded in the process (every module of this package that uses kafkajs imports
 * it first), and throws otherwise rather than leave the flawed filter in place.
 */
import * as path from 'path';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const NodeModule = require('module') as { new (id: string, parent?: NodeModule): NodeModule; _nodeModulePaths(dir: string): string[] };

/** A kafkajs record as its fetch decoder gives it (the fields the filter reads). */
export interface FetchedRecord {
  readonly offset: string;
  readonly key: Buffer | null;
  readonly isControlRecord?: boolean;
  readonly batchContext: { readonly producerId: string; readonly inTransaction: boolean };
}

/** An entry of a fetch response's aborted-transaction list. */
export interface AbortedTransaction {
  readonly producerId: string;
  readonly firstOffset: string;
}

/** A control record's key: version (int16) 0, type (int16) 0 = ABORT, 1 = COMMIT. */
const isAbortMarker = (r: FetchedRecord): boolean =>
  !!r.isControlRecord && !!r.key && r.key.length >= 4 && r.key.readInt16BE(0) === 0 && r.key.readInt16BE(2) === 0;

/**
 * The records a read_committed reader sees (control records are kept, as kafkajs's filter keeps
 * them for its caller to drop): `messages` in offset order, `abortedTransactions` in any order.
 */
export function readCommittedFilter<T extends FetchedRecord>({ messages, abortedTransactions }: { messages: T[]; abortedTransactions?: AbortedTransaction[] }): T[] {
  if (!abortedTransactions || abortedTransactions.length === 0) return messages;
  const pending = [...abortedTransactions].sort((a, b) => compareOffsets(a.firstOffset, b.firstOffset));
  const aborted = new Set<string>();
  return messages.filter((m) => {
    const producer = String(m.batchContext.producerId);
    while (pending.length && compareOffsets(pending[0].firstOffset, m.offset) <= 0) aborted.add(String(pending.shift()!.producerId));
    if (isAbortMarker(m)) {
      aborted.delete(producer);
      return true;
    }
    return !(m.batchContext.inTransaction && aborted.has(producer));
  });
}

/** Offsets are int64 decimal strings. */
function compareOffsets(a: string, b: string): number {
  const x = BigInt(a), y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** What kafkajs's own filter would have done differently, counted while this filter runs. */
export interface ReadCommittedStats {
  /** records of aborted transactions the stock filter would have delivered */
  stockDelivered: number;
  /** records of committed transactions (or none) the stock filter would have dropped */
  stockDropped: number;
}

let stats: ReadCommittedStats | undefined;

/** Starts counting, beside this filter, where kafkajs's own filter would differ (for diagnostics). */
export function compareWithStockFilter(): ReadCommittedStats {
  stats ??= { stockDelivered: 0, stockDropped: 0 };
  return stats;
}

/** Installs `readCommittedFilter` as kafkajs's (resolved from this package); idempotent. */
function installReadCommittedFilter(): void {
  const base = path.dirname(require.resolve('kafkajs/package.json'));
  const target = path.join(base, 'src', 'consumer', 'filterAbortedMessages.js');
  const current = require.cache[target];
  if (current && (current.exports as { readCommitted?: boolean }).readCommitted) return;
  if (require.cache[path.join(base, 'src', 'consumer', 'batch.js')]) {
    throw new Error('kafkajs was loaded before lib/ops/read-committed: its consumers would keep its own read_committed filter');
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const stock = require(target) as (a: { messages: FetchedRecord[]; abortedTransactions?: AbortedTransaction[] }) => FetchedRecord[];
  const filter = (a: { messages: FetchedRecord[]; abortedTransactions?: AbortedTransaction[] }): FetchedRecord[] => {
    const kept = readCommittedFilter(a);
    if (stats) {
      const ours = new Set(kept.filter((m) => !m.isControlRecord).map((m) => m.offset));
      const theirs = new Set(stock(a).filter((m) => !m.isControlRecord).map((m) => m.offset));
      for (const o of theirs) if (!ours.has(o)) stats.stockDelivered++;
      for (const o of ours) if (!theirs.has(o)) stats.stockDropped++;
    }
    return kept;
  };
  const m = new NodeModule(target, module);
  m.filename = target;
  m.paths = NodeModule._nodeModulePaths(path.dirname(target));
  m.exports = Object.assign(filter, { readCommitted: true });
  m.loaded = true;
  require.cache[target] = m;
}

installReadCommittedFilter();
