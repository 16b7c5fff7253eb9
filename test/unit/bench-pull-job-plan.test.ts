import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { test } from 'node:test';
import { DEFAULT_INLINE_MAX_BYTES } from '../../schemas/event.ts';
import { planPullJob } from '../bench/pull-job-plan.ts';
import { fileContent, sha256 } from '../bench/tree-plan.ts';

const plan = (seed = 1) =>
  planPullJob({ seed, root: 'bench-pull', jobs: 2, filesPerJob: 1_000, movedInFiles: 200, stream: 7 });

test('a pull job: new dated directories of pages and images, then a directory moved in', () => {
  const p = plan();
  assert.equal(p.files.length, 2_200);
  assert.deepEqual(p.dirs, ['bench-pull/2026/11/01/0000-0', 'bench-pull/2026/11/02/0500-1']);
  const inJob = p.files.filter((f) => f.path.startsWith(`${p.dirs[0]}/`));
  assert.equal(inJob.length, 1_000);
  const staged = p.files.filter((f) => f.staged === true);
  assert.equal(staged.length, 200);
  assert.ok(staged.every((f) => f.path.startsWith(`${p.movedIn.target}/`)));
  assert.equal(
    new Set(staged.map((f) => f.path.split('/').at(-2))).size,
    2,
    'the moved-in directory has subdirectories',
  );
  assert.equal(p.movedIn.afterFiles, 1_000);
  assert.equal(new Set(p.files.map((f) => f.path)).size, p.files.length);
});

test('pages are 2–50 KB of markup that compresses, images 8–200 KB that does not; part goes through the store', () => {
  const p = plan();
  const pages = p.files.filter((f) => f.text === true);
  const images = p.files.filter((f) => f.text !== true);
  assert.ok(pages.length > 900 && images.length > 900, `${pages.length} pages, ${images.length} images`);
  assert.ok(pages.every((f) => f.path.endsWith('.html') && f.size >= 2_000 && f.size <= 50_000));
  assert.ok(images.every((f) => f.path.endsWith('.jpg') && f.size >= 8_000 && f.size <= 200_000));
  const viaStore = p.files.filter((f) => f.size > DEFAULT_INLINE_MAX_BYTES).length / p.files.length;
  assert.ok(viaStore > 0.4 && viaStore < 0.75, `share through the store ${viaStore}`);
  const page = fileContent(pages[0]!);
  const image = fileContent(images[0]!);
  assert.equal(page.length, pages[0]!.size);
  assert.match(page.toString(), /^<!doctype html>/);
  assert.ok(gzipSync(page).length < page.length * 0.4, 'a page compresses as markup does');
  assert.ok(gzipSync(image).length > image.length * 0.95, 'an image does not');
});

test('a pull job is deterministic, and its pages differ from each other', () => {
  const a = plan();
  assert.deepEqual(a, plan());
  assert.notDeepEqual(
    a.files.map((f) => f.size),
    plan(2).files.map((f) => f.size),
  );
  const pages = a.files.filter((f) => f.text === true).slice(0, 50);
  assert.equal(new Set(pages.map((f) => sha256(fileContent(f)))).size, 50);
  assert.deepEqual(fileContent(pages[3]!), fileContent(pages[3]!));
});
