import { UsageError } from '../errors.js';

/** Commands whose issue is still open: the help is already the map, running them says so. */
export function notImplemented(what: string): never {
  throw new UsageError(`\`wearhook ${what}\` is not implemented yet.`);
}
