/** The list of subcommands; each lives in its own module and is added here. */
export interface Command {
  name: string;
  summary: string;
  help: string;
  run(args: string[]): Promise<number>;
}

export const COMMANDS: Command[] = [];
