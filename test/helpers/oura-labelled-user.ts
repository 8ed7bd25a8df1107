import { ensureParticipantOp, linkAccountOp } from '../../src/store/participants.js';
import type { Op } from '../../src/store/sql.js';
import { runOp } from './engine.js';
import type { IssuedTokens, OuraFake } from './oura-fake.js';
import { seedOuraUser } from './oura-user.js';

/**
 * seedOuraUser, with its label (participant and account link) written through the store
 * operations, so the same on SQLite and on PostgreSQL.
 */
export async function seedLabelledOuraUser(fake: OuraFake, options: Parameters<typeof seedOuraUser>[1]): Promise<IssuedTokens> {
  const tokens = await seedOuraUser(fake, options);
  if (options.label) await runOp(options.dbPath, linkLabelOp, options.userId, options.label);
  return tokens;
}

function* linkLabelOp(userId: string, label: string): Op<void> {
  yield* ensureParticipantOp(label);
  yield* linkAccountOp({ provider: 'oura', userId, label });
}
