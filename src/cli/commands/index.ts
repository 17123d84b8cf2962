/** Every command of `pvl`; each module exports a function that registers it on the program. */
import type { Command } from 'commander';
import { registerKeygen } from './keygen.js';
import { registerWork } from './work.js';
import { registerCreator } from './creator.js';
import { registerConsent } from './consent.js';
import { registerVerify } from './verify.js';
import { registerUse } from './use.js';
import { registerModel } from './model.js';
import { registerWatch } from './watch.js';
import { registerAudit } from './audit.js';
import { registerServe } from './serve.js';
import { registerReindex } from './reindex.js';
import { registerWitness } from './witness.js';
import { registerDemo } from './demo.js';
import { registerReceipts } from './receipts.js';
import { registerDelegate } from './delegate.js';
import { registerRuling } from './ruling.js';
import { registerAttest } from './attest.js';

export type RegisterCommand = (program: Command) => void;

export const commands: RegisterCommand[] = [registerKeygen, registerWork, registerCreator, registerConsent, registerVerify, registerUse, registerModel, registerWatch, registerAudit, registerServe, registerReindex, registerWitness, registerDemo, registerReceipts, registerDelegate, registerRuling, registerAttest];
