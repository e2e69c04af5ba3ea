// The app's one state object. What the page shows is drawn from it; nothing is
// read back from the DOM (the image count is the gallery's records, not its nodes).
export const state = {
  config: null, // GET /client-config: this stage's rules
  session: null, // {mode, user, token, admin}
  filters: { q: "", tag: "", status: "", owner: "", order: "newest" },
  gallery: {
    records: new Map(), // image_id -> the record its tile shows
    nextToken: null,
    loading: false,
    generation: 0, // bumps when the list restarts, so late pages of an old list are dropped
  },
  uploads: { queue: [], sending: 0 }, // files waiting for their turn, and how many are on their way
  selection: { ids: new Set(), anchor: null }, // the tiles selected, and where a shift-click's range starts
  errors: new Map(), // each banner's words -> {count, words (its text node)}
  detail: { current: null, opener: null }, // the record open in the detail view, and what opened it
};
