/** `run --log-format`: checked before anything starts (issue 14). */
import { runCommand } from '../../src/cli/run';
import { UsageError } from '../../src/cli/command';

describe('run --log-format', () => {
  it('refuses a format it does not know, naming the two it does', async () => {
    await expect(runCommand.run(['--log-format', 'pretty'])).rejects.toThrow(UsageError);
    await expect(runCommand.run(['--log-format', 'pretty'])).rejects.toThrow(/human or json/);
  });

  it('is documented in the help', () => {
    expect(runCommand.help).toMatch(/--log-format human\|json/);
  });
});
