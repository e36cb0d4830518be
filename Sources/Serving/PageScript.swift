/// The page's script: calls /v1/translate, /v1/attention and /v1/walkthrough and draws what they
/// return. Plain DOM code, no library.
enum PageScript {
    static let javascript = #"""
    "use strict";
    const $ = (id) => document.getElementById(id);
    const state = { sentences: [], attention: null, active: -1 };

    async function api(path, body) {
      const response = await fetch(path, { method: body ? "POST" : "GET", headers: { "Content-Type": "application/json" },
                                           body: body ? JSON.stringify(body) : undefined });
      const data = await response.json().catch(() => ({ error: "the server sent no JSON (" + response.status + ")" }));
      if (!response.ok) throw new Error(data.error || ("HTTP " + response.status));
      return data;
    }

    function element(tag, attributes, text) {
      const node = document.createElement(tag);
      for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, value);
      if (text !== undefined) node.textContent = text;
      return node;
    }

    function setStatus(text, isError) {
      $("status").textContent = text;
      $("status").className = isError ? "error" : "";
    }

    function pair() {
      const [source, target] = ($("pair").value || "|").split("|");
      return source ? { source, target } : {};
    }

    /// Blue at the weight's strength; white text on the darkest cells.
    function shade(node, weight) {
      node.style.background = "rgba(31, 95, 191, " + Math.max(0, Math.min(1, weight)).toFixed(4) + ")";
      node.style.color = weight > 0.55 ? "#fff" : "";
    }

    async function loadLanguages() {
      const languages = await api("/languages");
      for (const language of languages) {
        for (const target of language.targets) {
          const name = languages.find((l) => l.code === target)?.name || target;
          $("pair").append(element("option", { value: language.code + "|" + target }, language.name + " → " + name));
        }
      }
    }

    async function translate() {
      const text = $("source").value;
      if (!text.trim()) { setStatus("Type something to translate.", true); return; }
      $("translate").disabled = true;
      setStatus("Translating…");
      try {
        const beam = Number($("beam").value) || 4;
        const answer = await api("/v1/translate", Object.assign({ q: text, beam }, pair()));
        const result = answer.translations[0];
        $("translation").textContent = result.text;
        state.sentences = result.sentences.map((s) => ({ source: s.source, text: s.translations[0].text }));
        const select = $("sentence");
        select.replaceChildren(...state.sentences.map((s, i) => element("option", { value: i }, (i + 1) + ": " + s.source)));
        setStatus("");
        if (state.sentences.length > 0) await explore(0);
      } catch (error) {
        setStatus(error.message, true);
      } finally {
        $("translate").disabled = false;
      }
    }

    async function explore(index) {
      const sentence = state.sentences[index];
      const beam = Number($("beam").value) || 4;
      setStatus("Reading the attention…");
      const attention = await api("/v1/attention", Object.assign({ q: sentence.source, beam, words: $("words").checked }, pair()));
      state.attention = attention;
      state.active = -1;
      fillChoices(attention);
      drawTokens();
      drawHeatmaps();
      $("explore").hidden = false;
      setStatus("");
      walkthrough(sentence.source);
    }

    function tablesOf(kind) { return state.attention.tables.filter((t) => t.kind === kind); }

    function fillChoices(attention) {
      const cross = attention.tables.filter((t) => t.kind === "cross");
      const layers = [...new Set(cross.map((t) => t.layer))];
      const heads = [...new Set(cross.map((t) => t.head))];
      const keepLayer = $("layer").value, keepHead = $("head").value;
      $("layer").replaceChildren(...layers.map((l) => element("option", { value: l }, String(l))));
      $("head").replaceChildren(element("option", { value: "mean" }, "mean"), ...heads.map((h) => element("option", { value: h }, String(h))));
      // Keep the reader's choice across sentences; at first, the last layer (as nmt attention).
      $("layer").value = keepLayer !== "" && layers.includes(Number(keepLayer)) ? keepLayer : String(layers[layers.length - 1]);
      $("head").value = keepHead && (keepHead === "mean" || heads.includes(Number(keepHead))) ? keepHead : "mean";
    }

    /// The weights of one layer's head, or of the mean of its heads.
    function weights(kind, layer, head) {
      const tables = tablesOf(kind).filter((t) => t.layer === layer);
      if (head !== "mean") return tables.find((t) => t.head === Number(head)).weights;
      return tables[0].weights.map((row, r) => row.map((_, c) => tables.reduce((sum, t) => sum + t.weights[r][c], 0) / tables.length));
    }

    function drawTokens() {
      const attention = state.attention;
      $("output-tokens").replaceChildren(...attention.output_tokens.map((token, i) => {
        const node = element("span", { class: "token", "data-index": i, tabindex: 0 }, token);
        node.addEventListener("mouseenter", () => highlight(i));
        node.addEventListener("focus", () => highlight(i));
        node.addEventListener("click", () => highlight(i));
        return node;
      }));
      $("source-tokens").replaceChildren(...attention.source_tokens.map((token, j) => element("span", { class: "token", "data-index": j }, token)));
    }

    /// Shades the source tokens by what output token `i` attended to when it was chosen.
    function highlight(i) {
      state.active = i;
      const row = weights("cross", Number($("layer").value), $("head").value)[i];
      let strongest = 0;
      row.forEach((w, j) => { if (w > row[strongest]) strongest = j; });
      document.querySelectorAll("#output-tokens .token").forEach((node, k) => node.classList.toggle("active", k === i));
      document.querySelectorAll("#source-tokens .token").forEach((node, j) => {
        shade(node, row[j]);
        node.dataset.weight = String(row[j]);
        node.classList.toggle("strongest", j === strongest);
        node.title = (row[j] * 100).toFixed(1) + " %";
      });
      document.querySelectorAll(".map[data-kind=cross] tr[data-row]").forEach((tr) => tr.classList.toggle("active", Number(tr.dataset.row) === i));
    }

    function heatmap(kind, layer, head, rows, columns) {
      const figure = element("figure", { class: "map", "data-kind": kind, "data-layer": layer, "data-head": head });
      const table = element("table");
      table.append(element("caption", {}, "layer " + layer + " · " + (head === "mean" ? "mean" : "head " + head)));
      const header = element("tr");
      header.append(element("th"));
      columns.forEach((c) => header.append(element("th", {}, c)));
      const thead = element("thead");
      thead.append(header);
      table.append(thead);
      const body = element("tbody");
      weights(kind, layer, head).forEach((row, r) => {
        const tr = element("tr", { "data-row": r });
        tr.append(element("th", {}, rows[r]));
        row.forEach((w, c) => {
          const td = element("td", { title: rows[r] + " → " + columns[c] + ": " + w.toFixed(3), "data-weight": w });
          if (kind === "decoder" && c > r) td.className = "masked"; else shade(td, w);
          tr.append(td);
        });
        body.append(tr);
      });
      table.append(body);
      figure.append(table);
      return figure;
    }

    function drawHeatmaps() {
      const a = state.attention;
      const sides = { encoder: [a.source_tokens, a.source_tokens], decoder: [a.target_tokens, a.target_tokens], cross: [a.target_tokens, a.source_tokens] };
      const titles = { encoder: "Encoder self-attention", decoder: "Decoder masked self-attention", cross: "Encoder–decoder attention" };
      const root = $("heatmaps");
      root.replaceChildren();
      for (const kind of ["encoder", "decoder", "cross"]) {
        const tables = tablesOf(kind);
        if (tables.length === 0) continue;
        const section = element("div", { class: "kind" });
        section.append(element("h3", {}, titles[kind]));
        for (const layer of [...new Set(tables.map((t) => t.layer))]) {
          const maps = element("div", { class: "maps" });
          const heads = tables.filter((t) => t.layer === layer).map((t) => t.head);
          for (const head of [...heads, "mean"]) maps.append(heatmap(kind, layer, head, sides[kind][0], sides[kind][1]));
          section.append(maps);
        }
        root.append(section);
      }
    }

    function numberCell(value, digits) { return element("td", { class: "number" }, value.toFixed(digits)); }

    function walkthroughTable(table) {
      const node = element("table");
      const header = element("tr");
      header.append(element("th"), ...table.columns.map((c) => element("th", {}, c)));
      node.append(header);
      table.weights.forEach((row, r) => {
        const tr = element("tr");
        tr.append(element("th", {}, table.rows[r]), ...row.map((w) => { const td = numberCell(w, 2); shade(td, w); return td; }));
        node.append(tr);
      });
      return node;
    }

    async function walkthrough(sentence) {
      try {
        const w = await api("/v1/walkthrough", Object.assign({ q: sentence }, pair()));
        const root = $("walkthrough");
        root.replaceChildren();
        root.append(element("h3", {}, "1. Pieces, ids, embeddings (× " + w.embedding_scale.toFixed(1) + ") and positions"));
        const pieces = element("table");
        const head = element("tr");
        head.append(...["piece", "id", "embedding (first dims)", "|embedding|", "|position|"].map((t) => element("th", {}, t)));
        pieces.append(head);
        for (const p of w.source_pieces) {
          const tr = element("tr");
          tr.append(element("td", {}, p.piece), element("td", { class: "number" }, String(p.id)),
                    element("td", {}, p.embedding.slice(0, 4).map((x) => x.toFixed(2)).join(" ")),
                    numberCell(p.embedding_norm, 2), numberCell(p.position_norm, 2));
          pieces.append(tr);
        }
        root.append(pieces);
        root.append(element("h3", {}, "2. " + w.encoder_self_attention.title), walkthroughTable(w.encoder_self_attention));
        root.append(element("h3", {}, "3. " + w.decoder_self_attention.title), walkthroughTable(w.decoder_self_attention));
        root.append(element("h3", {}, "4. What each output word looked at"));
        const cross = element("ul");
        for (const item of w.cross_attention) {
          cross.append(element("li", {}, item.word + " ← " + item.sources.map((s) => s.token + " " + (s.weight * 100).toFixed(0) + " %").join(", ")));
        }
        root.append(cross);
        root.append(element("h3", {}, "5. Generation, step by step"));
        const steps = element("ol");
        for (const step of w.generation) {
          const li = element("li");
          li.append(element("span", {}, "“" + step.output_so_far + "” → "));
          li.append(element("strong", {}, step.chosen.token + " (" + (step.chosen.weight * 100).toFixed(1) + " %)"));
          li.append(element("span", {}, "  — candidates: " + step.candidates.map((c) => c.token + " " + (c.weight * 100).toFixed(1) + " %").join(", ")));
          steps.append(li);
        }
        root.append(steps);
        root.append(element("p", {}, "Greedy translation: " + w.translation));
        $("walkthrough-panel").hidden = false;
      } catch (error) {
        setStatus("walkthrough: " + error.message, true);
      }
    }

    $("translate").addEventListener("click", translate);
    $("source").addEventListener("keydown", (event) => { if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) translate(); });
    $("sentence").addEventListener("change", () => explore(Number($("sentence").value)).catch((e) => setStatus(e.message, true)));
    $("words").addEventListener("change", () => { if (state.sentences.length) explore(Number($("sentence").value) || 0).catch((e) => setStatus(e.message, true)); });
    for (const id of ["layer", "head"]) $(id).addEventListener("change", () => { if (state.active >= 0) highlight(state.active); });
    loadLanguages().catch((error) => setStatus("languages: " + error.message, true));
    """#
}
