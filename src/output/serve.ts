// What `iotctl serve` prints once it listens: how to connect (stdout), or the same as one JSON object.
import { printLine, renderJson, writeOut, type Format } from './render.js';

export interface ServeAddress {
  url: string;
  dataDir: string;
  /** The socket directory inside (or for) the data directory that other iotctl commands use. */
  socket: string | null;
  maintainEvery: string | null;
}

export async function printServeAddress(g: { format: Format }, a: ServeAddress): Promise<void> {
  if (g.format === 'json') {
    await writeOut(renderJson(a));
    return;
  }
  if (g.format === 'csv') {
    await printLine(`url,${a.url}`);
    return;
  }
  await printLine(`serving ${a.dataDir}`);
  await printLine(`  psql "${a.url}"`);
  if (a.socket)
    await printLine(`  psql -h ${a.socket}    (iotctl commands on ${a.dataDir} also go through here)`);
  const maintenance = a.maintainEvery ? `maintain runs every ${a.maintainEvery}; ` : '';
  await printLine(`${maintenance}stop with Ctrl-C or SIGTERM`);
}
