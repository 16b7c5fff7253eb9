// Which trees keep their content under one store prefix. Content is deduplicated by
// hash, so trees sharing a prefix share objects; `mirrorlog gc` must account for every
// one of them before it deletes anything, or it deletes what another tree still needs.
// So every producer registers its topic under the prefix at start, as a small document
// beside the content (`<prefix>mirrorlog/trees/<topic>.json`), and gc reads every
// registered topic. Unregistering is an operator decision (`mirrorlog gc --unregister`).

/** Small documents beside the content, named relative to the store's prefix. */
export interface DocumentStore {
  putDocument(name: string, body: string): Promise<void>;
  getDocument(name: string): Promise<string | undefined>;
  removeDocument(name: string): Promise<void>;
  /** Names of the documents whose name starts with `under`. */
  listDocuments(under: string): AsyncIterable<string>;
}

export const DOCUMENTS_DIR = 'mirrorlog/';
const TREES = 'trees/';
const SUFFIX = '.json';

export type TreeRegistration = { v: 1; topic: string; source: string; host: string; root: string; at: number };

export function registrationName(topic: string): string {
  return `${TREES}${topic}${SUFFIX}`;
}

/** The topic a registration document names, or undefined for anything else. */
export function topicOfRegistration(name: string): string | undefined {
  if (!name.startsWith(TREES) || !name.endsWith(SUFFIX)) return undefined;
  const topic = name.slice(TREES.length, -SUFFIX.length);
  return /^[A-Za-z0-9._-]{1,249}$/.test(topic) ? topic : undefined;
}

export function isDocumentStore(store: object): store is DocumentStore {
  return (
    typeof (store as Partial<DocumentStore>).putDocument === 'function' &&
    typeof (store as Partial<DocumentStore>).listDocuments === 'function'
  );
}

export async function registerTree(store: DocumentStore, registration: TreeRegistration): Promise<void> {
  await store.putDocument(registrationName(registration.topic), JSON.stringify(registration));
}

/** Every topic registered under the store's prefix, sorted. */
export async function registeredTopics(store: DocumentStore): Promise<string[]> {
  const topics: string[] = [];
  for await (const name of store.listDocuments(TREES)) {
    const topic = topicOfRegistration(name);
    if (topic !== undefined) topics.push(topic);
  }
  return topics.sort();
}

export async function unregisterTree(store: DocumentStore, topic: string): Promise<void> {
  await store.removeDocument(registrationName(topic));
}
