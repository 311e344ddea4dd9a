// Runs the built bin/iotctl.js as a subprocess, keeping stdout, stderr and the exit code apart.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/iotctl.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runCli(
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; input?: string | Buffer; cwd?: string } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, ...opts.env };
    // Keep the developer's own database settings out of the tests.
    for (const k of ['IOTCTL_DATABASE_URL', 'DATABASE_URL', 'PGHOST', 'PGDATABASE', 'PGSERVICE']) {
      if (!opts.env || !(k in opts.env)) delete env[k];
    }
    const child = spawn(process.execPath, [BIN, ...args], { env, cwd: opts.cwd });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    if (opts.input !== undefined) child.stdin.end(opts.input);
    else child.stdin.end();
  });
}
