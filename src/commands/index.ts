// The one list of commands the CLI registers, in the order `iotctl --help` shows them.
import type { Command } from 'commander';
import { registerInit } from './init.js';
import { registerStatus } from './status.js';

export const commands: Array<(program: Command) => void> = [registerInit, registerStatus];
