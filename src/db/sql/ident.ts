// Identifier and literal helpers: every name that reaches SQL text passes through here.
import { usageError } from '../../errors.js';

export const SCHEMA = 'iotctl';
const identRe = /^[a-z_][a-z0-9_]*$/;

/** Validates a name against ^[a-z_][a-z0-9_]*$ (it then needs no quoting) and returns it. */
export function ident(name: string): string {
  if (!identRe.test(name)) throw usageError(`invalid SQL identifier '${name}'`);
  return name;
}

export function qualified(name: string): string {
  return `${SCHEMA}.${ident(name)}`;
}

/** A string literal for the few DDL places that cannot take parameters (interval options, policy arguments). */
export function literal(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}
