// What the page shows now: one object, read by every view and changed
// only by the actions in main.js and the views' own event handlers.

export const state = {
  lang: 'en',
  capture: null, // the wasm Capture, for bytes
  memory: null, // the core's WebAssembly memory (its size: the most it ever held)
  captureBytes: null, // the capture's file, to decode again with a key log
  keylog: new Uint8Array(), // the TLS key log given (empty: none)
  keylogConversations: 0,
  transcript: null, // its JSON, parsed
  conn: 0, // selected conversation
  msg: null, // selected message index
  field: null, // selected field index
  expanded: new Set(), // folds opened in the ladder, by their first frame
  found: new Set(), // frames a finding pointed to, highlighted
  pasted: false, // whether typed bytes were decoded (drawn again on a language switch)
  error: null, // { key, args } of the sentence shown
  openedAt: null,
};
