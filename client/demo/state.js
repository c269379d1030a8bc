// The page's one state object (published as window.migrationDemo for tests) and its query parameters.

export const params = new URLSearchParams(location.search);

export const demo = {
  client: null,
  config: { api: params.get("api") || "", token: params.get("token") || "" },
  events: [],
  lastResult: null,
  lastCleanup: null,
  lastError: null,
  lastPlan: null,
  pendingConfirm: null,
};
