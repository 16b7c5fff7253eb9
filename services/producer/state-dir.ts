// An index describes what was published to one topic by one source. Reusing a state
// directory with another topic or source would make the producer believe content is
// published where it is not, so that is refused.
import { CliError } from '../shared/errors.ts';
import { META_KEY } from '../../schemas/names.ts';
import type { SourceIndex } from './ports/source-index.ts';

export function checkIndexOwner(index: SourceIndex, owner: { topic: string; source: string; root: string }): void {
  for (const key of ['topic', 'source'] as const) {
    const recorded = index.getMeta(META_KEY[key]);
    if (recorded !== undefined && recorded !== owner[key]) {
      throw new CliError(
        `the state directory holds the index of ${key} '${recorded}', not '${owner[key]}': ` +
          `use another --state-dir (or the matching --${key})`,
      );
    }
  }
  index.transaction(() => {
    index.setMeta(META_KEY.topic, owner.topic);
    index.setMeta(META_KEY.source, owner.source);
    index.setMeta(META_KEY.root, owner.root);
  });
}
