import { api, FormFailed } from "./api";

/** A saved search as `/apiv2/savedsearches` shows it. */
export interface SavedSearchView {
  id: string;
  name: string;
  query: string;
  from: string;
  until: string;
  createdAt: number;
  updatedAt: number;
  /** The alerts built on it. */
  alerts: { id: string; name: string }[];
}

export interface SavedSearchDraft {
  name: string;
  query: string;
  from: string;
  until: string;
}

export async function listSavedSearches(signal?: AbortSignal): Promise<SavedSearchView[]> {
  return (await api<{ savedsearches: SavedSearchView[] }>("/apiv2/savedsearches", { signal })).savedsearches;
}

/** Creates (no id) or changes a saved search; rejects with the field errors the server gave. */
export async function saveSearch(draft: SavedSearchDraft, id?: string): Promise<SavedSearchView> {
  try {
    const path = id ? `/apiv2/savedsearches/${encodeURIComponent(id)}` : "/apiv2/savedsearches";
    return (await api<{ savedsearch: SavedSearchView }>(path, { method: id ? "PUT" : "POST", json: draft })).savedsearch;
  } catch (err) {
    throw new FormFailed(err);
  }
}
