// The maintenance lock: maintain, `jobs run`, `rollup refresh`, `retention run` and `compress run/undo` take it,
// so a manual run never overlaps cron's maintain (which could deadlock or do the work twice).
import { MAINTENANCE_LOCK_KEY } from '../db/sql/maintenance.js';
import type { Db } from '../db/types.js';
import { IotctlError } from '../errors.js';

/** Runs fn holding the maintenance lock; BUSY (exit 6) at once when another iotctl holds it. */
export async function withMaintenanceLock<T>(db: Db, what: string, fn: () => Promise<T>): Promise<T> {
  const lock = await db.tryAdvisoryLock(MAINTENANCE_LOCK_KEY);
  if (!lock) {
    throw new IotctlError('BUSY', `another iotctl maintain is running on ${db.target.display}`, {
      hint: `(or a manual jobs run, rollup refresh, retention run or compress): ${what} did nothing; the next cron run catches up`,
    });
  }
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}
