// Reads back every table iotctl keeps, page by page, to find damage that queries would otherwise hide:
// a page that fails its checksum or header check, or a table file shorter than its index says it was.
import { IotctlError } from '../errors.js';
import { redact } from './redact.js';
import type { Db, Sql } from './types.js';

export interface DamagedRelation {
  relation: string;
  problem: string;
}

export interface VerifyResult {
  /** Whether the cluster has data page checksums (null: the server would not say). */
  checksums: boolean | null;
  relations: number;
  rows: number;
  damaged: DamagedRelation[];
  /** Relations left unread because the engine stopped during the check. */
  unchecked: number;
}

interface RelationRow {
  schema: string;
  name: string;
  has_index: boolean;
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * The tables to read. Embedded: every table of the database, catalogs included (the data directory is
 * iotctl's alone). Server: the iotctl schema and TimescaleDB's internal schemas (chunks, compressed
 * chunks, rollup materialisations) that this user may read; the server's own catalogs are its DBA's.
 */
export function relationsToVerify(wholeDatabase: boolean): Sql {
  const scope = wholeDatabase
    ? `n.nspname NOT LIKE 'pg\\_temp\\_%' AND n.nspname NOT LIKE 'pg\\_toast\\_temp\\_%'`
    : `(n.nspname = 'iotctl' OR n.nspname LIKE '\\_timescaledb\\_%'
        OR c.oid IN (SELECT t.reltoastrelid FROM pg_class t JOIN pg_namespace tn ON tn.oid = t.relnamespace
                     WHERE tn.nspname = 'iotctl' OR tn.nspname LIKE '\\_timescaledb\\_%'))
       AND has_table_privilege(c.oid, 'SELECT')`;
  return {
    text: `SELECT n.nspname AS schema, c.relname AS name,
       EXISTS (SELECT 1 FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_am am ON am.oid = ic.relam
               WHERE i.indrelid = c.oid AND i.indpred IS NULL AND i.indisvalid AND am.amname = 'btree') AS has_index
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'm', 't') AND c.relpersistence <> 't' AND ${scope}
 ORDER BY n.nspname <> 'iotctl', n.nspname, c.relname`,
    values: [],
  };
}

/**
 * Counts each table's rows twice: by reading every page of the table (each page's checksum, where the
 * cluster has them, and header are verified as it is read), and through one of its btree indexes. An
 * error is damage; so is a difference, which is what a table file cut short looks like (its index
 * still points into the missing pages, or counts the rows that were in them).
 */
export async function verifyRelations(db: Db, opts: { wholeDatabase: boolean }): Promise<VerifyResult> {
  const checksums = await db
    .query<{ data_checksums: string }>('SHOW data_checksums')
    .then((r) => r.rows[0]?.data_checksums === 'on')
    .catch(() => null);
  const { rows: relations } = await db.query<RelationRow>(relationsToVerify(opts.wholeDatabase));
  const result: VerifyResult = { checksums, relations: 0, rows: 0, damaged: [], unchecked: 0 };
  for (const [i, rel] of relations.entries()) {
    const name = `${rel.schema}.${rel.name}`;
    const from = `${quoteIdent(rel.schema)}.${quoteIdent(rel.name)}`;
    try {
      const counted = await db.transaction(async (tx) => {
        await tx.query('SET LOCAL enable_indexscan = off');
        await tx.query('SET LOCAL enable_indexonlyscan = off');
        await tx.query('SET LOCAL enable_bitmapscan = off');
        const heap = (await tx.query<{ n: number }>(`SELECT count(*)::bigint AS n FROM ONLY ${from}`)).rows[0]
          ?.n;
        if (!rel.has_index) return { heap: Number(heap), index: null };
        await tx.query('SET LOCAL enable_seqscan = off');
        await tx.query('SET LOCAL enable_indexonlyscan = on');
        await tx.query('SET LOCAL enable_indexscan = on');
        const index = (await tx.query<{ n: number }>(`SELECT count(*)::bigint AS n FROM ONLY ${from}`))
          .rows[0]?.n;
        return { heap: Number(heap), index: Number(index) };
      });
      result.relations++;
      result.rows += counted.heap;
      if (counted.index !== null && counted.index !== counted.heap) {
        result.damaged.push({
          relation: name,
          problem: `reading the table gives ${counted.heap} rows but its index has ${counted.index}: pages are missing from the table file`,
        });
      }
    } catch (err) {
      if (err instanceof IotctlError && ['DISK_FULL', 'CONNECTION', 'INTERRUPTED'].includes(err.code)) {
        throw err;
      }
      result.relations++;
      // PostgreSQL's own words (`invalid page in block 5 of relation base/1/16384`), not the wrapping.
      const cause = (err as { cause?: { message?: unknown } }).cause;
      const text = typeof cause?.message === 'string' ? cause.message : (err as Error).message;
      result.damaged.push({ relation: name, problem: redact(text, db.target) });
      // Some damage stops the embedded engine itself: nothing after it can be read in this run.
      const alive = await db.query('SELECT 1').then(
        () => true,
        () => false,
      );
      if (!alive) {
        result.unchecked = relations.length - i - 1;
        break;
      }
    }
  }
  return result;
}
