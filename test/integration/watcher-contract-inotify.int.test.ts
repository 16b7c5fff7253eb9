// The watcher contract (test/helpers/watcher-contract.ts) against the inotify backend.
import { watcherContract } from '../helpers/watcher-contract.ts';

watcherContract('inotify');
