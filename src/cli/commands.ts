/** The list of subcommands; each lives in its own module and is added here. */
import { inspectPlyCommand } from './inspect-ply';
import { ingestCommand } from './ingest';
import { runCommand } from './run';
import { analyzeCommand } from './analyze';
import { exportCommand } from './export';
import { importCommand } from './import';
import { statusCommand } from './status';
import { doctorCommand } from './doctor';
import { rotateCommand } from './rotate';
import { storageCommand } from './storage';
import type { Command } from './command';

export const COMMANDS: Command[] = [runCommand, statusCommand, doctorCommand, ingestCommand, analyzeCommand, exportCommand, importCommand, rotateCommand, storageCommand, inspectPlyCommand];
