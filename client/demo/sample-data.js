// Sample localStorage for the demo: deterministic, `typical`-shaped, with secrets the server must vault.

function rng(seed) { // mulberry32: small, deterministic
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = ("agent tenant cosmos partition migrate backup vault secret chat session message model prompt tool " +
  "server context latency retry budget invoice customer ticket refund summary draft review deploy").split(" ");

/** A `typical`-shaped localStorage dump (smaller), modelled on bench/fixtures/generate.py. */
export function sampleData(tenant, seed = 1) {
  const r = rng(seed);
  const pick = (a) => a[Math.floor(r() * a.length)];
  const words = (n) => Array.from({ length: n }, () => pick(WORDS)).join(" ");
  const hex = (n) => Array.from({ length: n }, () => Math.floor(r() * 16).toString(16)).join("");
  const uid = (prefix) => `${prefix}_${hex(12)}`;
  const secret = (prefix) => prefix + Array.from({ length: 40 }, () => pick("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789".split(""))).join("");
  const providers = [["openai", "gpt-4o", null], ["azure-openai", "gpt-4o-mini", `https://${tenant}-aoai.openai.azure.com/`],
    ["anthropic", "claude-sonnet-4", null]];
  const llms = providers.map(([provider, model, endpoint], i) => {
    const cfg = { id: uid("llm"), name: `${provider} ${model}`, provider, model, temperature: Math.round(r() * 120) / 100,
      maxTokens: pick([1024, 4096, 8192]), isDefault: i === 0, apiKey: secret(provider === "anthropic" ? "sk-ant-" : "sk-") };
    if (endpoint) Object.assign(cfg, { endpoint, apiVersion: "2024-10-21", deploymentName: `${model}-prod` });
    return cfg;
  });
  const mcps = [0, 1, 2, 3].map((i) => i % 2 === 0
    ? { id: uid("mcp"), name: `github-${i}`, transport: "stdio", command: "npx", args: ["-y", "@modelcontextprotocol/server-github"],
        env: { GITHUB_PERSONAL_ACCESS_TOKEN: secret("ghp_") }, enabled: true }
    : { id: uid("mcp"), name: `search-${i}`, transport: "streamable-http", url: `https://mcp${i}.example.com/mcp`,
        headers: { Authorization: "Bearer " + secret("tok_") }, enabled: r() < 0.8 });
  const agents = Array.from({ length: 8 }, (_, i) => ({
    id: uid("agent"), name: `${words(2).replace(/\b\w/g, (c) => c.toUpperCase())} Agent`, description: words(12),
    systemPrompt: words(40 + Math.floor(r() * 80)), llmConfigId: pick(llms).id, temperature: Math.round(r() * 100) / 100,
    tools: ["web_search", "file_search"], mcpServerIds: [mcps[0].id, mcps[1].id],
    createdAt: new Date(Date.UTC(2025, 0, 1) + Math.floor(r() * 600) * 86400000).toISOString(), isDefault: i === 0,
  }));
  const chat = (n) => {
    let t = Date.UTC(2025, 5, 1) + Math.floor(r() * 500000) * 60000;
    const agent = pick(agents).id;
    return Array.from({ length: n }, (_, i) => {
      t += (5 + Math.floor(r() * 600)) * 1000;
      const role = i % 2 === 0 ? "user" : "assistant";
      const msg = { id: uid("msg"), role, content: words(5 + Math.floor(r() * 30)), timestamp: t };
      if (role === "assistant") msg.agentId = agent;
      return msg;
    });
  };
  const ls = {
    [`ai_agents_${tenant}`]: JSON.stringify(agents),
    [`user_llm_configs_${tenant}`]: JSON.stringify(llms),
    [`tenant_mcp_servers_${tenant}`]: JSON.stringify(mcps),
    theme: "dark",
    [`ui_preferences_${tenant}`]: JSON.stringify({ sidebarCollapsed: false, fontSize: 14, language: "en-GB", codeTheme: "github-dark" }),
    [`notification_preferences_${tenant}`]: JSON.stringify({ email: true, push: false, digest: "weekly" }),
    [`privacy_settings_${tenant}`]: JSON.stringify({ shareUsage: false, retainHistoryDays: 365 }),
    [`advanced_settings_${tenant}`]: JSON.stringify({ streaming: true, debug: false }),
    current_tenant_id: tenant,
    auth_token: "eyJhbGciOiJSUzI1NiJ9." + secret("") + "." + secret(""),
  };
  for (let i = 0; i < 6; i++) ls[`chat_session_${uid("sess")}`] = JSON.stringify(chat(4 + Math.floor(r() * 12)));
  ls[`chat_session_${tenant}_global`] = JSON.stringify(chat(6));
  return ls;
}
