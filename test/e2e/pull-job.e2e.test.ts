// The pattern the project was built for: a pull job creates dated directories with
// mkdir -p, writes thousands of files into them, and moves finished directories in
// from a staging area outside the root. inotify alone misses much of this.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { waitForReplica } from '../helpers/converge.ts';
import { tempDir } from '../helpers/producer.ts';
import { startMirrorPair } from '../helpers/services.ts';
import { snapshotTree } from '../helpers/tree.ts';

test(
  'dated mkdir -p directories, thousands of files, finished directories moved in from staging',
  { timeout: 300_000 },
  async (t) => {
    const { source, replica, explain } = await startMirrorPair(t, 'pull');
    const staging = tempDir(t, 'staging');

    for (const day of ['23', '24', '25']) {
      const dated = path.join(source, 'news/2026/11', day, 'html');
      fs.mkdirSync(dated, { recursive: true });
      for (let i = 0; i < 1000; i++)
        fs.writeFileSync(path.join(dated, `article-${i}.html`), `<p>day ${day} article ${i}</p>`);
      const job = path.join(staging, `images-${day}`);
      for (const size of ['small', 'large']) {
        fs.mkdirSync(path.join(job, size), { recursive: true });
        for (let i = 0; i < 250; i++)
          fs.writeFileSync(path.join(job, size, `img-${i}.jpg`), `${size} image ${i} of ${day}`);
      }
      fs.renameSync(job, path.join(source, 'news/2026/11', day, 'images'));
      // The job keeps writing into what it moved in and into the dated directory.
      fs.writeFileSync(path.join(source, 'news/2026/11', day, 'images/large/late.jpg'), `late ${day}`);
      fs.writeFileSync(path.join(dated, 'index.html'), `index of ${day}`);
    }
    await waitForReplica(source, replica, 'the pull job', 180_000, explain);
    const tree = await snapshotTree(replica);
    assert.equal([...tree.values()].filter((e) => e.kind === 'file').length, 3 * (1000 + 500 + 2));
  },
);
