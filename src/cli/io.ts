/** What the commands need from outside, injected so tests control the clock and capture output. */
export interface CliIo {
  now: () => number;
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  /** Whether stderr is a terminal (progress is shown only then). */
  stderrIsTty: boolean;
  threads?: number;
}

export const processIo: CliIo = {
  now: () => Date.now(),
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
  stderrIsTty: Boolean(process.stderr.isTTY),
};
