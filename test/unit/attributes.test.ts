// Extended attributes and ACLs: what travels of what the kernel lists (attributes.ts), and
// making a real file carry exactly a record's set through its fd (attribute-io.ts).
import assert from 'node:assert/strict';
import { mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { MAX_XATTR_BYTES } from '../../schemas/entry-attributes.ts';
import { applyAttributes, carriedAttributesAt, fdPath } from '../../services/shared/attribute-io.ts';
import { attributesOf, attributesFromText, attributesText } from '../../services/shared/attributes.ts';
import { fsat } from '../../services/shared/native/fsat.ts';

const pair = (name: string | Buffer, value: string) => [Buffer.from(name), Buffer.from(value)] as const;
const b64 = (text: string) => Buffer.from(text).toString('base64');

test('what travels: carried namespaces with --xattrs, ACLs with --acls, other system.* never', () => {
  const listed = [
    pair('user.mime_type', 'text/html'),
    pair('trusted.origin', 'a'),
    pair('security.selinux', 'system_u:object_r:httpd_sys_content_t:s0'),
    pair('system.posix_acl_access', 'acl-bytes'),
    pair('system.posix_acl_default', 'default-bytes'),
    pair('system.nfs4_acl', 'never'),
    pair('user.', 'a namespace alone is no name'),
  ];
  const both = attributesOf(listed, { xattrs: true, acl: true });
  assert.deepEqual(both, {
    attributes: {
      xattrs: {
        'security.selinux': b64('system_u:object_r:httpd_sys_content_t:s0'),
        'trusted.origin': b64('a'),
        'user.mime_type': b64('text/html'),
      },
      acl: { access: b64('acl-bytes'), default: b64('default-bytes') },
    },
    dropped: [],
  });
  assert.deepEqual(attributesOf(listed, { xattrs: false, acl: true }).attributes, {
    acl: { access: b64('acl-bytes'), default: b64('default-bytes') },
  });
  assert.deepEqual(attributesOf([], { xattrs: true, acl: true }).attributes, { xattrs: {}, acl: {} }, 'none: empty');
});

test('a name that is not UTF-8 travels escaped; a set beyond the bound travels not at all', () => {
  const latin1 = attributesOf([pair(Buffer.from([0x75, 0x73, 0x65, 0x72, 0x2e, 0xe9]), 'x'), pair('user.a', 'y')], {
    xattrs: true,
    acl: false,
  });
  assert.deepEqual(latin1, { attributes: { xattrs: { 'user.a': b64('y'), 'user.\uEFE9': b64('x') } }, dropped: [] });
  const big = 'x'.repeat(MAX_XATTR_BYTES / 2);
  const tooLarge = attributesOf([pair('user.a', big), pair('user.b', big)], { xattrs: true, acl: true });
  assert.deepEqual(tooLarge, { attributes: { acl: {} }, dropped: ['too-large'] }, 'never a part of them');
});

test('the index text gives back exactly what was stored, and nothing for entries without attributes', () => {
  const attributes = { xattrs: { 'user.a': 'eA==' }, acl: { access: 'AgAAAA==' } };
  assert.deepEqual(attributesFromText(attributesText(attributes)), attributes);
  assert.deepEqual(attributesFromText(attributesText({ acl: {} })), { acl: {} });
  assert.equal(attributesText({}), null);
  assert.deepEqual(attributesFromText(null), {});
});

const dir = mkdtempSync(join(tmpdir(), 'mirrorlog-attributes-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('a replica file gets exactly the carried set: extra ones in carried namespaces go, others stay', () => {
  const file = join(dir, 'f');
  writeFileSync(file, 'x');
  fsat.setxattr(file, 'user.stale', Buffer.from('old'), 0);
  fsat.setxattr(file, 'user.keep', Buffer.from('old'), 0);
  const fd = openSync(file, 'r');
  const refused = applyAttributes(fd, { xattrs: { 'user.keep': b64('new'), 'user.added': b64('1') } });
  assert.deepEqual(refused, []);
  const names = (like: object) => carriedAttributesAt(fdPath(fd), 1, like);
  assert.deepEqual(names({ xattrs: {} }), { xattrs: { 'user.added': b64('1'), 'user.keep': b64('new') } });
  applyAttributes(fd, { acl: {} });
  assert.deepEqual(names({ xattrs: {} }).xattrs, { 'user.added': b64('1'), 'user.keep': b64('new') }, 'not carried');
  applyAttributes(fd, { xattrs: {} });
  assert.deepEqual(names({ xattrs: {} }), { xattrs: {} });
});
