// The watcher contract (test/helpers/watcher-contract.ts) against the fanotify backend.
import { watcherContract } from '../helpers/watcher-contract.ts';

watcherContract('fanotify');
