import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SHIPPED_NODE_FLAGS } from '../../bench/nodes';

/**
 * The server's node flags are set in three places that must agree: what `npm start` runs, what
 * the container runs, and what the bench measures as "the product".
 */
describe('the node flags the server ships with', () => {
  const root = join(__dirname, '..', '..');
  const expected = ['node', ...SHIPPED_NODE_FLAGS, 'dist/src/main.js'];

  it('npm start runs node with them', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.start.split(/\s+/)).toEqual(expected);
  });

  it("the Dockerfile's CMD runs node with them", () => {
    const cmd = /^CMD (\[.*\])$/m.exec(readFileSync(join(root, 'Dockerfile'), 'utf8'));
    expect(cmd && JSON.parse(cmd[1])).toEqual(expected);
  });
});
