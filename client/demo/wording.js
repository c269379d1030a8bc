// What the modal says: family labels and the sentences of a merge preview. Pure: no DOM, no state.

export const FAMILY_LABELS = [
  ["agents", "AI agent configuration", "AI agent configurations"],
  ["llm_configs", "LLM provider configuration (keys go to secure storage)", "LLM provider configurations (keys go to secure storage)"],
  ["mcp_servers", "MCP server configuration", "MCP server configurations"],
  ["chat_sessions", "chat session", "chat sessions"],
  ["chat_messages", "chat message", "chat messages"],
  ["preferences", "preference and theme setting", "preference and theme settings"],
];

// Display names of the server's merge families (the families themselves are the server's business).
export const FAMILY_NAMES = { chat_sessions: ["chat session", "chat sessions"], agents: ["agent", "agents"],
  llm_configs: ["LLM configuration", "LLM configurations"], mcp_servers: ["MCP server", "MCP servers"],
  preferences: ["preference", "preferences"], unknown: ["other item", "other items"] };

const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;

/** "25 chat sessions and 3 agents" from {family: count}; "" when all are 0. */
export function familyPhrase(counts) {
  const parts = Object.keys(FAMILY_NAMES).filter((f) => (counts[f] || 0) > 0)
    .map((f) => plural(counts[f], ...FAMILY_NAMES[f]));
  const extra = Object.keys(counts).filter((f) => !FAMILY_NAMES[f] && counts[f] > 0)
    .map((f) => plural(counts[f], `${f} item`, `${f} items`));
  const all = [...parts, ...extra];
  return all.length <= 1 ? all.join("") : `${all.slice(0, -1).join(", ")} and ${all[all.length - 1]}`;
}

const sumOf = (counts) => Object.values(counts).reduce((a, b) => a + (b || 0), 0);

/** What a merge preview says this browser would add to the migrated account. */
export function describeAdditions(plan) {
  const stored = plan.stored || { counts: {}, keys: [] };
  const merge = plan.merge;
  const sentences = [];
  if (merge && merge.by_family) {
    const pick = (field) => Object.fromEntries(Object.entries(merge.by_family).map(([f, c]) => [f, c[field] || 0]));
    const added = pick("added"), updated = pick("updated");
    if (sumOf(added)) sentences.push(`This browser has ${familyPhrase(added)} that ${sumOf(added) === 1 ? "is" : "are"} not in your account yet.`);
    if (sumOf(updated)) sentences.push(`It also has newer versions of ${familyPhrase(updated)} (edited or continued here).`);
    if (merge.conflicts) sentences.push(`${plural(merge.conflicts, "item differs", "items differ")} from what another browser stored: both versions will be kept.`);
  } else {
    const c = stored.counts;
    if (c.new) sentences.push(`This browser has ${plural(c.new, "key", "keys")} that ${c.new === 1 ? "is" : "are"} not in your account yet.`);
    if (c.changed) sentences.push(`${plural(c.changed, "key holds", "keys hold")} additions or newer versions.`);
    if (c.conflict) sentences.push(`${plural(c.conflict, "key differs", "keys differ")} from what another browser stored: both versions will be kept.`);
  }
  return sentences.join(" ") || "Everything in this browser is already in your account.";
}

/** A stored key's state as the merge preview lists it. */
export const STATE_TEXT = { new: "not in your account yet", changed: "adds or updates items", conflict: "differs from another browser's version" };

/** What the storage panel says of a key `collect()` keeps back. */
export const EXCLUDED_TEXT = { auth_token: "never sent (credential)", client_marker: "client marker", excluded: "not sent (excluded)" };
