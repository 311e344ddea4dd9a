// Readings for the maintenance and stats suites, inserted with SQL so they do not depend on ingest.
import type { Db } from '../../src/db/types.js';

/** 3 series, one reading every `step` for the last `days` days, on whole steps (written with SQL, not via ingest). */
/** Readings of three series every `step` for `days` back from now, from the start of that hour (or day). */
export async function seedReadings(
  db: Db,
  days = 40,
  step = '2 hours',
  from: 'hour' | 'day' = 'hour',
): Promise<void> {
  await db.query(
    `INSERT INTO iotctl.series (device_id, metric, unit) VALUES ('d1','temp','C'), ('d2','temp','C'), ('d3','rh','%')`,
  );
  await db.query(
    `INSERT INTO iotctl.points (time, series_id, value)
     SELECT t, s.id, 20 + s.id + (extract(epoch FROM t) / 3600)::int % 7
       FROM generate_series(date_trunc($3, now()) - $1::interval, now(), $2::interval) t, iotctl.series s`,
    [`${days} days`, step, from],
  );
}
