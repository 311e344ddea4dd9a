// `iotctl check`: reads every table back to find a damaged data directory (exit 5), instead of queries
// quietly answering from what is left of it.
import type { Command } from 'commander';
import { verifyRelations, type DamagedRelation } from '../db/verify.js';
import type { Db } from '../db/types.js';
import { IotctlError } from '../errors.js';
import { printLine, printRows, renderJson, writeOut } from '../output/render.js';
import { examples, globalOptions, withDb } from './common.js';

export interface CheckResult {
  target: string;
  targetKind: 'server' | 'embedded';
  checksums: boolean | null;
  relations: number;
  rows: number;
  damaged: DamagedRelation[];
  unchecked: number;
  healthy: boolean;
  seconds: number;
}

export async function check(db: Db): Promise<CheckResult> {
  const started = performance.now();
  const v = await verifyRelations(db, { wholeDatabase: db.target.kind === 'embedded' });
  return {
    target: db.target.display,
    targetKind: db.target.kind,
    checksums: v.checksums,
    relations: v.relations,
    rows: v.rows,
    damaged: v.damaged,
    unchecked: v.unchecked,
    healthy: v.damaged.length === 0 && v.unchecked === 0,
    seconds: Math.round(performance.now() - started) / 1000,
  };
}

/** A data directory too damaged to open is the check's finding, not a failure to check. */
function unopenable(target: string, err: IotctlError): CheckResult {
  return {
    target,
    targetKind: 'embedded',
    checksums: null,
    relations: 0,
    rows: 0,
    damaged: [{ relation: '(data directory)', problem: err.message }],
    unchecked: 0,
    healthy: false,
    seconds: 0,
  };
}

export function registerCheck(program: Command): void {
  const cmd = program
    .command('check')
    .description('read every table back and report damage (exit 5 when any is found)')
    .action(async (_o, command: Command) => {
      const g = globalOptions(command);
      let result: CheckResult;
      try {
        result = await withDb(g, (db) => check(db));
      } catch (err) {
        if (!(err instanceof IotctlError && err.code === 'DAMAGED' && g.target?.kind === 'embedded'))
          throw err;
        result = unopenable(g.target.display, err);
      }
      if (g.format === 'json') await writeOut(renderJson(result));
      else if (g.format === 'csv') {
        await printRows('csv', result.damaged, [{ key: 'relation' }, { key: 'problem' }]);
      } else {
        const checksums =
          result.checksums === null ? '' : `; data checksums ${result.checksums ? 'on' : 'off'}`;
        await printLine(
          `checked ${result.relations} tables (${result.rows} rows) of ${result.target} in ${result.seconds} s${checksums}`,
        );
        for (const d of result.damaged) await printLine(`damaged: ${d.relation}: ${d.problem}`);
        if (result.unchecked) await printLine(`not checked: ${result.unchecked} tables (the engine stopped)`);
        if (result.healthy) await printLine('no damage found');
      }
      if (!result.healthy) process.exitCode = new IotctlError('CHECK_FAILED', 'damaged').exitCode;
    });
  examples(cmd, ['iotctl check', 'iotctl check --db /var/lib/iotctl --json', 'iotctl check || alert']);
}
