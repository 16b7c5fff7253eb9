/** The backend cannot run here; `reason` says why (auto falls back, an explicit choice exits). */
export class WatcherUnavailableError extends Error {}
