// Columns added to a table after its first release: an index written by an older
// mirrorlog gets them (NULL) on open, so no migration step is left to the operator.
import type Database from 'better-sqlite3';

export function addMissingColumns(db: Database.Database, table: string, columns: Record<string, string>): void {
  const have = new Set(
    db
      .prepare<[], { name: string }>(`PRAGMA table_info(${table})`)
      .all()
      .map((c) => c.name),
  );
  for (const [name, type] of Object.entries(columns)) {
    if (!have.has(name)) db.exec(`ALTER TABLE ${table} ADD COLUMN ${name} ${type}`);
  }
}
