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
