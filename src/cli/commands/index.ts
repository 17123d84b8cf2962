/** Every command of `pvl`; each module exports a function that registers it on the program. */
import type { Command } from 'commander';
import { registerServe } from './serve.js';

export type RegisterCommand = (program: Command) => void;

export const commands: RegisterCommand[] = [registerServe];
