/* xaixray serve: the page. Vanilla JavaScript over the JSON API (docs/serve.md). */
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const state = {
    health: null,     // GET /api/health
    file: null,       // the chosen File
    previewUrl: null, // object URL of the preview
    token: 0,         // increases with every new analysis; late answers of old ones are dropped
    reportUrls: [],   // object URLs of the report downloads
    timer: null,      // progress timer of the slow methods
  };

  // ------------------------------------------------------------------ API
  async function api(path, options) {
    let response;
    try {
      response = await fetch(path, options);
    } catch (err) {
      throw new Error("cannot reach the server (" + err.message + ")");
    }
    let body = null;
    try {
      body = await response.json();
    } catch (err) {
      body = null;
    }
    if (!response.ok) {
      throw new Error((body && body.error) || "the server answered " + response.status);
    }
    return body;
  }

  function upload(path) {
    const form = new FormData();
    form.append("file", state.file, state.file.name || "upload");
    return api(path, { method: "POST", body: form });
  }

  // ------------------------------------------------------------------ helpers
  function show(el, visible) { el.hidden = !visible; }
  function fmt(x, digits) { return typeof x === "number" ? x.toFixed(digits === undefined ? 3 : digits) : "–"; }
  function fmtThreshold(t) {
    // two decimals when they say it all (0.50), else three (0.472, 0.999 rather than 1.00)
    return Number(t.toFixed(2)) === Number(t.toFixed(6)) ? t.toFixed(2) : t.toFixed(3);
  }
  function title(method) { return (state.health && state.health.titles[method]) || method; }
  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => node.setAttribute(k, v));
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function setError(id, message) {
    const box = $(id);
    box.textContent = message || "";
    show(box, Boolean(message));
  }
  function isNormal(prediction) {
    return state.health && prediction === state.health.classes[0];
  }

  // ------------------------------------------------------------------ start
  async function init() {
    try {
      state.health = await api("/api/health");
    } catch (err) {
      $("model-info").textContent = "The model is not available: " + err.message;
      return;
    }
    const h = state.health;
    const positive = h.positive_class || h.classes[h.classes.length - 1];
    const decision = h.classes.length === 2
      ? `threshold ${fmtThreshold(h.threshold)} on P(${positive})`
      : h.one_vs_rest  // Classifier.decide: the positive class at the threshold, else the arg-max of the others
        ? `${h.classes.length} classes, ${positive} one-vs-rest at threshold ${fmtThreshold(h.threshold)} on P(${positive}), else the most probable other class`
        : `${h.classes.length} classes, the most probable wins`;
    $("model-info").textContent = `Model ${h.model} · ${decision} · input scaling ${h.scaling}`;
    if (h.scaling_notice) {
      // the file did not say how its pixels are scaled: say so plainly, and how to state it
      const guess = document.createElement("span");
      guess.className = "model-guess";
      guess.textContent = ` · Input scaling guessed as ${h.scaling}: if the model expects otherwise, restart with --scaling.`;
      guess.title = h.scaling_notice;
      $("model-info").appendChild(guess);
    }
    $("footer-version").textContent = `xaixray ${h.version} · model ${h.model}`;
    $("limit").textContent = String(h.max_upload_mb);
    buildPanels();
    const slow = h.slow_methods.map(title);
    if (slow.length) $("run-slow").textContent = "Compute " + slow.join(" and ");
  }

  function buildPanels() {
    const panels = $("panels");
    for (const method of state.health.methods) {
      const fig = el("figure", { class: "panel", "data-method": method });
      const media = el("div", { class: "panel-media" });
      media.append(el("div", { class: "panel-state" }, "—"));
      const cap = el("figcaption");
      cap.append(el("b", {}, title(method)), el("span", { class: "meta" }));
      fig.append(media, cap);
      panels.append(fig);
    }
    for (const [method, message] of Object.entries(state.health.unavailable)) {
      const fig = el("figure", { class: "panel error-panel", "data-method": method });
      const media = el("div", { class: "panel-media" });
      media.append(el("div", { class: "panel-state" }, message));
      const cap = el("figcaption");
      cap.append(el("b", {}, title(method)), el("span", { class: "meta" }, "not available"));
      fig.append(media, cap);
      panels.append(fig);
    }
  }

  function panel(method) { return document.querySelector(`.panel[data-method="${method}"]`); }

  function panelState(method, text, busy) {
    const fig = panel(method);
    if (!fig) return;
    fig.classList.remove("error-panel");
    const media = fig.querySelector(".panel-media");
    media.replaceChildren();
    const box = el("div", { class: "panel-state" });
    if (busy) box.append(el("span", { class: "spinner", "aria-hidden": "true" }));
    box.append(el("span", {}, text));
    media.append(box);
    fig.querySelector(".meta").textContent = "";
  }

  function panelResult(method, e) {
    const fig = panel(method);
    if (!fig) return;
    const media = fig.querySelector(".panel-media");
    const img = el("img", { alt: `${title(method)} map for ${e.target_name}`, "data-ready": "1" });
    img.src = "data:image/png;base64," + e.png;
    media.replaceChildren(img);
    let meta = `→ ${e.target_name} · ${fmt(e.seconds, e.seconds < 0.1 ? 2 : 1)} s`;
    if (e.details && typeof e.details.r2 === "number") meta += ` · R² ${fmt(e.details.r2, 2)}`;
    fig.querySelector(".meta").textContent = meta;
  }

  function panelError(method, message) {
    panelState(method, message, false);
    const fig = panel(method);
    if (fig) {
      fig.classList.add("error-panel");
      fig.querySelector(".meta").textContent = "did not run";
    }
  }

  // ------------------------------------------------------------------ choosing a file
  function chooseFile(file) {
    setError("upload-error", "");
    if (!file) return;
    const limit = state.health ? state.health.max_upload_mb : 20;
    if (file.size > limit * 1024 * 1024) {
      setError("upload-error", `${file.name}: larger than the ${limit} MB limit`);
      return;
    }
    state.file = file;
    state.token += 1;
    if (state.previewUrl) URL.revokeObjectURL(state.previewUrl);
    state.previewUrl = URL.createObjectURL(file);
    const preview = $("preview");
    preview.alt = "Preview of " + file.name;
    preview.src = state.previewUrl;
    show(preview, true);
    show($("preview-note"), false);
    show($("drop-empty"), false);
    $("file-name").textContent = `${file.name} · ${(file.size / 1024).toFixed(0)} kB`;
    show($("file-name"), true);
    $("analyse").disabled = false;
    show($("reset"), true);
    resetResults();
    $("analyse").focus();
  }

  function resetResults() {
    stopProgress();
    show($("result-empty"), true);
    show($("result-busy"), false);
    show($("result-body"), false);
    show($("explain"), false);
    setError("explain-error", "");
    show($("agreement-box"), false);
    show($("faithfulness-box"), false);
    show($("downloads"), false);
    state.reportUrls.forEach((u) => URL.revokeObjectURL(u));
    state.reportUrls = [];
  }

  function clearFile() {
    state.file = null;
    state.token += 1;
    $("file").value = "";
    if (state.previewUrl) URL.revokeObjectURL(state.previewUrl);
    state.previewUrl = null;
    show($("preview"), false);
    show($("preview-note"), false);
    show($("drop-empty"), true);
    show($("file-name"), false);
    $("analyse").disabled = true;
    show($("reset"), false);
    setError("upload-error", "");
    resetResults();
    $("file").focus();
  }

  // ------------------------------------------------------------------ analysing
  async function analyse() {
    if (!state.file || !state.health) return;
    const token = ++state.token;
    resetResults();
    $("analyse").disabled = true;
    show($("result-empty"), false);
    show($("result-busy"), true);
    let prediction;
    try {
      prediction = await upload("/api/predict");
    } catch (err) {
      if (token !== state.token) return;
      show($("result-busy"), false);
      show($("result-empty"), true);
      setError("upload-error", err.message);
      $("analyse").disabled = false;
      return;
    }
    if (token !== state.token) return;
    $("analyse").disabled = false;
    showPrediction(prediction);
    prepareExplanations();
    const fast = state.health.methods.filter((m) => !state.health.slow_methods.includes(m));
    if (fast.length) {
      fast.forEach((m) => panelState(m, "Computing…", true));
      await explain(fast, token, false);
    }
  }

  function showPrediction(p) {
    const h = state.health;
    const classes = h.classes;
    const binary = classes.length === 2;
    const thresholded = binary || Boolean(h.one_vs_rest);  // a threshold on P(positive) decides
    const positive = h.positive_class || classes[classes.length - 1];
    const value = thresholded ? p.probabilities[positive] : p.probabilities[p.prediction];
    const kind = isNormal(p.prediction) ? "normal" : "pneumonia";
    show($("result-busy"), false);
    show($("result-body"), true);
    const badge = $("verdict");
    badge.textContent = p.prediction;
    badge.className = "badge " + kind;
    $("verdict-text").textContent = `P(${p.prediction}) = ${fmt(p.probabilities[p.prediction])} · model ${p.model}`;
    $("meter-left").textContent = binary ? "← " + classes[0] : "";
    $("meter-right").textContent = (thresholded ? positive : p.prediction) + " →";
    const meter = $("meter");
    meter.setAttribute("aria-valuenow", fmt(value));
    meter.setAttribute("aria-label", `Probability of ${thresholded ? positive : p.prediction}`);
    meter.setAttribute("aria-valuetext", `P(${thresholded ? positive : p.prediction}) = ${fmt(value)}` +
      (thresholded ? `, threshold ${fmtThreshold(p.threshold)}` : ""));
    const threshold = $("meter-threshold");
    show(threshold, thresholded);
    threshold.style.left = (100 * p.threshold) + "%";
    threshold.className = "meter-threshold" + (p.threshold > 0.8 ? " right" : p.threshold < 0.2 ? " left" : "");
    $("threshold-label").textContent = "threshold " + fmtThreshold(p.threshold);
    $("decision").textContent = binary
      ? `P(${positive}) = ${fmt(value)} is ${value >= p.threshold ? "at or above" : "below"} the decision threshold ${fmtThreshold(p.threshold)}, so the model says ${p.prediction}.`
      : !h.one_vs_rest
        ? `The model says ${p.prediction}, its most probable class.`
        : p.prediction === positive
          ? `P(${positive}) = ${fmt(value)} is at or above the decision threshold ${fmtThreshold(p.threshold)}, so the model says ${positive}.`
          : `P(${positive}) = ${fmt(value)} is below the decision threshold ${fmtThreshold(p.threshold)}, so the model says ${p.prediction}, the most probable of the other classes.`;
    const set = $("prediction-set");
    show(set, Boolean(p.prediction_set));
    if (p.prediction_set) {
      const cover = p.prediction_set.alpha == null ? "" : ` (it holds the true class of at least ${Math.round(100 * (1 - p.prediction_set.alpha))}% of each class's images like the calibration set's)`;
      set.textContent = `Conformal prediction set: {${p.prediction_set.classes.join(", ")}}, ${p.prediction_set.label}${cover}.`;
    }
    const fill = $("meter-fill");
    fill.className = "meter-fill " + kind;
    fill.style.width = "0%";
    void fill.offsetWidth; // restart the transition from zero
    requestAnimationFrame(() => { fill.style.width = (100 * value).toFixed(1) + "%"; });
    const body = $("probs").querySelector("tbody");
    body.replaceChildren();
    for (const c of classes) {
      const row = el("tr", c === p.prediction ? { class: "predicted" } : {});
      row.append(el("td", {}, c), el("td", {}, fmt(p.probabilities[c])));
      body.append(row);
    }
  }

  function prepareExplanations() {
    show($("explain"), true);
    $("original").src = state.previewUrl;
    showModelBox(null);
    for (const m of state.health.methods) {
      const slow = state.health.slow_methods.includes(m);
      panelState(m, slow ? "Computed on request: press the button above." : "Waiting…", false);
    }
    show($("run-slow"), state.health.slow_methods.length > 0);
    $("run-slow").disabled = false;
  }

  async function runSlow() {
    if (!state.file) return;
    const token = state.token;
    const slow = state.health.slow_methods;
    $("run-slow").disabled = true;
    slow.forEach((m) => panelState(m, "Computing… this takes seconds", true));
    startProgress(slow.map(title).join(" and "));
    const ok = await explain(state.health.methods, token, true);
    if (token === state.token) {
      stopProgress();
      $("run-slow").disabled = false;
      show($("run-slow"), !ok); // done: nothing more to compute; failed: try again
    }
  }

  async function explain(methods, token, slow) {
    setError("explain-error", "");
    let body;
    try {
      body = await upload(`/api/explain?methods=${encodeURIComponent(methods.join(","))}&report=1`);
    } catch (err) {
      if (token !== state.token) return false;
      methods.forEach((m) => panelError(m, err.message));
      setError("explain-error", err.message);
      if (slow) stopProgress();
      return false;
    }
    if (token !== state.token) return false;
    for (const m of methods) {
      if (body.explanations[m]) panelResult(m, body.explanations[m]);
      else if (body.errors[m]) panelError(m, body.errors[m]);
    }
    showModelBox(body.image);
    showAgreement(body.agreement || []);
    showFaithfulness(body.faithfulness || {});
    if (body.report) showReport(body.report, Object.keys(body.explanations));
    return true;
  }

  // A cropping model sees only part of the X-ray: outline it on the X-ray tile. The SVG has the
  // image's own coordinates and is fitted like the <img> (object-fit: contain), so the box
  // lands on the same pixels at any tile size.
  function showModelBox(image) {
    const shown = $("original");
    const media = shown.parentElement;
    media.querySelectorAll(".model-box").forEach((n) => n.remove());
    $("original-caption").textContent = state.file.name;
    if (!image || !image.model_box) return;
    if (shown.complete && shown.naturalWidth === 0) return; // the browser cannot show this file
    const [top, bottom, left, right] = image.model_box;
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("class", "model-box");
    svg.setAttribute("viewBox", `0 0 ${image.width} ${image.height}`);
    svg.setAttribute("preserveAspectRatio", "xMidYMid meet");
    svg.setAttribute("aria-hidden", "true");
    const rect = document.createElementNS(ns, "rect");
    Object.entries({ x: left, y: top, width: right - left, height: bottom - top })
      .forEach(([k, v]) => rect.setAttribute(k, v));
    svg.append(rect);
    media.append(svg);
    $("original-caption").textContent = `${state.file.name} · dashed: what the model sees`;
  }

  function showAgreement(pairs) {
    const rows = $("agreement").querySelector("tbody");
    rows.replaceChildren();
    for (const p of pairs) {
      const row = el("tr");
      row.append(el("td", {}, p.methods.map(title).join(" vs ")),
                 el("td", {}, fmt(p.spearman, 2)), el("td", {}, fmt(p.top_overlap, 2)));
      rows.append(row);
    }
    show($("agreement-box"), pairs.length > 0);
  }

  function showFaithfulness(methods) {
    const rows = $("faithfulness").querySelector("tbody");
    const warnings = $("faithfulness-warnings");
    rows.replaceChildren();
    warnings.replaceChildren();
    for (const [m, f] of Object.entries(methods)) {
      const row = el("tr");
      row.append(el("td", {}, title(m)), el("td", {}, f.verdict || ""),
                 el("td", {}, `${fmt(f.deletion_auc, 2)} / ${fmt(f.deletion_auc_random, 2)}`),
                 el("td", {}, `${fmt(f.insertion_auc, 2)} / ${fmt(f.insertion_auc_random, 2)}`),
                 el("td", {}, fmt(f.border_share, 2)));
      rows.append(row);
      for (const w of f.warnings || []) warnings.append(el("li", {}, w));
    }
    show($("faithfulness-box"), Object.keys(methods).length > 0);
  }

  function showReport(report, methods) {
    state.reportUrls.forEach((u) => URL.revokeObjectURL(u));
    const html = URL.createObjectURL(new Blob([report.html], { type: "text/html" }));
    const json = URL.createObjectURL(new Blob([report.json], { type: "application/json" }));
    state.reportUrls = [html, json];
    $("dl-html").href = html;
    $("dl-json").href = json;
    $("report-methods").replaceChildren("The same files as ", el("code", {}, "xaixray explain"),
      " writes, with " + methods.map(title).join(", ") + ".");
    show($("downloads"), true);
  }

  function startProgress(what) {
    stopProgress();
    const started = performance.now();
    const status = $("slow-status");
    show($("slow-progress"), true);
    const tick = () => {
      const s = (performance.now() - started) / 1000;
      status.textContent = `Computing ${what}… ${s.toFixed(0)} s (requests with these methods take turns on the server)`;
    };
    tick();
    state.timer = setInterval(tick, 1000);
  }

  function stopProgress() {
    if (state.timer) clearInterval(state.timer);
    state.timer = null;
    show($("slow-progress"), false);
  }

  // ------------------------------------------------------------------ events
  document.addEventListener("DOMContentLoaded", () => {
    const input = $("file");
    const zone = $("dropzone");
    input.addEventListener("change", () => chooseFile(input.files[0]));
    ["dragenter", "dragover"].forEach((type) => zone.addEventListener(type, (ev) => {
      ev.preventDefault();
      zone.classList.add("dragging");
    }));
    ["dragleave", "dragend"].forEach((type) => zone.addEventListener(type, () => zone.classList.remove("dragging")));
    zone.addEventListener("drop", (ev) => {
      ev.preventDefault();
      zone.classList.remove("dragging");
      if (ev.dataTransfer && ev.dataTransfer.files.length) chooseFile(ev.dataTransfer.files[0]);
    });
    $("preview").addEventListener("error", () => {
      if (!state.file) return;
      show($("preview"), false);
      show($("preview-note"), true);
    });
    $("analyse").addEventListener("click", analyse);
    $("reset").addEventListener("click", clearFile);
    $("run-slow").addEventListener("click", runSlow);
    init();
  });
})();
