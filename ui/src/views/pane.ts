// What the main pane shows: the overview, the trash, a note or a record.
export interface Pane {
  el: HTMLElement;
  /** The document shown, or null. */
  docId: string | null;
  /** The document list was reloaded (a title or folder may have changed). */
  docsUpdated?(): void;
  /** Another device (or process) changed these documents. */
  docsChanged?(ids: readonly string[]): void;
  /** Saves what is pending and lets go of the document. */
  destroy(): Promise<void>;
}

/**
 * Whether a pane opened for typing (`OpenOptions.focus`) may take the focus now that it
 * is ready: while the focus is still where naming the document left it (the tree, or
 * nowhere), not once the user has gone on to something else (search, a dialog, the
 * title field).
 */
export function mayTakeFocus(): boolean {
  const at = document.activeElement;
  return at === null || at === document.body || at.closest('[role="tree"]') !== null;
}
