// Bucket arithmetic shared by the rollup refresh and the query planner, with the same origin as the SQL
// (time_bucket's default, and the origin bucketExpr gives date_bin): Monday 2000-01-03 00:00 UTC.

export const BUCKET_ORIGIN_MS = Date.UTC(2000, 0, 3);
export const BUCKET_ORIGIN_SQL = "TIMESTAMPTZ '2000-01-03 00:00:00+00'";

export const floorToBucket = (ms: number, bucketMs: number): number =>
  BUCKET_ORIGIN_MS + Math.floor((ms - BUCKET_ORIGIN_MS) / bucketMs) * bucketMs;

export const ceilToBucket = (ms: number, bucketMs: number): number =>
  BUCKET_ORIGIN_MS + Math.ceil((ms - BUCKET_ORIGIN_MS) / bucketMs) * bucketMs;
